export { loadInventory, inventoryFile, type LoadInventoryOptions } from './load.js';
export { selectHosts } from './pattern.js';
export { mergeVars, redactVars, looksSecret, type Vars, type VarOrigin } from './vars.js';
export { magicVars } from './magic.js';
export { inventoryToJSON, secretValues, type Inventory, type InventoryGroup, type InventoryHost } from './types.js';
export { CONNECTION_KEYS, SECRET_KEYS, parseBool, redactSpec } from './connection.js';

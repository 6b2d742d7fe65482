/** Where a project keeps its JSON Schemas, and their file names (`shipshape schema --write`, `shipshape init`). */
export const SCHEMA_DIR = '.shipshape/schemas';

export const SCHEMA_FILES = {
  inventory: 'inventory.schema.json',
  vars: 'vars.schema.json',
  playbook: 'playbook.schema.json',
} as const;

export { loadPlaybook, type LoadPlaybookOptions } from './load.js';
export { validateModuleArgs, parseModuleArgs, validateAgainst, keysAt, type ArgsLocation, type ArgsResult } from './args.js';
export { canonicalModule, taskFromRoleTask } from './task.js';
export { renderValue, renderString, evalWhen, hasTemplate, isTemplate, checkTemplate, checkExpression, TemplateError } from './template.js';
export { defineRole, type RoleDef, type RoleTask } from './role.js';
export { loadRoles, builtinRolesDir } from './roles-loader.js';
export type { ArgSource, Phase, Play, PlayItem, Playbook, RoleItem, TaskSpec } from './types.js';

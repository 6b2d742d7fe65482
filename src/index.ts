/**
 * shipshape's public API: what a project's own roles and modules import (`from 'shipshape'`).
 * Everything else under src/ is internal and may change between versions.
 */

// zod, re-exported: a role's variable schema and a module's argument schema must come from the same
// zod as shipshape's, or defaults and validation errors would not line up
export { z } from 'zod';

// roles
export { defineRole, type RoleDef, type RoleTask, type AnyRoleTask } from './playbook/role.js';
// a role variable whose value is masked in every output: `db_password: secret(z.string())`
export { secret } from './core/redact.js';

// modules: argument schema, facts, pure plan
export {
  defineModule,
  type ModuleDef,
  type ModuleArgs,
  type Plan,
  type PlanContext,
  type PrepareContext,
  type HostInfo,
  type AccessInfo,
  type FactValues,
} from './core/module.js';
export type { BuiltinModules } from './modules/index.js';
export { probe, type Probe } from './core/probe.js';
export { run, sh, onPath, type Step } from './core/step.js';
export { shq, shJoin } from './core/quote.js';
export type { FileDiff, TaskStatus } from './core/result.js';

// facts a project module can reuse (each is a read-only probe plus its parser)
export { fileStat, fileContent, type FileStat, type FileContent } from './facts/file.js';
export { unitState, type UnitState } from './facts/systemd.js';
export { dpkgPackages, type DpkgPackages } from './facts/apt.js';
export { passwdEntry, groupEntry, type PasswdEntry, type GroupEntry } from './facts/users.js';
export { sysctlValue } from './facts/sysctl.js';

import type { z } from 'zod';
import type { SourcePos } from '../core/input-error.js';
import type { PlayItem, TaskSpec } from './types.js';
import type { ModuleArgs, ModuleDef } from '../core/module.js';
import type { BuiltinModules } from '../modules/index.js';

/** What every task of a role may carry besides its module and arguments. */
interface TaskCommon {
  name: string;
  tags?: string[];
  notify?: string[];
  when?: string | boolean;
  become?: boolean;
  no_log?: boolean;
}

/**
 * One task of a role, written in TypeScript, typed by its module: `{ module: 'apt', args: {...} }`
 * only compiles with apt's arguments. M adds the role's own modules to the built-in ones.
 */
export type RoleTask<M extends Record<string, ModuleDef> = {}> = {
  [K in keyof (BuiltinModules & M) & string]: TaskCommon & { module: K; args: ModuleArgs<(BuiltinModules & M)[K]> };
}[keyof (BuiltinModules & M) & string];

/** The untyped form the engine handles once a role has returned its tasks. */
export interface AnyRoleTask extends TaskCommon {
  module: string;
  args: Record<string, unknown>;
}

/**
 * A role is code, not YAML: its variables are a zod object schema whose defaults are the role's
 * defaults, and its tasks are a function of the validated variables, so a role can compute its
 * tasks (loops, conditionals) with the type checker's help instead of Jinja.
 */
export interface RoleDef<V = any, M extends Record<string, ModuleDef> = Record<string, ModuleDef>> {
  name: string;
  /** one line for --help and docs */
  summary: string;
  /** object schema with defaults */
  vars: z.ZodType<V>;
  /**
   * Modules only this role's tasks use (its internals, e.g. the caddy role's certificate check):
   * they are not in the global module namespace, so playbooks cannot name them.
   */
  modules?: M;
  tasks(vars: V): RoleTask<M>[];
  handlers?(vars: V): RoleTask<M>[];
  /** directory for templates/ and files/; the role loader sets it to the role's directory */
  dir?: string;
  /** the role's entry file, for errors about its tasks; the role loader sets it */
  file?: string;
  /** set for an Ansible role folder (tasks/main.yml, defaults/, vars/, handlers/, meta/): its parsed parts */
  ansible?: AnsibleRoleParts;
}

/** An Ansible role folder as loaded: variables now, task files when a playbook first names the role. */
export interface AnsibleRoleParts {
  /** defaults/main.yml: below every other variable */
  defaults: Record<string, unknown>;
  /** vars/main.yml: above inventory and play variables, below role params and -e */
  vars: Record<string, unknown>;
  /** meta/main.yml dependencies, run before the role */
  dependencies: { role: string; params: Record<string, unknown>; source: SourcePos }[];
  tasksFile?: string;
  handlersFile?: string;
  /** parsed by the playbook loader (it knows the modules and the other roles) */
  tasks?: PlayItem[];
  handlers?: TaskSpec[];
  /** other files of tasks/ named by `include_role`/`import_role` `tasks_from`, parsed when first named */
  taskFiles?: Record<string, PlayItem[]>;
}

/**
 * Without `modules`, a role's tasks are checked against the built-in modules; with them, against
 * those too. Two signatures so that a role's tasks never widen the modules they are checked against.
 */
export function defineRole<V>(def: RoleDef<V, {}>): RoleDef<V, {}>;
/** a role with its own modules names its types: `defineRole<Vars, typeof own>({ modules: own, ... })` */
export function defineRole<V, M extends Record<string, ModuleDef>>(def: RoleDef<V, M> & { modules: M }): RoleDef<V, M>;
export function defineRole(def: RoleDef): RoleDef {
  return def;
}

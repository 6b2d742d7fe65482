import type { z } from 'zod';

/** One task of a role, written in TypeScript: the module by name and its (already typed) arguments. */
export interface RoleTask {
  name: string;
  module: string;
  args: Record<string, unknown>;
  tags?: string[];
  notify?: string[];
  when?: string | boolean;
  become?: boolean;
  no_log?: boolean;
}

/**
 * A role is code, not YAML: its variables are a zod object schema whose defaults are the role's
 * defaults, and its tasks are a function of the validated variables, so a role can compute its
 * tasks (loops, conditionals) with the type checker's help instead of Jinja.
 */
export interface RoleDef<V = any> {
  name: string;
  /** one line for --help and docs */
  summary: string;
  /** object schema with defaults */
  vars: z.ZodType<V>;
  tasks(vars: V): RoleTask[];
  handlers?(vars: V): RoleTask[];
  /** directory for templates/ and files/; the role loader sets it to the role's directory */
  dir?: string;
}

export function defineRole<V>(def: RoleDef<V>): RoleDef<V> {
  return def;
}

/**
 * Variable precedence, lowest first (a later layer replaces a whole top-level key of an earlier one,
 * like Ansible's default hash_behaviour=replace: a dict in host vars replaces the group's dict):
 *
 *   1. role defaults (the role's vars schema defaults)                    engine
 *   2. group `all`: inventory `all.vars`, then group_vars/all             inventory (this loader)
 *   3. other groups, shallowest first; inside one depth alphabetical by
 *      group name (later wins); per group inventory `vars:` then
 *      group_vars/GROUP                                                     inventory
 *   4. host vars written in the inventory file                             inventory
 *   5. host_vars/NAME                                                       inventory
 *   6. play vars (vars_files after vars)                                    engine
 *   7. role params ({role: x, vars: {...}})                                  engine
 *   8. extra vars (-e)                                                       engine
 *
 * Depth is the longest path from `all` (all = 0, its children 1, ...), so a child group always
 * overrides its parents whatever their names. Unlike Ansible, a group's group_vars file is merged
 * right after that group's inline vars rather than above every group's inline vars: the rule
 * "deeper group wins" then holds without exceptions.
 */
import type { InputError } from '../core/input-error.js';

/** Where a variable was written, as the error to report about its value there (file:line:col, code frame). */
export type VarOrigin = (message: string, hint?: string) => InputError;
export type Vars = Record<string, unknown>;

/** Shallow merge per top-level key, later layers winning; undefined layers are skipped. */
export function mergeVars(...layers: Array<Vars | undefined | null>): Vars {
  const out: Vars = {};
  for (const layer of layers) if (layer) Object.assign(out, layer);
  return out;
}

/**
 * Variable names whose values are redacted when the inventory is printed (--json). Secrets belong in
 * become_password, but operators keep `db_password`-style variables in group_vars too.
 */
export function looksSecret(name: string): boolean {
  return /(^|_)(pass|passwd|password|secret|token|private_key)($|_)|^vault_/i.test(name);
}

export const REDACTED = '<redacted>';

/**
 * A copy for printing: secret-looking variables, and any string equal to a known secret (the
 * variable a templated become_password was read from), are replaced by REDACTED at any depth.
 */
export function redactVars(vars: Vars, secrets: ReadonlySet<string> = new Set()): Vars {
  const deep = (v: unknown): unknown => {
    if (typeof v === 'string') return secrets.has(v) ? REDACTED : v;
    if (Array.isArray(v)) return v.map(deep);
    if (v && typeof v === 'object') return redactVars(v as Vars, secrets);
    return v;
  };
  const out: Vars = {};
  for (const [k, v] of Object.entries(vars)) out[k] = looksSecret(k) ? REDACTED : deep(v);
  return out;
}

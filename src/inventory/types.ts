import type { InputError, SourcePos } from '../core/input-error.js';
import type { ConnectionSpec } from '../transport/types.js';
import { redactSpec } from './connection.js';
import { redactVars as redact, type VarOrigin, type Vars } from './vars.js';

export interface InventoryHost {
  name: string;
  /**
   * Every group the host belongs to, directly or through a child group, in variable-merge order
   * (shallowest first, then by name): always starts with `all`.
   */
  groups: string[];
  /** inventory-level variables, merged (see vars.ts); connection keys are not among them */
  vars: Vars;
  /** where each of `vars` was written (the layer that won): errors about a value point there */
  varOrigins?: Record<string, VarOrigin>;
  /** `become` set in the inventory, when it is */
  become?: boolean;
  connection: ConnectionSpec;
  /** where the host is first declared */
  source: SourcePos;
}

export interface InventoryGroup {
  name: string;
  /** hosts listed directly under this group (not through children) */
  hosts: string[];
  children: string[];
  parents: string[];
  /** longest path from `all` (all = 0) */
  depth: number;
  /** this group's own variables: inventory `vars:` then group_vars/NAME */
  vars: Vars;
  source?: SourcePos;
}

export interface Inventory {
  /** the hosts.yml that was loaded */
  path: string;
  dir: string;
  /** in inventory order (first appearance in the file) */
  hosts: Map<string, InventoryHost>;
  groups: Map<string, InventoryGroup>;
  /** likely mistakes that are not errors (a host_vars file for no host, a near-miss key) */
  warnings: InputError[];
}

/**
 * What --json prints: plain objects, become passwords and secret-looking variables redacted.
 * Also installed as the inventory's (non-enumerable) toJSON, so JSON.stringify(inventory) is safe.
 */
export function inventoryToJSON(inv: Inventory): unknown {
  const secrets = secretValues(inv);
  const redactVars = (v: Vars) => redact(v, secrets);
  return {
    path: inv.path,
    hosts: Object.fromEntries(
      [...inv.hosts.values()].map((h) => [
        h.name,
        { groups: h.groups, vars: redactVars(h.vars), ...(h.become === undefined ? {} : { become: h.become }), connection: redactSpec(h.connection) },
      ]),
    ),
    groups: Object.fromEntries(
      [...inv.groups.values()].map((g) => [g.name, { hosts: g.hosts, children: g.children, parents: g.parents, vars: redactVars(g.vars) }]),
    ),
  };
}

/** Every become password of the inventory, for masking them in any output (command echoes, logs). */
export function secretValues(inv: Inventory): Set<string> {
  const out = new Set<string>();
  for (const h of inv.hosts.values()) if (h.connection.becomePassword) out.add(h.connection.becomePassword);
  return out;
}

import type { Inventory } from './types.js';
import type { Vars } from './vars.js';

/**
 * Ansible's magic variables for one host. They sit above every other layer (no play or -e can
 * override them), so the engine merges them last.
 */
export function magicVars(inv: Inventory, hostName: string): Vars {
  const host = inv.hosts.get(hostName);
  if (!host) throw new Error(`no host ${hostName} in the inventory`);
  const groups: Record<string, string[]> = {};
  for (const g of inv.groups.keys()) groups[g] = [...inv.hosts.values()].filter((h) => h.groups.includes(g)).map((h) => h.name);
  return {
    inventory_hostname: host.name,
    inventory_hostname_short: host.name.split('.')[0],
    group_names: host.groups.filter((g) => g !== 'all' && g !== 'ungrouped').sort(),
    groups,
    ansible_host: host.connection.host,
  };
}

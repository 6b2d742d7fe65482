import type { AccessInfo, HostInfo, Plan } from '../../../src/core/module.js';
import type { ModuleDef } from '../../../src/core/module.js';
import { modules as builtin } from '../../../src/modules/index.js';
import backup from '../../../roles/backup/index.js';
import caddy from '../../../roles/caddy/index.js';
import docker from '../../../roles/docker/index.js';
import fail2ban from '../../../roles/fail2ban/index.js';
import ssh from '../../../roles/ssh/index.js';
import sysctlHardening from '../../../roles/sysctl_hardening/index.js';

/** the global modules plus the ones that live inside roles (their tasks use them; tests plan them directly) */
export const modules: Record<string, ModuleDef> = { ...builtin, ...backup.modules, ...caddy.modules, ...docker.modules, ...fail2ban.modules, ...ssh.modules, ...sysctlHardening.modules };

export const debian12: HostInfo = { container: 'none', osId: 'debian', osVersion: '12', osCodename: 'bookworm', arch: 'amd64' };

/**
 * A module's plan from arguments and fake facts, with its schema applied as the engine does:
 * the table-driven fixture style of the unit tests (no host involved).
 */
export const sshAccess: AccessInfo = { port: 22, user: 'root', client: '10.99.0.1' };

export function planFor(module: string, args: unknown, facts: Record<string, unknown>, host: Partial<HostInfo> = {}, check = false, access: AccessInfo = sshAccess): Plan {
  const mod = modules[module];
  if (!mod) throw new Error(`no module ${module}`);
  const parsed = mod.schema.parse(args);
  // facts must name exactly what the module asks for, so fixtures cannot drift from the module
  const wanted = Object.keys(mod.facts(parsed)).sort();
  const given = Object.keys(facts).sort();
  if (wanted.join() !== given.join()) throw new Error(`fixture facts ${given} differ from module facts ${wanted}`);
  return mod.plan(parsed, facts as never, { host: { ...debian12, ...host }, access, check });
}

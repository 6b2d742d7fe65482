import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Probe } from '../../../src/core/probe.js';
import { uniqueProbes } from '../../../src/core/script.js';
import { expandForHost } from '../../../src/engine/expand.js';
import { hostInfo } from '../../../src/facts/host.js';
import { loadInventory } from '../../../src/inventory/index.js';
import { modules } from '../../../src/modules/index.js';
import { loadPlaybook, loadRoles } from '../../../src/playbook/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * The probes of the site's one play for one host, as the bench configures it (Docker, Caddy; one HTTPS site
 * unless `sites` is false: its checks ask DNS and port 443, which a test on this machine may not want).
 */
export async function siteProbes(opts: { sites?: boolean } = {}): Promise<Probe[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ss-factscript-'));
  writeFileSync(join(dir, 'root.pem'), 'not read here\n');
  writeFileSync(
    join(dir, 'hosts.yml'),
    [
      'all:',
      '  vars:',
      '    user: deploy',
      '    bootstrap_user: root',
      '    docker_source: debian',
      '    caddy_source: debian',
      '    caddy_email: ops@lab.test',
      '    caddy_acme_ca: https://10.99.0.1:14000/dir',
      `    caddy_acme_ca_root: ${join(dir, 'root.pem')}`,
      "    deploy_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobDebugKeyBobDebugKeyBobDebugKeyBobDebugKey0 x']",
      '  hosts:',
      opts.sites === false ? '    web1: { host: 10.0.0.1 }' : '    web1: { host: 10.0.0.1, caddy_sites: [{ domain: web1.example.com, respond: hi }] }',
      '',
    ].join('\n'),
  );
  const inventory = await loadInventory(join(dir, 'hosts.yml'));
  const roles = await loadRoles([join(ROOT, 'roles')]);
  const playbook = await loadPlaybook(join(ROOT, 'playbooks', 'site.yml'), { modules, roles });
  const [play] = playbook.plays.map((p) => expandForHost({ playbook, inventory, roles, modules, extraVars: {}, tags: [], skipTags: [] }, p, 'web1'));
  const tasks = play.tasks.filter((t) => !t.deferred && !t.skipped && !t.flush && t.args !== undefined);
  return uniqueProbes([hostInfo, ...tasks.flatMap((t) => Object.values(t.module.facts(t.args)))]);
}

import { join } from 'node:path';
import { expandForHost } from '/work/wt-15a/src/engine/expand.js';
import { loadInventory } from '/work/wt-15a/src/inventory/index.js';
import { modules } from '/work/wt-15a/src/modules/index.js';
import { loadPlaybook, loadRoles } from '/work/wt-15a/src/playbook/index.js';
import { renderBatch, uniqueProbes } from '/work/wt-15a/src/core/script.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
const dir = mkdtempSync(join(tmpdir(), 'inv-'));
writeFileSync(join(dir, 'hosts.yml'), `all:\n  vars:\n    user: deploy\n    bootstrap_user: root\n    docker_source: debian\n    caddy_source: debian\n    caddy_email: ops@lab.test\n    caddy_acme_ca: https://10.99.0.1:14000/dir\n    caddy_acme_ca_root: /tmp/x.pem\n    deploy_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobDebugKeyBobDebugKeyBobDebugKeyBobDebugKey0 x']\n  hosts:\n    web1: { host: 10.0.0.1, caddy_sites: [{ domain: h52.lab.test, respond: hi }] }\n`);
const inventory = await loadInventory(join(dir, 'hosts.yml'));
const roles = await loadRoles(['/work/wt-15a/roles']);
const playbook = await loadPlaybook('/work/wt-15a/playbooks/site.yml', { modules, roles });
const opts = { playbook, inventory, roles, modules, extraVars: {}, tags: [], skipTags: [] };
const plays = playbook.plays.map((p) => expandForHost(opts as never, p, 'web1'));
for (const play of plays) {
  const probes = uniqueProbes(play.tasks.flatMap((t) => (t.deferred || t.skipped || t.flush || t.args === undefined ? [] : Object.values(t.module.facts(t.args)))));
  console.log(`play ${play.name}: ${play.tasks.length} tasks, ${probes.length} probes`);
  writeFileSync(process.env.OUT!, renderBatch({ probes }, 'nonce'));
}

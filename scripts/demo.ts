// `npm run demo`: boot one fresh-as-delivered lab VPS (root + key, like a cloud image), write an
// inventory for it as an operator would, and apply playbooks/site.yml to it, then prove the
// re-run changes nothing. Options: --fresh (re-create the host first), --host hN (default h1).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { labUp } from './lab/index.js';

const args = process.argv.slice(2);
const name = args.includes('--host') ? args[args.indexOf('--host') + 1] : 'h1';
const lab = await labUp({ hosts: [name], fresh: args.includes('--fresh') });
const host = lab.hosts[0];

const dir = join(lab.dir, 'demo');
mkdirSync(dir, { recursive: true });
const inventory = join(dir, 'hosts.yml');
writeFileSync(
  inventory,
  [
    '# written by `npm run demo`: one lab VPS, as an operator would describe it',
    stringify({
      all: {
        vars: {
          user: 'deploy',
          bootstrap_user: 'root',
          identity_file: lab.keyPath,
          deploy_authorized_keys: [readFileSync(`${lab.keyPath}.pub`, 'utf8').trim()],
          caddy_acme_ca: lab.pebble.directory,
          caddy_acme_ca_root: lab.pebble.listenerCaPath,
          caddy_email: 'ops@lab.test',
          docker_source: 'debian',
          caddy_source: 'debian',
          caddy_sites: [{ domain: host.fqdn, respond: `hello from ${host.name}, provisioned by shipshape` }],
        },
        hosts: { [host.name]: { host: host.addr } },
      },
    }),
  ].join('\n'),
);
writeFileSync(join(dir, 'known_hosts'), readFileSync(lab.knownHostsPath));

const cli = join(import.meta.dirname, '..', 'bin', 'shipshape');
const step = (title: string, argv: string[]) => {
  console.log(`\n==> ${title}\n$ shipshape ${argv.join(' ')}`);
  return spawnSync(cli, argv, { stdio: 'inherit' }).status ?? 1;
};
const site = join(import.meta.dirname, '..', 'playbooks', 'site.yml');
const applied = step(`apply the site playbook to ${host.name} (${host.addr})`, ['apply', site, '-i', inventory, '--yes']);
if (applied !== 0) process.exit(applied);
const again = step('apply again: nothing should change', ['apply', site, '-i', inventory, '--yes']);
const check = step('check for drift (exit 0 = none)', ['check', site, '-i', inventory]);
console.log(`\nInventory: ${inventory}\nLog in:    ssh -i ${lab.keyPath} -o UserKnownHostsFile=${join(dir, 'known_hosts')} deploy@${host.addr}`);
console.log(`HTTPS:     curl --cacert <(curl -sk https://127.0.0.1:15000/roots/0) --resolve ${host.fqdn}:443:${host.addr} https://${host.fqdn}/`);
console.log(`Stop it:   npm run lab -- down ${host.name}    (only this host; \`npm run lab -- down\` stops every host and the lab's services)`);
process.exit(again || check);

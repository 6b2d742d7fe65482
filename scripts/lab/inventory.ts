// What the engine (and humans) read: an Ansible-shaped hosts.yml and the exact host keys of every lab
// host in known_hosts beside it, so the engine can verify host keys strictly without accept-new.
import fs from 'node:fs';
import { Document, isMap } from 'yaml';
import type { LabHost } from './addressing.js';
import { labPaths } from './paths.js';
import { writeFileAtomic } from './shell.js';

export function renderInventory(hosts: LabHost[], identityFile: string): string {
  const doc = {
    all: {
      vars: { user: 'root', identity_file: identityFile },
      hosts: Object.fromEntries(hosts.map((h) => [h.name, { host: h.addr }])),
    },
  };
  const yaml = new Document(doc);
  // one line per host (`h1: { host: 10.99.0.11 }`): easy to read and to diff
  const hostMap = yaml.getIn(['all', 'hosts']);
  if (isMap(hostMap)) for (const item of hostMap.items) if (isMap(item.value)) item.value.flow = true;
  return '# written by `npm run lab up`; lab hosts are disposable\n' + yaml.toString();
}

/**
 * known_hosts lines for the given hosts: one line per key and per name the host is reached by (its
 * address and its FQDN; one pattern per line so the simplest matcher works). Lines of other names in
 * `existing` are kept; every line of these hosts' names is replaced.
 */
export function mergeKnownHosts(existing: string, hosts: { host: LabHost; keys: string[] }[], remove: LabHost[] = []): string {
  const names = new Set([...hosts.map((h) => h.host), ...remove].flatMap((h) => [h.addr, h.fqdn]));
  const kept = existing
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().split(/\s+/)[0].split(',').some((p) => names.has(p)));
  const added = hosts.flatMap(({ host, keys }) => [host.addr, host.fqdn].flatMap((n) => keys.map((k) => `${n} ${k}`)));
  return [...kept, ...added].map((l) => l + '\n').join('');
}

export function writeInventory(hosts: LabHost[]): void {
  const p = labPaths();
  fs.mkdirSync(p.inventoryDir, { recursive: true });
  writeFileAtomic(p.inventory, renderInventory(hosts, p.key));
}

export function updateKnownHosts(hosts: { host: LabHost; keys: string[] }[], remove: LabHost[] = []): void {
  const p = labPaths();
  fs.mkdirSync(p.inventoryDir, { recursive: true });
  const existing = fs.existsSync(p.knownHosts) ? fs.readFileSync(p.knownHosts, 'utf8') : '';
  writeFileAtomic(p.knownHosts, mergeKnownHosts(existing, hosts, remove));
}

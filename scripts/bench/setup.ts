// What both tools get: the same hosts, the same variables, the same host keys. And the check that
// they do the same work: every role of playbooks/site.yml must have its tagged block in the Ansible
// playbook, and Ansible runs exactly those blocks.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { Lab, LabHost } from '../lab/index.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const SITE = path.join(ROOT, 'playbooks', 'site.yml');
export const ANSIBLE_SITE = path.join(import.meta.dirname, 'ansible', 'site.yml');
export const SHIPSHAPE_BIN = path.join(ROOT, 'bin', 'shipshape');

type Play = { roles?: (string | { role?: string; name?: string })[]; tasks?: { tags?: string | string[] }[] };

/** Role names of site.yml, in order, over all plays. Plain tasks in a play are reported as such. */
export function siteRoles(file = SITE): { roles: string[]; plainTasks: number; plays: number } {
  const plays = (parse(fs.readFileSync(file, 'utf8')) ?? []) as Play[];
  const roles = plays.flatMap((p) => (p.roles ?? []).map((r) => (typeof r === 'string' ? r : (r.role ?? r.name ?? '?'))));
  return { roles: [...new Set(roles)], plainTasks: plays.reduce((n, p) => n + (p.tasks?.length ?? 0), 0), plays: plays.length };
}

/** The tags of the Ansible playbook's top-level blocks: one per shipshape role it mirrors. */
export function ansibleRoleTags(file = ANSIBLE_SITE): Set<string> {
  const plays = parse(fs.readFileSync(file, 'utf8')) as Play[];
  return new Set(plays.flatMap((p) => (p.tasks ?? []).flatMap((t) => (Array.isArray(t.tags) ? t.tags : t.tags ? [t.tags] : []))));
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Role variables, the same for both tools: what makes the site work inside the lab (Debian's
 * docker.io and caddy, the lab's Pebble as ACME CA). Roles that are not in site.yml ignore theirs.
 */
export function roleVars(lab: Lab): Record<string, unknown> {
  return {
    deploy_authorized_keys: [fs.readFileSync(`${lab.keyPath}.pub`, 'utf8').trim()],
    docker_source: 'debian',
    caddy_source: 'debian',
    caddy_email: 'ops@lab.test',
    caddy_acme_ca: lab.pebble.directory,
    caddy_acme_ca_root: lab.pebble.listenerCaPath,
  };
}

/**
 * One HTTPS site per host, under the name the lab's DNS already gives it: a server that serves
 * nothing would skip the caddy role entirely, and a real one gets its certificate over ACME.
 */
export function hostVars(host: LabHost): Record<string, unknown> {
  return { caddy_sites: [{ domain: host.fqdn, respond: `hello from ${host.name}` }] };
}

/** An inventory entry: a name of its own, and the lab host it reaches. */
export interface Entry {
  name: string;
  host: LabHost;
}

/**
 * The controller simulation: `count` inventory entries spread round-robin over the lab hosts, each its
 * own inventory host (its own connection, facts and report), named s001.. so they never look like
 * lab host names. Each gets its lab host's variables (the same site, the same certificate to check).
 */
export function simulatedEntries(hosts: LabHost[], count: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ name: `s${String(i + 1).padStart(3, '0')}`, host: hosts[i % hosts.length] }));
}

/**
 * shipshape's inventory as an operator writes it for fresh VPSs: deploy from now on, root only while
 * deploy cannot log in yet; the lab's host keys beside it (strict checking).
 */
export function writeShipshapeInventory(dir: string, lab: Lab, hosts: LabHost[], entries: Entry[] = hosts.map((h) => ({ name: h.name, host: h }))): string {
  fs.mkdirSync(dir, { recursive: true });
  const doc = {
    all: {
      vars: { user: 'deploy', bootstrap_user: 'root', identity_file: lab.keyPath, ...roleVars(lab) },
      hosts: Object.fromEntries(entries.map((e) => [e.name, { host: e.host.addr, ...hostVars(e.host) }])),
    },
  };
  fs.writeFileSync(path.join(dir, 'hosts.yml'), `# written by npm run bench\n${stringify(doc)}`);
  fs.copyFileSync(lab.knownHostsPath, path.join(dir, 'known_hosts'));
  return dir;
}

export interface AnsibleSetup {
  inventory: string;
  /** ControlPersist sockets of this tool's runs (closed after every run) */
  muxDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Ansible as LAB-NOTES measured it: pipelining, forks 50, ControlPersist, strict host key checking
 * against the lab's known_hosts. Connects as deploy with become; the first run overrides the user
 * with root (`-e ansible_user=root`), as a fresh VPS only lets root in. Everything Ansible writes
 * (config, temp files, sockets) stays in `dir`.
 */
export function writeAnsibleSetup(dir: string, lab: Lab, hosts: LabHost[]): AnsibleSetup {
  fs.mkdirSync(dir, { recursive: true });
  const knownHosts = path.join(dir, 'known_hosts');
  fs.copyFileSync(lab.knownHostsPath, knownHosts);
  // a short path of its own: OpenSSH's socket names (the directory plus ~30 characters) must fit a Unix
  // socket's 108 bytes, which the run's log directory does not leave room for
  const muxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-cp-'));
  const inventory = path.join(dir, 'hosts.yml');
  const doc = {
    all: {
      // the controller's address as the hosts see it: the fail2ban role never bans it (shipshape learns it
      // from the connection; the playbook gathers no facts, so it is given)
      vars: { ansible_user: 'deploy', ansible_ssh_private_key_file: lab.keyPath, bench_controller_addr: lab.gateway, ...roleVars(lab) },
      hosts: Object.fromEntries(hosts.map((h) => [h.name, { ansible_host: h.addr, ...hostVars(h) }])),
    },
  };
  fs.writeFileSync(inventory, `# written by npm run bench\n${stringify(doc)}`);
  const config = path.join(dir, 'ansible.cfg');
  fs.writeFileSync(
    config,
    [
      '# written by npm run bench: the peer as LAB-NOTES measured it',
      '[defaults]',
      'forks = 50',
      'host_key_checking = True',
      // explicit, so no interpreter discovery round trip (the peer at its best)
      'interpreter_python = /usr/bin/python3',
      'retry_files_enabled = False',
      `local_tmp = ${path.join(dir, 'tmp')}`,
      'deprecation_warnings = False',
      '',
      '[ssh_connection]',
      'pipelining = True',
      // Ansible's default ssh_args (-C, ControlMaster, ControlPersist) plus strict lab host keys
      `ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts} -o GlobalKnownHostsFile=/dev/null`,
      `control_path_dir = ${muxDir}`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ANSIBLE_CONFIG: config,
    ANSIBLE_HOME: path.join(dir, 'home'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_STDOUT_CALLBACK: 'default',
  };
  return { inventory, muxDir, env };
}

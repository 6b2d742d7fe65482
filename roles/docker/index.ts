import { z } from 'zod';
import { defineRole, type RoleTask } from '../../src/playbook/role.js';
import dockerDaemon from './docker_daemon.js';
import dockerPackages from './docker_packages.js';
import dockerUfw from './docker_ufw.js';
import { DOCKER_APT_FINGERPRINT, DOCKER_APT_KEY } from './docker-key.js';

/** What Docker documents for servers: its own repository's engine, CLI, containerd and the compose plugin. */
export const VENDOR_PACKAGES = ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-buildx-plugin', 'docker-compose-plugin'];
/** Distribution packages that conflict with the vendor's (Docker's install guide removes exactly these). */
export const DISTRO_CONFLICTS = ['docker.io', 'docker-doc', 'docker-compose', 'podman-docker', 'containerd', 'runc'];
/** The vendor's packages, removed when switching to Debian's (docker-ce conflicts with docker.io). */
export const VENDOR_CONFLICTS = [...VENDOR_PACKAGES, 'docker-ce-rootless-extras'];

/** json-file (Docker's default) never rotates by itself: one chatty container can fill the disk. */
export const DEFAULT_DAEMON = { 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '3' } };

/**
 * daemon.json is checked before it replaces the live one: `dockerd --validate` (Docker >= 23) knows every
 * option; Debian 12's docker.io (20.10) has no such flag, so there only the JSON syntax can be checked.
 */
export const DAEMON_VALIDATE =
  `sh -c 'if dockerd --help 2>&1 | grep -q -- --validate; then dockerd --validate --config-file "$1"; ` +
  `elif command -v python3 >/dev/null; then python3 -m json.tool "$1" >/dev/null; fi' daemon.json %s`;

export const AFTER_UFW = '# managed by shipshape (docker role): published ports obey the firewall from the first moment\n[Unit]\nAfter=ufw.service\n';

const account = z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'a user name: lower case letters, digits, _ and -');

const vars = z.object({
  /** vendor: Docker's own repository (what Docker documents for servers); debian: the distribution's docker.io */
  docker_source: z.enum(['vendor', 'debian']).default('vendor'),
  deploy_user: account.default('deploy'),
  /** members of the docker group (root-equivalent!); default: the deploy user. They need a new login to use it. */
  docker_users: z.array(account).optional(),
  /** merged over DEFAULT_DAEMON, objects key by key; null removes a default key */
  docker_daemon: z.record(z.string(), z.unknown()).default({}),
  /** published host ports reachable from anywhere; every other published port obeys ufw */
  docker_public_ports: z.array(z.union([z.number().int().min(1).max(65535), z.string()])).default([]),
  docker_apt_uri: z.string().default('https://download.docker.com/linux/debian'),
  /** the repository's ASCII-armored signing key; default Docker's (pinned in docker-key.ts) */
  docker_apt_key: z.string().default(DOCKER_APT_KEY),
  /** checked against docker_apt_key; default Docker's fingerprint when docker_apt_key is Docker's key */
  docker_apt_key_fingerprint: z.string().optional(),
  /**
   * Debian's packages, installed without recommends: docker.io recommends needrestart, which depends on binutils
   * (an assembler and a linker: os_hardening keeps those off servers), so the useful recommends are named here:
   * apparmor (loads Docker's default container profile), xz-utils (docker import/load of .xz). bookworm's
   * docker-compose is Compose v1 (`docker-compose`); trixie's is v2.
   */
  docker_debian_packages: z.array(z.string()).default(['docker.io', 'docker-compose', 'apparmor', 'xz-utils']),
});

type Vars = z.infer<typeof vars>;

/**
 * Debian 13 moved the client out of docker.io into docker-cli, which docker.io only Recommends: installed without
 * recommends, the host gets a daemon and no `docker` command. Debian 12 has no docker-cli package (docker.io ships
 * the client), so the package cannot simply be listed; the role asks for the outcome instead: no `docker` command,
 * install the client package. Roles are decided before any host is contacted, so this is the one place the
 * release difference can be settled without a per-release variable.
 */
export const DOCKER_CLI_TASK: RoleTask = {
  name: 'docker command installed (Debian 13: docker-cli)',
  module: 'command',
  args: {
    argv: ['env', 'DEBIAN_FRONTEND=noninteractive', 'NEEDRESTART_MODE=a', 'apt-get', '-o', 'DPkg::Lock::Timeout=300', '-y', '-q', '--no-install-recommends', 'install', 'docker-cli'],
    unless: 'command -v docker',
  },
};

/** Deep merge of plain objects; arrays and scalars replace; null deletes the key. */
export function mergeDaemon(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isObject(v) && isObject(out[k])) out[k] = mergeDaemon(out[k] as Record<string, unknown>, v);
    else out[k] = v;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** the role's own modules: its tasks use it, playbooks cannot */
const own = { docker_ufw: dockerUfw, docker_daemon: dockerDaemon, docker_packages: dockerPackages };

function packageTasks(v: Vars): RoleTask<typeof own>[] {
  if (v.docker_source === 'debian') {
    return [
      { name: "Docker's own packages removed", module: 'apt', args: { name: VENDOR_CONFLICTS, state: 'absent' } },
      { name: "no Docker apt repository", module: 'apt_repository', args: { name: 'docker', state: 'absent' } },
      {
        name: 'Docker packages installed (Debian)',
        // apt's task; on Debian 13 the client (docker-cli) joins this transaction when it installs docker.io
        module: 'docker_packages',
        args: { name: v.docker_debian_packages, cache_valid_time: 3600, install_recommends: false, client: 'docker-cli' },
      },
      DOCKER_CLI_TASK,
    ];
  }
  const fingerprint = v.docker_apt_key_fingerprint ?? (v.docker_apt_key === DOCKER_APT_KEY ? DOCKER_APT_FINGERPRINT : undefined);
  return [
    { name: 'conflicting distribution packages removed', module: 'apt', args: { name: DISTRO_CONFLICTS, state: 'absent' } },
    {
      name: 'Docker apt repository',
      module: 'apt_repository',
      args: {
        name: 'docker',
        uris: [v.docker_apt_uri],
        components: ['stable'],
        key: v.docker_apt_key,
        ...(fingerprint ? { key_fingerprint: fingerprint } : {}),
      },
    },
    { name: 'Docker packages installed', module: 'apt', args: { name: VENDOR_PACKAGES, cache_valid_time: 3600 } },
  ];
}


export default defineRole<Vars, typeof own>({
  name: 'docker',
  summary: "Docker Engine (Docker's repository or Debian's), rotated logs, and published ports that obey ufw (needs the firewall role)",
  vars,
  modules: own,
  tasks: (v) => [
    // first: from the moment Docker exists, what it publishes is behind the firewall
    { name: 'published container ports obey the firewall', module: 'docker_ufw', args: { public_ports: v.docker_public_ports } },
    ...packageTasks(v),
    // the daemon as it really runs (docker info) against daemon.json: before the file's own task, so a run that
    // changes daemon.json leaves the restart to that task's handler instead of restarting twice
    { name: 'docker runs daemon.json', module: 'docker_daemon', args: { config: mergeDaemon(DEFAULT_DAEMON, v.docker_daemon) } },
    { name: '/etc/docker', module: 'file', args: { path: '/etc/docker', state: 'directory', mode: '0755' } },
    {
      name: 'daemon.json',
      module: 'copy',
      args: {
        dest: '/etc/docker/daemon.json',
        mode: '0644',
        owner: 'root',
        group: 'root',
        content: JSON.stringify(mergeDaemon(DEFAULT_DAEMON, v.docker_daemon), null, 2) + '\n',
        validate: DAEMON_VALIDATE,
      },
      notify: ['restart docker'],
    },
    { name: 'docker.service.d', module: 'file', args: { path: '/etc/systemd/system/docker.service.d', state: 'directory', mode: '0755' } },
    {
      // Debian orders docker after network-online.target, and that after ufw only where network.target is
      // pulled in (ifupdown, networkd); say it directly, so ufw's rules and our DOCKER-USER chain are always
      // loaded before dockerd publishes a port at boot
      name: 'docker starts after ufw',
      module: 'copy',
      args: { dest: '/etc/systemd/system/docker.service.d/10-shipshape-after-ufw.conf', mode: '0644', content: AFTER_UFW },
      // not the service module's daemon_reload: systemd 252 does not report a drop-in in a directory that is new
      // since its last reload as NeedDaemonReload, so the change would only be noticed by a later run
      notify: ['reload systemd'],
    },
    { name: 'docker running', module: 'service', args: { name: 'docker', state: 'started', enabled: true, masked: false } },
    ...(v.docker_users ?? [v.deploy_user]).map((user): RoleTask => ({
      name: `${user} in the docker group`,
      module: 'user',
      args: { name: user, groups: ['docker'], append: true },
    })),
  ],
  handlers: () => [
    { name: 'reload systemd', module: 'command', args: { argv: ['systemctl', 'daemon-reload'] } },
    { name: 'restart docker', module: 'service', args: { name: 'docker', state: 'restarted' } },
  ],
});

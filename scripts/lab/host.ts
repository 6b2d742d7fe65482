// One lab host: a copy of the base image booted by systemd-nspawn inside its own network namespace,
// kept alive across in-host reboots by a tiny sh loop (nspawn exits 133 on `systemctl reboot`).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DOMAIN, GATEWAY, isHostName, labHost, netnsName } from './addressing.js';
import { hostCgroupDirs, killHostCgroup, removeHostCgroups } from './cgroups.js';
import { createHostNetwork, deleteHostNetwork, netnsExists, netnsPids } from './network.js';
import { type Dist, distOfOsRelease } from './dists.js';
import { baseImagePath, hostPaths, labPaths } from './paths.js';
import { isAlive, livePid, sh, shQuote, shTry, signal, spawnDaemon, terminate, waitGone, writeFileAtomic } from './shell.js';

const nsPathArg = (name: string) => `--network-namespace-path=/run/netns/${netnsName(name)}`;
const loopMarker = (name: string) => `# shipshape-lab boot loop ${netnsName(name)}\n`;
const isLoop = (name: string) => (argv: string[]) => argv.some((a) => a.startsWith(loopMarker(name)));
const isNspawn = (name: string) => (argv: string[]) =>
  path.basename(argv[0] ?? '') === 'systemd-nspawn' && argv.includes(nsPathArg(name));

export function hostProcesses(name: string): { loop?: number; nspawn?: number } {
  const p = hostPaths(name);
  return { loop: livePid(p.loopPid, isLoop(name)), nspawn: livePid(p.nspawnPid, isNspawn(name)) };
}

/** Host names that have a directory under <dir>/hosts (running or not). */
export function knownHostNames(): string[] {
  const dir = labPaths().hostsDir;
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter(isHostName).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

/** The Debian release of a host's root, read from the root itself (no state of our own to go stale). */
export function hostDist(name: string): Dist | undefined {
  try {
    return distOfOsRelease(fs.readFileSync(path.join(hostPaths(name).root, 'etc/os-release'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Fresh root from the release's base: own hostname, machine-id, resolver, SSH host keys; the lab key for root. */
export async function prepareHostRoot(name: string, publicKey: string, dist: Dist): Promise<void> {
  const p = hostPaths(name);
  const { fqdn } = labHost(name);
  fs.mkdirSync(p.dir, { recursive: true });
  // move the old root aside and delete it while the copy runs (a used root can be 1 GB: docker images)
  if (fs.existsSync(p.root)) fs.renameSync(p.root, `${p.root}.old-${Date.now()}`);
  const old = fs.readdirSync(p.dir).filter((f) => f.startsWith('root.old-')).map((f) => path.join(p.dir, f));
  await Promise.all([sh`cp -a --reflink=auto ${baseImagePath(dist)} ${p.root}`, ...old.map((o) => sh`rm -rf ${o}`)]);
  const at = (f: string) => path.join(p.root, f);
  fs.writeFileSync(at('etc/hostname'), `${name}\n`);
  // without its own name in /etc/hosts every sudo waits on a DNS time-out for it
  fs.writeFileSync(
    at('etc/hosts'),
    `127.0.0.1\tlocalhost\n127.0.1.1\t${fqdn} ${name}\n\n` +
      '::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n',
  );
  fs.writeFileSync(at('etc/resolv.conf'), `nameserver ${GATEWAY}\nsearch ${DOMAIN}\n`);
  fs.writeFileSync(at('etc/machine-id'), randomBytes(16).toString('hex') + '\n');
  // the current lab key, even if the base was built with an earlier one
  fs.writeFileSync(at('root/.ssh/authorized_keys'), publicKey + '\n', { mode: 0o600 });
  if (dist === 'trixie') labDockerQuirk(at);
  await sh`ssh-keygen -A -f ${p.root}`;
}

/**
 * nspawn mounts /proc/sys read-only, /proc/sys/net included, which neither a VM nor an LXC VPS does. Docker 26
 * (Debian 13) disables IPv6 on each container's interface through it and refuses to start containers when it
 * cannot, unless told to go on: lab plumbing in the image, like the apt proxy line, not what the engine configures
 * (the docker role's own drop-in sits beside it). Docker 20.10 (Debian 12) does not touch it.
 */
function labDockerQuirk(at: (f: string) => string): void {
  fs.mkdirSync(at('etc/systemd/system/docker.service.d'), { recursive: true });
  fs.writeFileSync(
    at('etc/systemd/system/docker.service.d/00-shipshape-lab-readonly-proc-sys.conf'),
    '# shipshape lab: /proc/sys/net is read-only in a systemd-nspawn host\n[Service]\nEnvironment=DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1\n',
  );
}

/** `type base64` of each SSH host key of a prepared host root (comments dropped). */
export function hostPublicKeys(name: string): string[] {
  const sshDir = path.join(hostPaths(name).root, 'etc/ssh');
  if (!fs.existsSync(sshDir)) return [];
  return fs
    .readdirSync(sshDir)
    .filter((f) => /^ssh_host_.*_key\.pub$/.test(f))
    .sort()
    .map((f) => fs.readFileSync(path.join(sshDir, f), 'utf8').trim().split(/\s+/).slice(0, 2).join(' '));
}

/** The sh loop that (re)boots the container; its first line identifies it in /proc/PID/cmdline. */
export function bootLoopScript(name: string): string {
  const p = hostPaths(name);
  const nspawn = [
    'systemd-nspawn',
    '-D', p.root,
    '--boot',
    `--machine=${name}`,
    // no systemd/dbus on the controller: no registration, no scope unit
    '--register=no',
    '--keep-unit',
    nsPathArg(name),
    // without it ufw/iptables fail with "Permission denied (you must be root)"
    '--capability=all',
    // with the unified hierarchy (env below): what docker run needs
    '--system-call-filter=@keyring bpf',
    // keep the image's resolv.conf and localtime; never touch the controller's journal
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    '--console=read-only',
  ];
  // the subshell moves ITSELF (`echo 0`) into the host's cgroups, then becomes nspawn: see cgroups.ts
  const joinCgroups = hostCgroupDirs(name)
    .map((d) => `mkdir -p ${shQuote(d)} && echo 0 > ${shQuote(`${d}/cgroup.procs`)} || echo "shipshape-lab: cannot use cgroup ${d}"; `)
    .join('');
  return (
    loopMarker(name) +
    'while :; do\n' +
    `  ( ${joinCgroups}SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec ${nspawn.map(shQuote).join(' ')} ) &\n` +
    `  echo $! > ${shQuote(p.nspawnPid)}\n` +
    '  wait $!; rc=$?\n' +
    '  echo "shipshape-lab: systemd-nspawn exited $rc at $(date -u +%FT%TZ)"\n' +
    // 133 = the container asked for a reboot: boot it again, like a VM; anything else ends the loop
    '  [ "$rc" = 133 ] || break\n' +
    'done\n'
  );
}

/** Network namespace, then the boot loop in its own session (no TTY, no stdin: CI-safe). */
export async function bootHost(name: string): Promise<void> {
  const p = hostPaths(name);
  await createHostNetwork(name);
  fs.rmSync(p.nspawnPid, { force: true });
  fs.writeFileSync(p.console, `shipshape-lab: booting ${name} at ${new Date().toISOString()}\n`);
  const pid = spawnDaemon(['sh', '-c', bootLoopScript(name)], p.console);
  writeFileAtomic(p.loopPid, `${pid}\n`);
}

/**
 * Stop a host and delete its namespace. Order matters: end the loop first (or it boots the container
 * again), then SIGTERM nspawn (a clean shutdown can take ~20 s), then kill whatever is left in the
 * namespace (a container whose nspawn was SIGKILLed keeps running there). Safe on leftovers.
 */
export async function stopHost(name: string): Promise<void> {
  const p = hostPaths(name);
  const { loop, nspawn } = hostProcesses(name);
  if (loop !== undefined) {
    signal(loop, 'SIGKILL');
    await waitGone([loop], 5_000);
  }
  if (nspawn !== undefined) await terminate(nspawn, 30_000);
  killHostCgroup(name); // whatever survived, including processes that left the namespace (docker's)
  await deleteHostNetwork(name);
  removeHostCgroups(name);
  fs.rmSync(p.loopPid, { force: true });
  fs.rmSync(p.nspawnPid, { force: true });
}

/**
 * The container's PID 1, seen from the controller: a process in the namespace whose own pid is 1, at the
 * shallowest pid-namespace level (a `docker run --network host` container has a pid 1 one level deeper).
 */
export async function leaderPid(name: string): Promise<number | undefined> {
  let best: { pid: number; depth: number } | undefined;
  for (const pid of await netnsPids(name)) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1].trim().split(/\s+/) ?? [];
      const depth = nspid.length;
      if (depth > 1 && nspid[depth - 1] === '1' && isAlive(pid) && (!best || depth < best.depth)) best = { pid, depth };
    } catch {
      /* exited meanwhile */
    }
  }
  return best?.pid;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Run an sh command INSIDE a host without SSH: nsenter into all namespaces of the container's PID 1
 * (mount, pid, uts, ipc, net, cgroup), with a clean root environment. For checks, not for daemons
 * (the command stays in the controller's cgroup).
 */
export async function hostExec(name: string, cmd: string): Promise<ExecResult> {
  labHost(name); // validates the name
  const pid = await leaderPid(name);
  if (pid === undefined) throw new Error(`lab host ${name} is not running`);
  const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8', 'USER=root', 'LOGNAME=root'];
  // --root/--wd without a value: the container's own; `--wd=/` would chdir before entering its mount namespace
  const r = await shTry`nsenter --target ${pid} --all --root --wd -- /usr/bin/env -i ${env} /bin/sh -c ${cmd}`;
  return { stdout: r.stdout, stderr: r.stderr, code: r.exitCode ?? -1 };
}

/**
 * Run a command on the CONTROLLER (its files and programs) inside hN's network namespace: connect from
 * the host's address, see what the host's network sees, without anything installed in the host.
 */
export async function nsExec(name: string, cmd: string): Promise<ExecResult> {
  labHost(name); // validates the name
  if (!(await netnsExists(name))) throw new Error(`lab host ${name} has no network namespace`);
  const r = await shTry`ip netns exec ${netnsName(name)} /bin/sh -c ${cmd}`;
  return { stdout: r.stdout, stderr: r.stderr, code: r.exitCode ?? -1 };
}

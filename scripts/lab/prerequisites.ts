// The controller's Debian packages. CI's .ci/run installs them in bulk; the lab still checks, installs
// what is missing (it runs as root anyway) and otherwise says exactly what to do.
import { log, sh, shTry } from './shell.js';

/** Packages the lab itself cannot run without. */
export const REQUIRED_PACKAGES = [
  'debootstrap',
  'systemd-container', // systemd-nspawn
  'iproute2', // ip netns, veth, bridge
  'apt-cacher-ng',
  'pebble', // pebble + pebble-challtestsrv (the lab DNS)
  'openssh-client',
  'curl',
  'openssl',
  'util-linux', // nsenter, flock
];

/** Used by checks in the e2e tests, not by the lab: reported when missing, never installed here. */
export const CHECK_TOOL_PACKAGES = ['ssh-audit', 'lynis', 'ansible', 'hyperfine', 'busybox-static'];

export async function missingPackages(pkgs: string[]): Promise<string[]> {
  // one call; dpkg-query exits non-zero when some package is unknown but still lists the others
  const r = await shTry`dpkg-query -W -f=${'${Package} ${db:Status-Status}\n'} ${pkgs}`;
  const installed = new Set(
    r.stdout.split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0].split(':')[0]),
  );
  return pkgs.filter((p) => !installed.has(p));
}

export async function ensurePrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('the lab needs root (network namespaces, systemd-nspawn, port 53): run it as root');
  }
  const missing = await missingPackages(REQUIRED_PACKAGES);
  if (missing.length > 0) {
    log(`installing missing Debian packages: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = await shTry({ env })`apt-get install -y ${missing}`;
    if (r.exitCode !== 0) {
      // a fresh machine may have no package lists yet
      await shTry({ env })`apt-get update`;
      r = await shTry({ env })`apt-get install -y ${missing}`;
    }
    if (r.exitCode !== 0) {
      throw new Error(
        `could not install ${missing.join(' ')} (apt-get exit ${r.exitCode}):\n${r.stderr.trim()}\n` +
          `install them by hand: apt-get install -y ${REQUIRED_PACKAGES.join(' ')}`,
      );
    }
  }
  const tools = await missingPackages(CHECK_TOOL_PACKAGES);
  if (tools.length > 0) log(`note: check tools not installed (some e2e tests need them): ${tools.join(' ')}`);
}

/** Kernel limits for many booted systemds (the ~20th host dies with "Too many open files" at 128). */
export async function raiseInotifyLimits(): Promise<void> {
  const want = { 'fs.inotify.max_user_instances': 8192, 'fs.inotify.max_user_watches': 1048576 };
  for (const [key, value] of Object.entries(want)) {
    const current = Number((await sh`sysctl -n ${key}`).stdout.trim());
    if (current < value) await sh`sysctl -qw ${`${key}=${value}`}`;
  }
}

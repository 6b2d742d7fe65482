// The lab's own SSH identity and strict-host-key SSH from the controller to lab hosts.
import fs from 'node:fs';
import { labPaths } from './paths.js';
import { retryUntil, sh, shTry } from './shell.js';

/** Generate the lab key once (no passphrase); returns the public key line. */
export async function ensureLabKey(): Promise<string> {
  const { key, dir } = labPaths();
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(key) || !fs.existsSync(`${key}.pub`)) {
    fs.rmSync(key, { force: true });
    fs.rmSync(`${key}.pub`, { force: true });
    await sh`ssh-keygen -q -t ed25519 -N ${''} -C shipshape-lab -f ${key}`;
  }
  return fs.readFileSync(`${key}.pub`, 'utf8').trim();
}

/**
 * ssh options for a lab host: the lab key only, host keys checked strictly against the lab's
 * known_hosts (never accept-new), no user or system config, never a prompt.
 */
export function sshOptions(connectTimeoutS = 5): string[] {
  const p = labPaths();
  return [
    '-F', '/dev/null',
    '-i', p.key,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${p.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `ConnectTimeout=${connectTimeoutS}`,
    '-o', 'LogLevel=ERROR',
  ];
}

/** Run a remote command (an sh string, quoted by the caller) on a lab host over SSH. */
export async function sshRun(addr: string, remoteCmd: string, connectTimeoutS = 5) {
  return shTry`ssh ${sshOptions(connectTimeoutS)} root@${addr} ${remoteCmd}`;
}

export async function sshReachable(addr: string): Promise<boolean> {
  return (await sshRun(addr, 'true', 2)).exitCode === 0;
}

/** Retry `ssh true` (not a sleep): true once sshd answers with the expected host key. */
export async function waitForSsh(addr: string, timeoutMs: number): Promise<boolean> {
  return (await retryUntil(timeoutMs, 500, async () => ((await sshReachable(addr)) ? true : undefined))) ?? false;
}

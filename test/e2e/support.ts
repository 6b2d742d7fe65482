/**
 * What every end-to-end test needs: fresh lab hosts, an inventory for them, the real CLI run as a
 * user would run it, and probes from the outside (the gateway, another host) to judge outcomes.
 * Each test file uses its own host names so files never disturb each other's hosts.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { DISTS, hostExec, labUp, nsExec, type Dist, type Lab, type LabHost } from '../../scripts/lab/index.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

export { DISTS, hostExec, nsExec };
export type { Dist, Lab, LabHost };

/**
 * Boot (or re-create) these lab hosts from the clean base image of a Debian release (default Debian 12):
 * a just-delivered cloud VPS. Every capability is proven on each of DISTS: `describe.each(DISTS)`.
 */
export async function freshHosts(names: string[], opts: { dist?: Dist } = {}): Promise<Lab> {
  return labUp({ hosts: names, fresh: true, dist: opts.dist });
}

/**
 * The name a file's host has on a release: files name their Debian 12 hosts (h1..h20); the same host on
 * Debian 13 is 100 further (h101..h120), so a file's two releases never share a host and can run at once.
 */
export function hostFor(name: string, dist: Dist): string {
  const n = Number(/^h(\d+)$/.exec(name)?.[1]);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error(`hostFor: ${name} is not a Debian 12 lab host name (h1..h100)`);
  return dist === 'bookworm' ? name : `h${n + 100}`;
}

export function labPublicKey(lab: Lab): string {
  return readFileSync(`${lab.keyPath}.pub`, 'utf8').trim();
}

export interface InventoryOptions {
  /** vars for all hosts */
  vars?: Record<string, unknown>;
  /** per-host connection and vars */
  hostVars?: Record<string, Record<string, unknown>>;
}

/**
 * An inventory directory for these hosts as an operator would write it after the first run:
 * the deploy user with sudo, root only as bootstrap_user for a fresh VPS.
 */
export function writeInventory(lab: Lab, hosts: LabHost[], o: InventoryOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-inv-'));
  const doc = {
    all: {
      vars: {
        user: 'deploy',
        bootstrap_user: 'root',
        identity_file: lab.keyPath,
        deploy_authorized_keys: [labPublicKey(lab)],
        ...o.vars,
      },
      hosts: Object.fromEntries(hosts.map((h) => [h.name, { host: h.addr, ...o.hostVars?.[h.name] }])),
    },
  };
  writeFileSync(join(dir, 'hosts.yml'), stringify(doc));
  writeFileSync(join(dir, 'known_hosts'), readFileSync(lab.knownHostsPath));
  mkdirSync(join(dir, 'host_vars'), { recursive: true });
  return dir;
}

/**
 * The site's variables on a lab host, as the bench applies them: Debian's docker.io and caddy (the lab reaches only
 * Debian's archive), Caddy's certificates from the lab's Pebble (its ACME directory and the root its listener is
 * signed with), and the controller (the gateway) never banned by fail2ban. A file adds or overrides its own.
 */
export function siteLabVars(lab: Lab): Record<string, unknown> {
  return {
    docker_source: 'debian',
    caddy_source: 'debian',
    caddy_email: 'ops@lab.test',
    caddy_acme_ca: lab.pebble.directory,
    caddy_acme_ca_root: lab.pebble.listenerCaPath,
    fail2ban_ignoreip: [lab.gateway],
  };
}

/** A command as root on a lab host (outside the engine), its stdout trimmed. */
export async function onHost(host: string, cmd: string): Promise<string> {
  const r = await hostExec(host, cmd);
  return r.stdout.trim();
}

/**
 * Debian's ansible-playbook against lab hosts, as the side-by-side tests run it: the lab's known_hosts with strict
 * checking, the hosts' python3, plain output, no retry files. Never throws: a failed run is its exit code.
 */
export async function ansiblePlaybook(lab: Lab, args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${lab.knownHostsPath} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
  };
  return run('ansible-playbook', args, { env, cwd: opts.cwd, maxBuffer: 16 << 20, timeout: 600_000 }).then(
    (x) => ({ code: 0, ...x }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
}

/**
 * A host script that makes the login user the trust tests log in as: `deploy`, the lab's key, passwordless sudo
 * (what an operator's first run leaves behind), so those files test the engine as an unprivileged login with sudo.
 */
export const deployUserScript = (key: string) => `
set -e
useradd -m -s /bin/sh deploy
install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
printf '%s\\n' '${key}' > /home/deploy/.ssh/authorized_keys
chown deploy:deploy /home/deploy/.ssh/authorized_keys; chmod 600 /home/deploy/.ssh/authorized_keys
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy; chmod 440 /etc/sudoers.d/deploy
`;

/** An inventory that logs in as that `deploy` user (no bootstrap user: root is never tried). */
export function writeDeployInventory(lab: Lab, hosts: LabHost[], prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const doc = { all: { vars: { user: 'deploy', identity_file: lab.keyPath }, hosts: Object.fromEntries(hosts.map((h) => [h.name, { host: h.addr }])) } };
  writeFileSync(join(dir, 'hosts.yml'), stringify(doc));
  writeFileSync(join(dir, 'known_hosts'), readFileSync(lab.knownHostsPath));
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI, no terminal, as CI and scripts run it. */
export async function shipshape(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const r = await run(join(ROOT, 'bin', 'shipshape'), args, { env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 << 20, timeout: 900_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; signal?: string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface JsonReport {
  hosts: Record<string, { ok: number; changed: number; failed: number; unreachable: boolean; error?: string; notes?: string[]; tasks: { name: string; role: string | null; status: string; reason: string; output?: string; diff: { subject: string; before: string; after: string }[] }[] }>;
}

/** `shipshape MODE playbook -i inv --json ...`, parsed; the exit code kept beside it. */
export async function shipshapeJson(mode: 'apply' | 'check', playbook: string, inventory: string, extra: string[] = [], env: Record<string, string> = {}) {
  const r = await shipshape([mode, playbook, '-i', inventory, '--json', ...extra], env);
  let report: JsonReport;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`shipshape ${mode} printed no JSON (exit ${r.code}).\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-4000)}`);
  }
  return { ...r, report };
}

export const changedTasks = (report: JsonReport, host: string) => report.hosts[host].tasks.filter((t) => t.status === 'changed').map((t) => `${t.role ?? ''}|${t.name}`);

/** Does a TCP connection to addr:port succeed from the controller (the lab gateway)? */
export function tcpOpen(addr: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: addr, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

/** The system OpenSSH client, as the operator's own terminal would log in. */
export async function sshLogin(lab: Lab, user: string, addr: string, cmd: string, extra: string[] = [], port = 22): Promise<CliResult> {
  const args = [
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'IdentitiesOnly=yes', '-i', lab.keyPath, '-p', String(port), ...extra, `${user}@${addr}`, cmd,
  ];
  try {
    const r = await run('ssh', args, { timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export const PLAYBOOKS = join(ROOT, 'playbooks');
export const FIXTURES = join(ROOT, 'test', 'e2e', 'fixtures');

/** A stopwatch for a test file: `timed('first apply', () => ...)`, then print `timings` in afterAll. */
export function stopwatch() {
  const timings: string[] = [];
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  };
  return { timings, timed };
}

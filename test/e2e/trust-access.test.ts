/**
 * The guard's deadline and a rogue sshd, end to end on real lab hosts (Debian 12 and Debian 13), over
 * real SSH as an unprivileged login user with sudo:
 * - a guarded change whose apply outlasts --guard-timeout is kept while the run is alive (the
 *   controller renews the host's revert deadline); the same apply whose controller is killed is
 *   stopped and reverted by the host at the deadline, and never finishes writing afterwards;
 * - the inventory pointed at a second sshd with a DIFFERENT host key on another port, with
 *   --accept-new-host-keys while the host's key is on record: refused, both fingerprints named,
 *   nothing recorded, and the rogue never saw an authentication attempt or a password;
 * - the docker role with a bridge subnet (bip) over the controller's network: refused before the
 *   first change (no Docker installed), naming the fix; the host still answers.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deployUserScript, freshHosts, hostExec, labPublicKey, onHost, shipshapeJson, stopwatch, writeDeployInventory, type Lab, type LabHost } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { timings, timed } = stopwatch();
const NAMES = ['h45', 'h145'];
const GUARD = 10;
const SECRET = 'Rogue-Port-S3cret';

const on = onHost;

/** a sudoers drop-in (guarded, confirmed by a new login with sudo) whose validate takes `secs` */
const slowDropIn = (dest: string, secs: number, tag: string) => ({
  name: `slow drop-in ${dest}`,
  tags: [tag],
  copy: { dest, content: 'Defaults:deploy !lecture\n', mode: '0440', validate: `sleep ${secs} && visudo -cf %s` },
});

let lab: Lab;
const hosts: LabHost[] = [];
let inv: string;
let pb: string;
const env: Record<string, string> = {};

beforeAll(async () => {
  lab = await timed('boot h45 (bookworm)', () => freshHosts(['h45'], { dist: 'bookworm' }));
  hosts.push(lab.hosts.find((h) => h.name === 'h45')!);
  lab = await timed('boot h145 (trixie)', () => freshHosts(['h145'], { dist: 'trixie' }));
  hosts.push(lab.hosts.find((h) => h.name === 'h145')!);
  for (const h of hosts) {
    const r = await hostExec(h.name, deployUserScript(labPublicKey(lab)));
    expect(r.code, r.stderr).toBe(0);
  }
  inv = writeDeployInventory(lab, hosts, 'ss-e2e-lease-');
  pb = join(inv, 'lease.yml');
  writeFileSync(pb, stringify([{ hosts: 'all', become: true, tasks: [slowDropIn('/etc/sudoers.d/ss-alive', 25, 'alive'), slowDropIn('/etc/sudoers.d/ss-killed', 25, 'killed')] }]));
  env.HOME = join(inv, 'home');
  mkdirSync(env.HOME);
  env.XDG_STATE_HOME = join(env.HOME, 'state');
  env.SSH_AUTH_SOCK = '';
}, 600_000);

afterAll(() => console.log(`trust-access e2e timings:\n  ${timings.join('\n  ')}`));

type Task = { name: string; status: string; reason: string };

describe('a guarded apply that outlasts --guard-timeout', () => {
  it(`is kept while the run is alive: a 25 s apply under a ${GUARD} s guard is confirmed, and no timer undoes it later`, async () => {
    const r = await timed('alive: apply', () => shipshapeJson('apply', pb, inv, ['-t', 'alive', '--guard-timeout', String(GUARD)], env));
    expect(r.code, r.stderr + JSON.stringify(r.report)).toBe(0);
    for (const name of NAMES) {
      const t = r.report.hosts[name].tasks[0] as Task;
      expect(t.status).toBe('changed');
      expect(t.reason).toMatch(/confirmed by a new login as deploy@/);
    }
    // past another whole timeout: still there, and nothing of the guard left on the host
    await new Promise((res) => setTimeout(res, (GUARD + 5) * 1000));
    for (const name of NAMES) {
      expect(await on(name, 'cat /etc/sudoers.d/ss-alive')).toBe('Defaults:deploy !lecture');
      expect(await on(name, 'ls -A /var/lib/shipshape/guard; systemctl list-units --all --no-legend "shipshape-revert-*"')).toBe('');
    }
  }, 300_000);

  it('is stopped and reverted by the host at the deadline when the controller dies, and never finishes writing afterwards', async () => {
    const child = spawn(join(ROOT, 'bin', 'shipshape'), ['apply', pb, '-i', inv, '-t', 'killed', '--guard-timeout', String(GUARD), '--json'], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    // kill the controller once both hosts are inside the slow validate, the guard armed
    const started = Date.now();
    const inside = async () => (await Promise.all(NAMES.map((n) => on(n, 'pgrep -fx "sleep 25" >/dev/null && ls /var/lib/shipshape/guard | wc -l')))).every((c) => c === '1');
    while (!(await inside())) {
      expect(Date.now() - started, 'the guarded apply did not start within 120 s').toBeLessThan(120_000);
      await new Promise((res) => setTimeout(res, 500));
    }
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    timings.push(`killed: controller killed ${((killedAt - started) / 1000).toFixed(1)} s after start`);
    // the host reverts by itself within the timeout (plus the timer's and the test's granularity)
    for (const name of NAMES) {
      while ((await on(name, 'ls -A /var/lib/shipshape/guard')) !== '') {
        expect(Date.now() - killedAt, `${name}: the guard did not revert within ${GUARD + 20} s of the kill`).toBeLessThan((GUARD + 20) * 1000);
        await new Promise((res) => setTimeout(res, 500));
      }
    }
    timings.push(`killed: both hosts reverted ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    // the apply would have written at ~25 s: wait past that, the drop-in never appears
    await new Promise((res) => setTimeout(res, 25_000));
    for (const name of NAMES) {
      expect(await on(name, 'test -e /etc/sudoers.d/ss-killed && echo written || echo absent; pgrep -fx "sleep 25" || echo stopped')).toBe('absent\nstopped');
      expect(await on(name, 'journalctl -t shipshape --no-pager -q')).toMatch(/reverted access-critical change/);
    }
  }, 300_000);
});

describe('a rogue sshd where the inventory points', () => {
  it('is refused with --accept-new-host-keys while the host is on record: both fingerprints, nothing recorded, no authentication attempt', async () => {
    const real: Record<string, string> = {};
    const rogue: Record<string, string> = {};
    for (const name of NAMES) {
      // a second sshd on port 2222 with a host key of its own, logging every step of each connection
      const r = await hostExec(
        name,
        'set -e; mkdir -p /etc/ssh/rogue; rm -f /etc/ssh/rogue/key*; ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/rogue/key; ' +
          ': > /var/log/rogue.log; /usr/sbin/sshd -p 2222 -h /etc/ssh/rogue/key -o PidFile=/run/rogue-sshd.pid -o LogLevel=DEBUG1 -E /var/log/rogue.log; ' +
          'ssh-keygen -lf /etc/ssh/rogue/key.pub | cut -d" " -f2; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2',
      );
      expect(r.code, r.stderr).toBe(0);
      [rogue[name], real[name]] = r.stdout.trim().split('\n');
    }
    const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-rogue-'));
    const doc = {
      all: {
        vars: { user: 'deploy', identity_file: lab.keyPath, become_password: SECRET },
        hosts: Object.fromEntries(hosts.map((h) => [h.name, { host: h.addr, port: 2222 }])),
      },
    };
    writeFileSync(join(dir, 'hosts.yml'), stringify(doc));
    const known = readFileSync(lab.knownHostsPath, 'utf8');
    writeFileSync(join(dir, 'known_hosts'), known);
    const play = join(dir, 'play.yml');
    writeFileSync(play, stringify([{ hosts: 'all', become: true, tasks: [{ name: 'marker', copy: { dest: '/root/rogue-marker', content: 'x\n' } }] }]));
    const r = await timed('rogue: apply', () => shipshapeJson('apply', play, dir, ['--accept-new-host-keys'], env));
    expect(r.code).toBe(4);
    for (const h of hosts) {
      const rep = r.report.hosts[h.name];
      expect(rep.unreachable).toBe(true);
      expect(rep.error).toContain(rogue[h.name]);
      expect(rep.error).toContain(real[h.name]);
      expect(rep.error).toMatch(/nothing was sent to it and nothing was recorded/);
      expect(rep.error).not.toContain(SECRET);
      // nothing recorded anywhere for the rogue port, nothing applied
      expect(readFileSync(join(dir, 'known_hosts'), 'utf8')).toBe(known);
      const mine = join(env.HOME, '.ssh', 'known_hosts');
      expect(existsSync(mine) ? readFileSync(mine, 'utf8') : '').not.toContain(`[${h.addr}]:2222`);
      expect((await hostExec(h.name, 'test -e /root/rogue-marker')).code).toBe(1);
      // the rogue saw the connection, and not one authentication request: no key, no password, no sudo
      const log = await on(h.name, 'cat /var/log/rogue.log');
      expect(log).toMatch(/Connection from/);
      expect(log).not.toMatch(/userauth-request|Accepted|Failed|Postponed|password/i);
      await on(h.name, 'kill "$(cat /run/rogue-sshd.pid)"');
    }
  }, 300_000);
});

describe("Docker's bridge over the controller's network", () => {
  it('is refused before the first change, naming bip and the fix; nothing is installed', async () => {
    const play = join(inv, 'docker.yml');
    writeFileSync(play, stringify([{ hosts: 'all', become: true, roles: [{ role: 'docker', vars: { docker_source: 'debian', docker_daemon: { bip: '10.99.0.200/24' } } }] }]));
    const r = await timed('docker bip: apply', () => shipshapeJson('apply', play, inv, [], env));
    expect(r.code).toBe(1);
    for (const h of hosts) {
      const rep = r.report.hosts[h.name];
      expect(rep.error).toMatch(/was refused before any change/);
      const t = rep.tasks.find((x) => x.status === 'failed')!;
      expect(t.reason).toMatch(/docker0 \(10\.99\.0\.200\/24, daemon\.json "bip"\) overlaps the controller's address 10\.99\.0\.1/);
      expect(t.reason).toMatch(/Fix: set docker_daemon: \{ bip: "[0-9./]+" \}/);
      expect(rep.tasks.filter((x) => x.status === 'changed')).toEqual([]);
      expect(await on(h.name, 'command -v dockerd || echo none; ls /etc/docker 2>&1 | head -1')).toMatch(/^none\n.*No such file/);
    }
  }, 300_000);
});

/**
 * Faults, on real lab hosts (Debian 12 and 13): each ends with a clear per-host report, nothing
 * half-written, and a re-run that converges.
 * - one host of several down, another with a changed host key: the others finish, exit 4;
 * - a wrong become password: one clear error and exactly one failed sudo attempt per run;
 * - the dpkg lock held by another apt: waited for, bounded by lock_timeout; dpkg interrupted earlier;
 * - the SSH connection dropped in the middle of a package install;
 * - Ctrl-C in the middle of a run: exit 130 and where every host stood.
 * Hosts h43/h44 (Debian 12), h143/h144 (Debian 13); h49/h149 are never booted (the "down" host).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { stringify } from 'yaml';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { fingerprintSha256 } from '../../src/transport/known-hosts.js';
import { freshHosts, hostExec, shipshapeJson, stopwatch, type Lab, type LabHost } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');

const RELEASES = [
  { dist: 'bookworm' as const, a: 'h43', b: 'h44', down: { name: 'h49', addr: '10.99.0.59' } },
  { dist: 'trixie' as const, a: 'h143', b: 'h144', down: { name: 'h149', addr: '10.99.0.159' } },
];

function playbook(dir: string, tasks: unknown[], become = false): string {
  const path = join(dir, `play-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(path, stringify([{ hosts: 'all', become, tasks }]));
  return path;
}

/** an inventory of root logins with the lab key; `known` replaces the lab's known_hosts */
function inventory(lab: Lab, hosts: Record<string, Record<string, unknown>>, known = readFileSync(lab.knownHostsPath, 'utf8')): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-faults-'));
  writeFileSync(join(dir, 'hosts.yml'), stringify({ all: { vars: { user: 'root', identity_file: lab.keyPath }, hosts } }));
  writeFileSync(join(dir, 'known_hosts'), known);
  return dir;
}

const sh = async (h: LabHost, cmd: string) => {
  const r = await hostExec(h.name, cmd);
  if (r.code !== 0) throw new Error(`${h.name}: ${cmd}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
};

/** hold dpkg's frontend lock (a POSIX lock, as apt takes it) for `secs` seconds, in the background */
const holdDpkgLock = (h: LabHost, secs: number) =>
  sh(h, `setsid python3 -c "import fcntl,time; f=open('/var/lib/dpkg/lock-frontend','w'); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(${secs})" </dev/null >/dev/null 2>&1 & sleep 1`);

async function until(what: string, f: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe.each(RELEASES)('faults on $dist', ({ dist, a, b, down }) => {
  let lab: Lab;
  let A: LabHost;
  let B: LabHost;
  let work: string;
  const env: Record<string, string> = {};
  const { timings, timed } = stopwatch();

  beforeAll(async () => {
    lab = await freshHosts([a, b], { dist });
    [A, B] = lab.hosts;
    work = mkdtempSync(join(tmpdir(), 'ss-e2e-faults-'));
    env.HOME = work;
    env.XDG_STATE_HOME = join(work, 'state');
    env.SSH_AUTH_SOCK = '';
  });

  afterAll(() => console.log(`faults e2e (${dist}):\n  ${timings.join('\n  ')}`));

  it('one host down and one with a changed host key: the third finishes, exit 4, each reported with what to do', async () => {
    const rogue = ssh2.utils.generateKeyPairSync('ed25519').public.split(' ')[1];
    const known = readFileSync(lab.knownHostsPath, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith(`${B.addr} `))
      .join('\n') + `\n${B.addr} ssh-ed25519 ${rogue}\n`;
    const inv = inventory(lab, { [A.name]: { host: A.addr }, [B.name]: { host: B.addr }, [down.name]: { host: down.addr } }, known);
    const play = playbook(work, [{ name: 'marker', copy: { dest: '/root/fault-marker', content: 'ok\n' } }]);
    const r = await timed('run with a host down', () => shipshapeJson('apply', play, inv, [], env));
    expect(r.code).toBe(4);
    expect(r.report.hosts[A.name]).toMatchObject({ changed: 1, failed: 0, unreachable: false });
    expect(await sh(A, 'cat /root/fault-marker')).toBe('ok\n');
    const changed = r.report.hosts[B.name];
    expect(changed.unreachable).toBe(true);
    expect(changed.error).toMatch(/HOST KEY FOR .* CHANGED/);
    // both fingerprints: the one on record and the one presented, and the command that removes the line
    expect(changed.error).toContain(fingerprintSha256(Buffer.from(rogue, 'base64')));
    const real = readFileSync(lab.knownHostsPath, 'utf8').split('\n').find((l) => l.startsWith(`${B.addr} ssh-ed25519 `))!.split(' ')[2];
    expect(changed.error).toContain(fingerprintSha256(Buffer.from(real, 'base64')));
    expect(changed.error).toMatch(/ssh-keygen -R/);
    expect((await hostExec(B.name, 'test -e /root/fault-marker')).code).toBe(1);
    expect(r.report.hosts[down.name]).toMatchObject({ unreachable: true });
    expect(r.report.hosts[down.name].error).toMatch(new RegExp(`${down.addr.replaceAll('.', '\\.')}:22`));
  });

  it('a wrong become password: one clear error, exactly one failed sudo attempt per run, nothing applied', async () => {
    await sh(
      A,
      'id ops >/dev/null 2>&1 || useradd -m -s /bin/sh ops; echo "ops:right-Pw-1" | chpasswd; install -d -m 700 -o ops -g ops /home/ops/.ssh; ' +
        'install -m 600 -o ops -g ops /root/.ssh/authorized_keys /home/ops/.ssh/authorized_keys; echo "ops ALL=(ALL) ALL" > /etc/sudoers.d/ops; chmod 440 /etc/sudoers.d/ops',
    );
    const inv = inventory(lab, { [A.name]: { host: A.addr, user: 'ops', become_password: 'wrong-Pw' } });
    const play = playbook(work, [{ name: 'root marker', copy: { dest: '/root/become-marker', content: 'x\n' } }], true);
    const since = (await sh(A, "date '+%Y-%m-%d %H:%M:%S'")).trim();
    for (let i = 0; i < 2; i++) {
      const r = await shipshapeJson('apply', play, inv, [], env);
      expect(r.code).not.toBe(0);
      expect(r.report.hosts[A.name].error ?? JSON.stringify(r.report.hosts[A.name].tasks)).toMatch(/sudo rejected the become password for ops@/);
      expect(r.stdout + r.stderr).not.toContain('wrong-Pw');
    }
    const journal = await sh(A, `journalctl --no-pager -o cat --since '${since}' 2>/dev/null | grep -c 'ops : 1 incorrect password attempt' || true`);
    expect(Number(journal.trim())).toBe(2);
    expect((await hostExec(A.name, 'test -e /root/become-marker')).code).toBe(1);
    // the right password works
    const ok = await shipshapeJson('apply', play, inventory(lab, { [A.name]: { host: A.addr, user: 'ops', become_password: 'right-Pw-1' } }), [], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });

  it('the dpkg lock held by another apt: fails after lock_timeout with who holds it, waits when allowed to; dpkg interrupted earlier is finished first', async () => {
    const inv = inventory(lab, { [A.name]: { host: A.addr } });
    const tree = (timeout: number) => playbook(work, [{ name: 'tree installed', apt: { name: 'tree', cache_valid_time: 3600, lock_timeout: timeout } }]);
    // make sure the package index is there, so the timings below are the lock's
    const cache = await timed('apt cache', () => shipshapeJson('apply', playbook(work, [{ name: 'cache', apt: { update_cache: true, cache_valid_time: 3600 } }]), inv, [], env));
    expect(cache.code, cache.stdout + cache.stderr).toBe(0);

    await holdDpkgLock(A, 60);
    const short = await timed('lock held, lock_timeout 5', () => shipshapeJson('apply', tree(5), inv, [], env));
    expect(short.code).toBe(1);
    const failed = short.report.hosts[A.name].tasks.find((t) => t.name === 'tree installed')!;
    expect(failed.status).toBe('failed');
    expect(JSON.stringify(failed)).toMatch(/Could not get lock .*held by process \d+ \(python3\)/);
    expect((await hostExec(A.name, 'dpkg -s tree')).code).not.toBe(0);
    await hostExec(A.name, "pkill -f '[f]cntl.lockf' ; true");

    await holdDpkgLock(A, 12);
    const waited = await timed('lock held 12 s, lock_timeout 120', () => shipshapeJson('apply', tree(120), inv, [], env));
    expect(waited.code, waited.stdout + waited.stderr).toBe(0);
    expect(await sh(A, "dpkg-query -W -f '${Status}' tree")).toBe('install ok installed');

    // a dpkg run cut short: a package unpacked but never configured, and dpkg's journal not empty
    await sh(A, 'apt-get -y -q remove tree >/dev/null && apt-get -y -q install --download-only tree >/dev/null && dpkg --unpack /var/cache/apt/archives/tree_*.deb >/dev/null && touch /var/lib/dpkg/updates/0000');
    expect(await sh(A, "dpkg-query -W -f '${Status}' tree")).not.toBe('install ok installed');
    // the fault is real: apt itself refuses to do anything now
    expect((await hostExec(A.name, 'apt-get -y -q install tree 2>&1')).stdout).toMatch(/dpkg was interrupted/);
    const repaired = await timed('after an interrupted dpkg', () => shipshapeJson('apply', tree(120), inv, ['-v'], env));
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    expect(await sh(A, "dpkg-query -W -f '${Status}' tree")).toBe('install ok installed');
    expect((await sh(A, 'dpkg --audit; ls -A /var/lib/dpkg/updates')).trim()).toBe('');
    const again = await shipshapeJson('apply', tree(120), inv, [], env);
    expect(again.report.hosts[A.name].changed).toBe(0);
  });

  it('the SSH connection dropped in the middle of an install: reported, and the re-run converges', async () => {
    const inv = inventory(lab, { [A.name]: { host: A.addr } });
    const play = playbook(work, [
      { name: 'before', copy: { dest: '/root/drop-before', content: '1\n' } },
      { name: 'packages', apt: { name: ['htop', 'lsof', 'strace'], cache_valid_time: 3600 } },
      { name: 'after', copy: { dest: '/root/drop-after', content: '1\n' } },
    ]);
    const run = shipshapeJson('apply', play, inv, [], env);
    await until('apt-get install on the host', async () => (await hostExec(A.name, "pgrep -f '[a]pt-get.*install' >/dev/null")).code === 0);
    // sshd's session processes of this login (sshd: root@notty, sshd-session on Debian 13); the listener stays
    await sh(A, "pkill -KILL -f '[@]notty' ; true");
    const r = await timed('run with a dropped connection', () => run);
    expect(r.code).toBe(4);
    expect(r.report.hosts[A.name].error).toMatch(/connection (lost|to .* was lost)/);
    expect((await hostExec(A.name, 'test -e /root/drop-after')).code).toBe(1);
    const again = await timed('re-run after the drop', () => shipshapeJson('apply', play, inv, [], env));
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await sh(A, "dpkg-query -W -f '${Status}\\n' htop lsof strace")).toBe('install ok installed\n'.repeat(3));
    expect((await shipshapeJson('apply', play, inv, [], env)).report.hosts[A.name].changed).toBe(0);
  });

  it('Ctrl-C in the middle of a run: exit 130 and where every host stood; the re-run converges', async () => {
    const inv = inventory(lab, { [A.name]: { host: A.addr }, [B.name]: { host: B.addr } });
    const play = playbook(work, [
      { name: 'first', copy: { dest: '/root/int-first', content: '1\n' } },
      { name: 'long task', command: { cmd: 'sleep 25', creates: '/root/int-never' } },
    ]);
    const child = spawn(join(ROOT, 'bin', 'shipshape'), ['apply', play, '-i', inv], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until('sleep 25 running on both hosts', async () => (await hostExec(A.name, "pgrep -f '[s]leep 25'")).code === 0 && (await hostExec(B.name, "pgrep -f '[s]leep 25'")).code === 0);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out).toMatch(/interrupted \(Ctrl-C\): the run stopped/);
    expect(out).toMatch(new RegExp(`${A.name}: interrupted during "long task"; changed "first"`));
    expect(out).toMatch(new RegExp(`${B.name}: interrupted during "long task"`));
    const again = await shipshapeJson('apply', playbook(work, [{ name: 'first', copy: { dest: '/root/int-first', content: '1\n' } }]), inv, [], env);
    expect(again.code).toBe(0);
    expect(again.report.hosts[A.name].changed).toBe(0);
  });
});

/**
 * Faults, on real lab hosts (Debian 12 and 13): each ends with a clear per-host report, nothing
 * half-written, and a re-run that converges.
 * - one host of several down, another with a changed host key: the others finish, exit 4;
 * - a wrong become password: one clear error and exactly one failed sudo attempt per run;
 * - the dpkg lock held by another apt: waited for, bounded by lock_timeout; dpkg interrupted earlier;
 * - the SSH connection dropped in the middle of a package install;
 * - Ctrl-C in the middle of a run: exit 130 and where every host stood;
 * - apt's proxy accepts and never answers: the update and the play's download end at --apt-timeout with a
 *   report, dpkg untouched, the other host finishes; the re-run after the fix converges.
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

/** on the host: a listener on 127.0.0.1:39142 that accepts every connection and never answers (a silent apt proxy) */
const SILENT_PROXY = [
  "cat > /root/silent-proxy.py <<'EOF'",
  'import socket',
  's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
  "s.bind(('127.0.0.1', 39142)); s.listen(64); held = []",
  'while True:',
  '    held.append(s.accept()[0])',
  'EOF',
  'setsid python3 /root/silent-proxy.py </dev/null >/dev/null 2>&1 &',
  // later files of apt.conf.d win: this one replaces the lab's own proxy
  `printf '%s\\n' 'Acquire::http::Proxy "http://127.0.0.1:39142";' > /etc/apt/apt.conf.d/99silent-proxy`,
  "until ss -ltn | grep -q '127.0.0.1:39142 '; do sleep 0.2; done",
].join('\n');

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

  it("apt's proxy accepts and never answers: update and download end at --apt-timeout with a report, dpkg untouched, the other host finishes", { timeout: 300_000 }, async () => {
    const inv = inventory(lab, { [A.name]: { host: A.addr }, [B.name]: { host: B.addr } });
    const status = (h: LabHost, pkgs: string) => sh(h, `for p in ${pkgs}; do dpkg-query -W -f '\${Status}\\n' $p 2>/dev/null || echo absent; done`);
    // both hosts have a package index, so the second play below has nothing to update, only to download
    const warm = await timed('apt index', () => shipshapeJson('apply', playbook(work, [{ name: 'index', apt: { update_cache: true, cache_valid_time: 3600 } }]), inv, [], env));
    expect(warm.code, warm.stdout + warm.stderr).toBe(0);
    await sh(A, 'apt-get -y -q purge bc jq >/dev/null 2>&1; true');
    await sh(B, 'apt-get -y -q purge bc jq >/dev/null 2>&1; true');
    await sh(A, SILENT_PROXY);
    const report = (what: string) =>
      new RegExp(`${what} did not finish within 5s \\(--apt-timeout\\): no answer, or too slow, from http://\\S+( http://\\S+)* through the proxy http://127\\.0\\.0\\.1:39142\\. Stopped it before anything was installed \\(dpkg did not run\\)`);
    const noApt = async () => (await hostExec(A.name, "pgrep -a -f '[a]pt-get|/usr/lib/apt/[m]ethods/' || true")).stdout.trim();

    // only A's apt is under a 5 s bound's risk; B installs in the same run, from the working proxy, with no
    // network phase of its own (its index is fresh, one apt task: no update, no prefetch), so the shared
    // machine's load can never stretch B past the bound
    const onA = `inventory_hostname == '${A.name}'`;
    const onB = `inventory_hostname == '${B.name}'`;
    // an apt task's own update (one apt task on A: no prefetch)
    const update = playbook(work, [
      { name: 'bc installed', apt: { name: 'bc', update_cache: true }, when: onA },
      { name: 'bc installed (the other host)', apt: { name: 'bc' }, when: onB },
    ]);
    const r1 = await timed('update against a silent proxy, --apt-timeout 5', () => shipshapeJson('apply', update, inv, ['--apt-timeout', '5'], env));
    expect(r1.code).toBe(1);
    const t1 = r1.report.hosts[A.name].tasks.find((t) => t.name === 'bc installed')!;
    expect(t1.status).toBe('failed');
    expect(t1.output).toMatch(report('apt-get update'));
    expect(r1.report.hosts[B.name], JSON.stringify(r1.report.hosts[B.name])).toMatchObject({ failed: 0, changed: 1, unreachable: false });
    expect(await status(B, 'bc')).toBe('install ok installed\n');
    expect(await status(A, 'bc')).toBe('absent\n');
    expect(await noApt()).toBe('');

    // the play's one download of its packages (two apt tasks on A: the prefetch)
    const two = playbook(work, [
      { name: 'bc installed', apt: { name: 'bc' }, when: onA },
      { name: 'jq installed', apt: { name: 'jq' }, when: onA },
      { name: 'jq installed (the other host)', apt: { name: 'jq' }, when: onB },
    ]);
    const r2 = await timed('download against a silent proxy, --apt-timeout 5', () => shipshapeJson('apply', two, inv, ['--apt-timeout', '5'], env));
    expect(r2.code).toBe(1);
    const t2 = r2.report.hosts[A.name].tasks.find((t) => t.status === 'failed')!;
    expect(t2.name).toMatch(/packages of this play downloaded/);
    expect(t2.output).toMatch(report('apt-get --download-only'));
    expect(r2.report.hosts[A.name].tasks.map((t) => t.name)).not.toContain('bc installed');
    expect(r2.report.hosts[B.name], JSON.stringify(r2.report.hosts[B.name])).toMatchObject({ failed: 0, changed: 1, unreachable: false });
    expect(await status(B, 'bc jq')).toBe('install ok installed\n'.repeat(2));
    // dpkg never ran on A: nothing half-installed, nothing installed, no apt left waiting
    expect(await sh(A, 'dpkg --audit; ls -A /var/lib/dpkg/updates')).toBe('');
    expect(await status(A, 'bc jq')).toBe('absent\n'.repeat(2));
    expect(await noApt()).toBe('');

    // the proxy fixed: the same play converges, and a second run changes nothing
    await sh(A, "rm -f /etc/apt/apt.conf.d/99silent-proxy; pkill -f '[s]ilent-proxy.py'; true");
    const fixed = await timed('after the fix', () => shipshapeJson('apply', two, inv, [], env));
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(await status(A, 'bc jq')).toBe('install ok installed\n'.repeat(2));
    expect((await shipshapeJson('apply', two, inv, [], env)).report.hosts[A.name].changed).toBe(0);
  });
});

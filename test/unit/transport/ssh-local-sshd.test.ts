/**
 * SshTransport against a throwaway sshd on 127.0.0.1 (a port of its own) with its own host key, authorized_keys
 * and two temporary sudo users. Needs root, /usr/sbin/sshd and sudo; skipped anywhere else.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh.js';
import { BecomeError, UnreachableError, type ConnectionSpec } from '../../../src/transport/types.js';

// several copies of the unit tests may run at once on one machine (one per worktree): each run has
// its own port, users and sudoers file
const RUN = randomBytes(3).toString('hex');
const PORT = 20000 + (parseInt(RUN, 16) % 20000);
const CLOSED = PORT + 1;
const NOPW_USER = `ss-t-nopw-${RUN}`;
const PW_USER = `ss-t-pw-${RUN}`;
const SUDOERS = `/etc/sudoers.d/zz-shipshape-transport-test-${RUN}`;
const PASSWORD = `Pw-${randomBytes(6).toString('hex')}'"$(x)`;

const usable = existsSync('/usr/sbin/sshd') && existsSync('/usr/bin/sudo') && process.getuid?.() === 0;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quietly = (f: () => unknown) => {
  try {
    f();
  } catch {
    // cleanup of something that may not exist
  }
};

const listening = (port: number) =>
  new Promise<boolean>((res) => {
    const s = connect(port, '127.0.0.1', () => (s.end(), res(true))).on('error', () => res(false));
  });

async function waitForPort(port: number, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await listening(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}:\n${log()}`);
}

describe.skipIf(!usable)('SshTransport against a local sshd', () => {
  let dir: string;
  let home: string;
  let sshd: ChildProcess;
  let sshdLog = '';
  let hostFingerprint: string;
  let hostPubLine: string;
  const notes: string[] = [];
  const transports: SshTransport[] = [];

  const spec = (over: Partial<ConnectionSpec> = {}): ConnectionSpec => ({
    name: 'lab1',
    host: '127.0.0.1',
    port: PORT,
    user: NOPW_USER,
    knownHostsFiles: [join(dir, 'known_hosts')],
    acceptNewHostKeys: false,
    connectTimeoutMs: 5000,
    kind: 'ssh',
    ...over,
  });
  const transport = (over: Partial<ConnectionSpec> = {}) => {
    const t = new SshTransport(spec(over), { home, agentSocket: null, log: (m) => notes.push(m) });
    transports.push(t);
    return t;
  };

  beforeAll(async () => {
    // a second copy of this test (or anything else) on the port would answer for our sshd
    if (await listening(PORT)) throw new Error(`port ${PORT} is already in use; is another run of this test active?`);
    dir = mkdtempSync(join(tmpdir(), 'sshd-'));
    chmodSync(dir, 0o755); // sshd reads authorized_keys as the logging-in user
    home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')]);
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'client', '-f', join(home, '.ssh', 'id_ed25519')]);
    hostFingerprint = sh('ssh-keygen', ['-lf', join(dir, 'host_ed25519.pub')]).split(' ')[1];
    hostPubLine = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(home, '.ssh', 'id_ed25519.pub')), { mode: 0o644 });
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `ListenAddress 127.0.0.1`,
        `HostKey ${join(dir, 'host_ed25519')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'StrictModes no',
        'UsePAM yes',
        // DEBUG1: sshd logs each global request a client sends (the host-key proof test reads it)
        'LogLevel DEBUG1',
      ].join('\n') + '\n',
    );
    for (const u of [NOPW_USER, PW_USER]) {
      quietly(() => sh('userdel', ['-r', u]));
      sh('useradd', ['-m', '-s', '/bin/sh', u]);
    }
    // both need a usable password: sshd refuses even key logins to locked ('!') accounts
    execFileSync('chpasswd', { input: `${PW_USER}:${PASSWORD}\n${NOPW_USER}:${randomBytes(9).toString('hex')}\n` });
    writeFileSync(SUDOERS, `${NOPW_USER} ALL=(ALL) NOPASSWD: ALL\n${PW_USER} ALL=(ALL) ALL\n`, { mode: 0o440 });
    sh('visudo', ['-cf', SUDOERS]);
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(PORT)], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr!.on('data', (b: Buffer) => (sshdLog += b.toString()));
    await waitForPort(PORT, () => sshdLog);
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close().catch(() => {})));
    if (sshd?.pid) sshd.kill('SIGTERM');
    quietly(() => rmSync(SUDOERS));
    for (const u of [NOPW_USER, PW_USER]) {
      // leftovers of the broken-connection test would make userdel refuse
      quietly(() => sh('ps', ['-u', u, '-o', 'pid=']).split(/\s+/).filter(Boolean).forEach((pid) => quietly(() => process.kill(Number(pid), 'SIGKILL'))));
      quietly(() => sh('userdel', ['-r', u]));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown host key, showing the fingerprint ssh-keygen shows', async () => {
    const err = await transport().connect().catch((e) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toContain(hostFingerprint);
    expect(err.hint).toMatch(/verify it.*--accept-new-host-keys/);
  });

  it('records a new key with accept-new, then trusts it without', async () => {
    const writeFile = join(dir, 'known_hosts');
    const first = transport({ acceptNewHostKeys: true, knownHostsWriteFile: writeFile });
    await first.connect();
    expect(readFileSync(writeFile, 'utf8')).toBe(`[127.0.0.1]:${PORT} ${hostPubLine}\n`);
    expect(notes.some((n) => n.includes('recorded new host key'))).toBe(true);
    const second = transport();
    expect((await second.run('echo ok')).stdout).toBe('ok\n');
  });

  it('asks sshd for no proof of the host keys it announces after login (sshd would sign with each)', async () => {
    const t = transport();
    const from = sshdLog.length;
    expect((await t.run('echo ok')).stdout).toBe('ok\n');
    await t.close();
    const log = sshdLog.slice(from);
    // the login happened and was logged at this level
    expect(log).toMatch(/Accepted publickey/);
    expect(log).not.toContain('hostkeys-prove-00@openssh.com');
  });

  it('refuses a changed host key loudly, naming the line to remove', async () => {
    const fake = ssh2.utils.generateKeyPairSync('ed25519').public.split(' ').slice(0, 2).join(' ');
    const tampered = join(dir, 'tampered_known_hosts');
    writeFileSync(tampered, `# comment\n[127.0.0.1]:${PORT} ${fake}\n`);
    const err = await transport({ knownHostsFiles: [tampered], acceptNewHostKeys: true }).connect().catch((e) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toMatch(new RegExp(`^HOST KEY FOR \\[127\\.0\\.0\\.1\\]:${PORT} CHANGED.*man-in-the-middle`));
    expect(err.message).toContain(hostFingerprint);
    expect(err.hint).toContain(`remove the old line 2 from ${tampered} with \`ssh-keygen -R '[127.0.0.1]:${PORT}' -f ${tampered}\``);
  });

  it('round-trips a 200 KB script byte-exact over one connection', async () => {
    const t = transport();
    const body = Array.from({ length: 2600 }, (_, i) => `${i} ${randomBytes(48).toString('base64')} it's "$(x)" \`y\` \\ é€`).join('\n');
    expect(body.length).toBeGreaterThan(200_000);
    const r = await t.run(`cat <<'SHIPSHAPE_EOF'\n${body}\nSHIPSHAPE_EOF\n`);
    expect(r).toEqual({ stdout: body + '\n', stderr: '', code: 0 });
    // same TCP connection for every run
    const ports = await Promise.all(Array.from({ length: 20 }, () => t.run('echo "$SSH_CONNECTION"')));
    expect(new Set(ports.map((p) => p.stdout)).size).toBe(1);
    expect(ports.every((p) => p.code === 0)).toBe(true);
  });

  const running = (pattern: string) => {
    try {
      return sh('pgrep', ['-f', pattern]).trim() !== '';
    } catch {
      return false;
    }
  };

  it('reports exit codes, and kills a timed-out script with everything it started', async () => {
    const t = transport();
    expect(await t.run('echo e >&2; exit 7')).toEqual({ stdout: '', stderr: 'e\n', code: 7 });
    const started = Date.now();
    const r = await t.run('sleep 31 & sleep 32; echo never', { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r).toMatchObject({ stdout: '', code: null });
    expect(r.stderr).toContain('killed after timeout of 300 ms');
    expect(running('^sleep 3[12]$')).toBe(false);
    const root = await t.run('sleep 33', { become: true, timeoutMs: 300 });
    expect(root.code).toBeNull();
    expect(running('^sleep 33$')).toBe(false);
  });

  it('gives a null code when the connection breaks mid-script, and reconnects for the next run', async () => {
    const t = transport();
    const first = await t.run('echo "$SSH_CONNECTION"');
    // killing the sshd process that serves this connection drops it under the running script
    const broken = await t.run(`p=$PPID; while [ "$(ps -o comm= -p $p)" != sshd ]; do p=$(ps -o ppid= -p $p | tr -d ' '); done; kill -9 $p; sleep 2`);
    expect(broken.code).toBeNull();
    const again = await t.run('echo "$SSH_CONNECTION"');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toBe(first.stdout);
  });

  it('becomes root with NOPASSWD sudo', async () => {
    const r = await transport().run(`id -u; echo "it's"`, { become: true });
    expect(r).toEqual({ stdout: "0\nit's\n", stderr: '', code: 0 });
  });

  it('becomes root with a sudo password that never shows up anywhere', async () => {
    const t = transport({ user: PW_USER, becomePassword: PASSWORD });
    const body = 'x'.repeat(100_000);
    const r = await t.run(`id -un\ncat <<'E' | wc -c\n${body}\nE\necho warn >&2`, { become: true });
    expect(r).toEqual({ stdout: 'root\n100001\n', stderr: 'warn\n', code: 0 });
    expect((await t.run('id -un')).stdout).toBe(`${PW_USER}\n`);
    for (const text of [JSON.stringify(r), notes.join('\n'), sshdLog]) expect(text).not.toContain(PASSWORD);
  });

  it('fails clearly on a wrong sudo password or none at all', async () => {
    const started = Date.now();
    const wrong = await transport({ user: PW_USER, becomePassword: 'nope' }).run('id', { become: true }).catch((e) => e);
    expect(wrong).toBeInstanceOf(BecomeError);
    expect(wrong.message).toContain(`sudo rejected the become password for ${PW_USER}@lab1`);
    expect(Date.now() - started).toBeLessThan(10_000);
    const none = await transport({ user: PW_USER }).run('id', { become: true }).catch((e) => e);
    expect(none).toBeInstanceOf(BecomeError);
    expect(none.hint).toBe(`set become_password for lab1 or give ${PW_USER} NOPASSWD sudo`);
  });

  it('explains auth failures and refused connections', async () => {
    const auth = await transport({ user: 'shipshape-t-nobody' }).connect().catch((e) => e);
    expect(auth).toBeInstanceOf(UnreachableError);
    expect(auth.message).toContain(`authentication failed for user shipshape-t-nobody at 127.0.0.1:${PORT}`);
    expect(auth.message).toContain(join(home, '.ssh', 'id_ed25519'));
    const refused = await transport({ port: CLOSED }).connect().catch((e) => e);
    expect(refused).toMatchObject({ name: 'UnreachableError', message: `connection refused by 127.0.0.1:${CLOSED}` });
  });

  it('ProxyJump: logs in to the bastion, then to the target through a channel from it (both host keys checked)', async () => {
    // the bastion and the target are the same local sshd: the target login goes bastion -> 127.0.0.1
    const through = transport({ jump: spec({ name: 'bastion' }) });
    expect((await through.run('echo "$SSH_CONNECTION"')).stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${PORT}`));
    await through.close();
    const badBastion = await transport({ jump: spec({ name: 'bastion', port: CLOSED }) }).connect().catch((e) => e);
    expect(badBastion).toBeInstanceOf(UnreachableError);
    expect(badBastion.message).toMatch(new RegExp(`cannot reach the bastion .*:${CLOSED} \\(ProxyJump in ~/.ssh/config\\): connection refused`));
    const unreachableTarget = await transport({ port: CLOSED, jump: spec({ name: 'bastion' }) }).connect().catch((e) => e);
    expect(unreachableTarget.message).toMatch(new RegExp(`the bastion .* could not connect to 127.0.0.1:${CLOSED}`));
  });
});

import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BecomeNegotiator } from '../../../src/transport/become.js';
import { feedScript } from '../../../src/transport/feed-script.js';
import { LocalTransport, spawnShell } from '../../../src/transport/local.js';
import { recordingSpec } from '../../../src/transport/recording.js';
import { killScript, newRunTokens, runCommand, type RunTokens } from '../../../src/transport/run-command.js';
import { BecomeError } from '../../../src/transport/types.js';

const tokens: RunTokens = { prompt: '[pw-abc] ', marker: 'READY_abc', runId: 'r1' };
const ctx = { host: 'web', user: 'deploy', hasPassword: true };

describe('runCommand', () => {
  it('tags the shell with the run id, uses -n without a password and -S -p with one, in POSIX quoting', () => {
    expect(runCommand(tokens, 'none')).toBe('env SHIPSHAPE_RUN=r1 sh -s');
    expect(runCommand(tokens, 'sudo')).toBe(
      `sudo -n -- sh -c 'printf '\\''%s\\n'\\'' READY_abc >&2; SSH_CONNECTION="$1"; SHIPSHAPE_RUN=r1; export SSH_CONNECTION SHIPSHAPE_RUN; exec sh -s' shipshape "$SSH_CONNECTION"`,
    );
    expect(runCommand(tokens, 'sudo-password')).toMatch(/^sudo -S -p '\[pw-abc\] ' -- sh -c /);
  });

  it('makes fresh tokens without % (sudo expands %-escapes in prompts)', () => {
    const a = newRunTokens();
    expect(a.prompt).not.toContain('%');
    expect(newRunTokens().marker).not.toBe(a.marker);
  });
});

describe('killScript', () => {
  it('kills every process carrying the run id, and nothing else', async () => {
    const local = new LocalTransport({ ...recordingSpec('localhost'), kind: 'local' });
    const victim = spawnShell(`exec env SHIPSHAPE_RUN=victim sh -c 'sleep 60 & sleep 60 & wait'`);
    const bystander = spawnShell(`exec env SHIPSHAPE_RUN=victim2 sleep 60`);
    await new Promise((r) => setTimeout(r, 200));
    expect((await local.run(killScript('victim'))).code).toBe(0);
    expect(await victim.done).toEqual({ code: null });
    const alive = await Promise.race([bystander.done.then(() => false), new Promise((r) => setTimeout(() => r(true), 300))]);
    expect(alive).toBe(true);
    bystander.kill();
  });
});

describe('BecomeNegotiator', () => {
  it('is ready on the marker alone (NOPASSWD or cached credentials) and passes later stderr through', () => {
    const n = new BecomeNegotiator(tokens, ctx);
    expect(n.feed('READY_abc\nscript says hi\n')).toEqual([{ type: 'ready', stderr: 'script says hi\n' }]);
    expect(n.isReady).toBe(true);
    expect(n.feed('more')).toEqual([]);
  });

  it('asks for the password once on a prompt split across chunks, keeps sudo chatter aside', () => {
    const n = new BecomeNegotiator(tokens, ctx);
    expect(n.feed('We trust you have received the usual lecture\n[pw-')).toEqual([]);
    expect(n.feed('abc] ')).toEqual([{ type: 'send-password' }]);
    expect(n.feed('\nREADY_a')).toEqual([]);
    expect(n.feed('bc\n')).toEqual([{ type: 'ready', stderr: '' }]);
    expect(n.sudoNoise).toContain('usual lecture');
    expect(n.sudoNoise).not.toContain('[pw-abc]');
  });

  it('fails on a second prompt instead of answering again', () => {
    const n = new BecomeNegotiator(tokens, ctx);
    n.feed('[pw-abc] ');
    const ev = n.feed('\nSorry, try again.\n[pw-abc] ');
    expect(ev).toEqual([{ type: 'fail', message: 'sudo rejected the become password for deploy@web', hint: expect.stringContaining('become_password') }]);
    expect(n.feed('READY_abc\n')).toEqual([]);
  });

  it('fails on a prompt when there is no password to give', () => {
    const n = new BecomeNegotiator(tokens, { ...ctx, hasPassword: false });
    const [ev] = n.feed('[pw-abc] ');
    expect(ev).toMatchObject({ type: 'fail', hint: 'set become_password for web or give deploy NOPASSWD sudo' });
  });

  it.each([
    ['sudo: a password is required\n', 1, /asked for a password/, /NOPASSWD/],
    ['[pw-abc] \nsudo: 1 incorrect password attempt\n', 1, /rejected the become password/, /become_password/],
    ['deploy is not in the sudoers file.\n', 1, /may not use sudo/, /allow deploy/],
    ['sudo: sorry, you must have a tty to run sudo\n', 1, /requires a tty/, /requiretty/],
    ['sh: 1: sudo: not found\n', 127, /not installed/, /install sudo/],
    ['', 1, /exit code 1/, /sudo sh/],
  ])('explains an early exit: %j', (said, code, message, hint) => {
    const n = new BecomeNegotiator(tokens, ctx);
    n.feed(said);
    const e = n.explainEarlyExit(code);
    expect(e.message).toMatch(message);
    expect(e.hint).toMatch(hint);
    expect(e.message).not.toContain('[pw-abc]');
  });
});

/** A sudo stand-in with the same stdin/stderr behaviour, so the protocol is exercised end to end. */
const FAKE_SUDO = `#!/bin/sh
mode=; prompt=
while [ $# -gt 0 ]; do
  case "$1" in
    -n) mode=n; shift;;
    -S) mode=S; shift;;
    -p) prompt=$2; shift 2;;
    --) shift; break;;
    *) break;;
  esac
done
[ -n "$FAKE_SUDO_LECTURE" ] && echo "$FAKE_SUDO_LECTURE" >&2
[ "$FAKE_SUDO_NOPASSWD" = 1 ] && exec "$@"
if [ "$mode" = n ]; then echo "sudo: a password is required" >&2; exit 1; fi
tries=0
while [ $tries -lt 3 ]; do
  printf '%s' "$prompt" >&2
  IFS= read -r pw || { echo "sudo: no password was provided" >&2; exit 1; }
  [ "$pw" = "$FAKE_SUDO_PASSWORD" ] && exec "$@"
  echo "Sorry, try again." >&2
  tries=$((tries + 1))
done
echo "sudo: 3 incorrect password attempts" >&2
exit 1
`;

describe('become protocol against a fake sudo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fakesudo-'));
  writeFileSync(join(dir, 'sudo'), FAKE_SUDO);
  chmodSync(join(dir, 'sudo'), 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const secret = `pa'ss"$(touch ${dir}/pwned) \\word`;
  const script = `echo "out:$(printf '%s' "it's")"\necho err >&2\nexit 3\n`;

  async function become(env: Record<string, string>, password?: string) {
    const t = newRunTokens();
    const noise: string[] = [];
    const result = feedScript(spawnShell(runCommand(t, password !== undefined ? 'sudo-password' : 'sudo'), { ...process.env, PATH: `${dir}:/usr/bin:/bin`, ...env }), {
      host: 'web',
      script,
      become: { negotiator: new BecomeNegotiator(t, { host: 'web', user: 'deploy', hasPassword: password !== undefined }), password, timeoutMs: 5000 },
      onSudoNoise: (s) => noise.push(s),
    });
    return { result, noise };
  }

  it('runs the script with NOPASSWD and no password', async () => {
    const { result, noise } = await become({ FAKE_SUDO_NOPASSWD: '1', FAKE_SUDO_LECTURE: 'lecture' });
    expect(await result).toEqual({ stdout: "out:it's\n", stderr: 'err\n', code: 3 });
    expect(noise.join()).toContain('lecture');
  });

  it('sends the password once, then the script; neither prompt nor password leaks', async () => {
    const { result } = await become({ FAKE_SUDO_PASSWORD: secret }, secret);
    const r = await result;
    expect(r).toEqual({ stdout: "out:it's\n", stderr: 'err\n', code: 3 });
    expect(JSON.stringify(r)).not.toContain("pa'ss");
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('fails fast and clearly on a wrong password', async () => {
    const started = Date.now();
    const { result } = await become({ FAKE_SUDO_PASSWORD: 'right' }, 'wrong');
    await expect(result).rejects.toThrow(BecomeError);
    await expect(result).rejects.toThrow('sudo rejected the become password for deploy@web');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('fails with the NOPASSWD hint when sudo needs a password we do not have', async () => {
    const { result } = await become({});
    await expect(result).rejects.toMatchObject({ name: 'BecomeError', message: expect.stringContaining('asked for a password'), hint: expect.stringContaining('NOPASSWD') });
  });

  it('says so when sudo is missing', async () => {
    const t = newRunTokens();
    const r = feedScript(spawnShell(runCommand(t, 'sudo'), { PATH: join(dir, 'empty') }), {
      host: 'web',
      script,
      become: { negotiator: new BecomeNegotiator(t, { host: 'web', user: 'deploy', hasPassword: false }), timeoutMs: 5000 },
    });
    await expect(r).rejects.toThrow('sudo is not installed on web');
  });

  it('gives up when sudo neither prompts nor starts the shell', async () => {
    const t = newRunTokens();
    const r = feedScript(spawnShell('sleep 30'), {
      host: 'web',
      script,
      become: { negotiator: new BecomeNegotiator(t, ctx), password: 'x', timeoutMs: 300 },
    });
    await expect(r).rejects.toThrow(/neither asked for a password nor started a shell/);
  });
});

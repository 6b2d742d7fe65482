import { describe, expect, it } from 'vitest';
import { createTransport, LocalTransport, RecordingTransport, recordingSpec, okResult } from '../../../src/transport/index.js';
import type { ConnectionSpec } from '../../../src/transport/types.js';

const spec: ConnectionSpec = { ...recordingSpec('localhost'), kind: 'local' };

describe('LocalTransport', () => {
  const t = new LocalTransport(spec);

  it('feeds hostile content to /bin/sh unchanged', async () => {
    const nasty = `it's "quoted" $(whoami) \`id\` $HOME \\ back\\slash\nsecond line\n\ttab; rm -rf /nope`;
    // a quoted heredoc is the renderer's job; here we check the transport adds nothing and loses nothing
    const script = `cat <<'SHIPSHAPE_EOF'\n${nasty}\nSHIPSHAPE_EOF\nprintf '%s' "$0" >&2\n`;
    const r = await t.run(script);
    expect(r).toEqual({ stdout: `${nasty}\n`, stderr: 'sh', code: 0 });
  });

  it('reports the exit code and keeps stdout and stderr apart', async () => {
    expect(await t.run('echo a; echo b >&2; exit 42')).toEqual({ stdout: 'a\n', stderr: 'b\n', code: 42 });
  });

  it('runs dash semantics: no bash-only $"..." expansion', async () => {
    const r = await t.run(`printf '%s' $'x'`);
    expect(r.stdout).toBe('$x');
  });

  it('decodes multibyte UTF-8 split across chunks and large outputs', async () => {
    const r = await t.run(`i=0; while [ $i -lt 20000 ]; do printf 'é€'; i=$((i+1)); done`);
    expect(r.stdout).toBe('é€'.repeat(20000));
  });

  it('survives a script that exits before reading all of stdin', async () => {
    const r = await t.run('exit 5\n' + '#'.repeat(1 << 20));
    expect(r.code).toBe(5);
  });

  it('kills on timeout, children included, and says so', async () => {
    const started = Date.now();
    const r = await t.run('sleep 20 & sleep 20; echo never', { timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.code).toBeNull();
    expect(r.stderr).toContain('killed after timeout of 200 ms');
    expect(r.stdout).toBe('');
  });

  it('runs become as root without sudo when already root', async () => {
    if (process.getuid?.() !== 0) return;
    expect((await t.run('id -u', { become: true })).stdout).toBe('0\n');
  });
});

describe('createTransport', () => {
  it('picks by kind', () => {
    expect(createTransport(spec)).toBeInstanceOf(LocalTransport);
    expect(createTransport({ ...spec, kind: 'ssh' }).constructor.name).toBe('SshTransport');
  });
});

describe('RecordingTransport', () => {
  it('records scripts and options and answers from a responder', async () => {
    const t = new RecordingTransport((script) => okResult(script.toUpperCase()));
    expect(await t.run('echo hi', { become: true })).toEqual({ stdout: 'ECHO HI', stderr: '', code: 0 });
    expect(t.calls).toEqual([{ script: 'echo hi', opts: { become: true } }]);
  });

  it('hands out canned results in order and complains when they run out', async () => {
    const t = new RecordingTransport([okResult('1'), { stdout: '', stderr: 'no', code: 1 }]);
    await t.connect();
    expect((await t.run('a')).stdout).toBe('1');
    expect((await t.run('b')).code).toBe(1);
    await expect(t.run('c')).rejects.toThrow(/no canned result left/);
    expect(t.scripts).toEqual(['a', 'b', 'c']);
    expect(t.connected).toBe(true);
  });
});

/**
 * Issue 15: a user's authorized_keys is read by the play's one stat and head at ~USER/.ssh (the host's
 * shell expands it through getpwnam: no process), its home found by the account's one getent. Each case
 * must answer what authorizedKeysOf's own script prints alone. The accounts live in a passwd file of the
 * test's own, bind-mounted over /etc/passwd in a private mount namespace (root and unshare: skipped elsewhere).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { fileContent } from '../../../src/facts/file.js';
import { CONTENT_LIMIT } from '../../../src/facts/file-batch.js';
import { sysctlValue } from '../../../src/facts/sysctl.js';
import { authorizedKeysOf, passwdEntry, type AuthorizedKeysFile } from '../../../src/facts/users.js';
import { alone } from '../helpers/probe.js';

const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;
const hasStrace = spawnSync('sh', ['-c', 'command -v strace']).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'ss-keys-'));
const KEYS = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1x a@b\n@@pw bob\nbob:x:0:0::/root:/bin/sh\n\n==> ${dir}/other <==\n`;
const home = (name: string) => join(dir, name);
/** name -> home field, and what is in it */
const ACCOUNTS: [string, string, (h: string) => void][] = [
  ['plain', home('plain'), (h) => keys(h, KEYS)],
  ['nossh', home('nossh'), (h) => mkdirSync(h)],
  ['nofile', home('nofile'), (h) => mkdirSync(join(h, '.ssh'), { recursive: true })],
  ['link', home('link'), (h) => (mkdirSync(join(h, '.ssh'), { recursive: true }), symlinkSync('/etc/hostname', join(h, '.ssh/authorized_keys')))],
  ['linkdir', home('linkdir'), (h) => (keys(home('elsewhere'), KEYS), mkdirSync(h), symlinkSync(join(home('elsewhere'), '.ssh'), join(h, '.ssh')))],
  ['big', home('big'), (h) => keys(h, 'x'.repeat(CONTENT_LIMIT + 10))],
  ['empty-file', home('empty-file'), (h) => keys(h, '')],
  ['isdir', home('isdir'), (h) => mkdirSync(join(h, '.ssh/authorized_keys'), { recursive: true })],
  ['spaced', home('a home'), (h) => keys(h, KEYS)],
  ['slash', `${home('slash')}/`, (h) => keys(h, 'ssh-ed25519 AAAA slash\n')],
  ['nohome', '', () => {}],
  ['relative', 'relative-home', () => {}],
  ['gone', home('gone'), () => {}],
];
function keys(h: string, text: string) {
  mkdirSync(join(h, '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(h, '.ssh/authorized_keys'), text, { mode: 0o600 });
}
if (canUnshare) {
  for (const [, h, make] of ACCOUNTS) make(h);
  writeFileSync(join(dir, 'other'), 'other file\n');
  const passwd = readFileSync('/etc/passwd', 'utf8') + ACCOUNTS.map(([n, h], i) => `${n}:x:${5000 + i}:${5000 + i}::${h}:/bin/sh\n`).join('');
  writeFileSync(join(dir, 'passwd'), passwd);
}

/** The probes in one batch script, run with the test's accounts; strace's count of each program it started. */
function run(probes: Probe[], trace = false): { answers: unknown[]; started: Record<string, number>; measured: boolean } {
  const nonce = newNonce();
  const batch = { probes };
  const log = join(dir, `trace-${nonce}`);
  const inner = ['sh', '-c', 'mount --bind "$1" /etc/passwd && exec sh -c "$2"', 'sh', join(dir, 'passwd'), renderBatch(batch, nonce)];
  const argv = trace ? ['strace', '-f', '-qq', '-e', 'trace=execve', '-o', log, 'unshare', '-m', ...inner] : ['unshare', '-m', ...inner];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = parseBatch(r.stdout, batch, nonce);
  const started: Record<string, number> = {};
  if (trace) {
    for (const m of readFileSync(log, 'utf8').matchAll(/execve\("[^"]*\/([^/"]+)"[^\n]*= 0$/gm)) started[m[1]] = (started[m[1]] ?? 0) + 1;
  }
  const answers = probes.map((p) => {
    const s = out.probes.get(p.id)!;
    return p.parse(s.stdout, s.code);
  });
  return { answers, started, measured: out.factScript !== undefined };
}

describe.skipIf(!canUnshare)("authorized_keys through the play's one stat and head", () => {
  const names = [...ACCOUNTS.map(([n]) => n), 'no-such-user-ss'];

  it.each(names)('%s: the batched answer is what the probe prints alone', (name) => {
    const batched = run([authorizedKeysOf(name), passwdEntry(name), fileContent(join(dir, 'other'))]).answers[0];
    expect(batched).toEqual(run([alone(authorizedKeysOf(name))]).answers[0]);
  });

  it('every account at once, beside other files and a sysctl, reads what each alone reads', () => {
    const probes: Probe[] = [...names.flatMap((n) => [passwdEntry(n), authorizedKeysOf(n)]), fileContent(join(dir, 'other')), sysctlValue('kernel.ostype')];
    const { answers: batched, measured } = run(probes);
    // the shell variables the reads use leave the script's own alone (its self-measurement)
    expect(measured).toBe(true);
    expect(batched).toEqual(probes.map((p) => run([alone(p)]).answers[0]));
    const byName = Object.fromEntries(names.map((n, i) => [n, batched[2 * i + 1] as AuthorizedKeysFile]));
    expect(byName.plain.file).toMatchObject({ type: 'file', mode: '600', content: KEYS });
    expect(byName.plain.dir).toMatchObject({ type: 'directory', mode: '700' });
    expect(byName.link.file).toEqual({ exists: true, type: 'link', mode: '777', owner: 'root', group: 'root', size: '/etc/hostname'.length });
    expect(byName.linkdir.file).toMatchObject({ type: 'file', content: KEYS });
    expect(byName.linkdir.dir).toMatchObject({ type: 'link' });
    expect(byName.big.file).toMatchObject({ type: 'file', size: CONTENT_LIMIT + 10 });
    expect(byName.big.file.content).toBeUndefined();
    expect(byName['empty-file'].file).toMatchObject({ type: 'file', content: '' });
    expect(byName.isdir.file).toMatchObject({ type: 'directory' });
    expect(byName.spaced).toMatchObject({ path: `${home('a home')}/.ssh/authorized_keys`, file: { content: KEYS } });
    expect(byName.slash.path).toBe(`${home('slash')}//.ssh/authorized_keys`);
    expect(byName.nohome).toEqual({ dir: { exists: false }, file: { exists: false } });
    expect(byName.relative.path).toBe('relative-home/.ssh/authorized_keys');
    expect(byName.gone).toMatchObject({ path: `${home('gone')}/.ssh/authorized_keys`, dir: { exists: false }, file: { exists: false } });
    expect(batched.at(-1)).toBe('Linux');
  });

  it.skipIf(!hasStrace)("accounts with plain homes cost one getent for all: the stat and head are the play's own, and sysctl joins the head", () => {
    const probes: Probe[] = [passwdEntry('plain'), authorizedKeysOf('plain'), authorizedKeysOf('nofile'), passwdEntry('no-such-user-ss'), fileContent(join(dir, 'other')), sysctlValue('kernel.ostype')];
    const { answers, started } = run(probes, true);
    expect((answers[1] as AuthorizedKeysFile).file.content).toBe(KEYS);
    expect((answers[2] as AuthorizedKeysFile).dir).toMatchObject({ type: 'directory' });
    expect(answers.at(-1)).toBe('Linux');
    expect(started).toMatchObject({ getent: 1, stat: 1, sha256sum: 1, head: 1 });
    expect(started.sysctl).toBeUndefined();
  });
});

/**
 * The sshd fact script itself, run by the local sh (dash, as on the hosts) over a temporary tree in place of
 * /etc/ssh: which files it reads when Includes nest (relative ones under the config directory, globs, a loop),
 * and when the listening sshd last read them. `sshd` is a stand-in on PATH printing a recorded kind of answer;
 * the listener is a process named sshd (a copy of sleep), its pid in the pid file sshd -T names.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { changedSinceLoad, parseSshdFiles, sshdFilesScript, walk, type SshdFiles } from '../../../src/facts/sshd.js';

let root: string;
let listener: ChildProcess;

/** A file's text, written now (its change time is now). */
const put = (rel: string, text: string) => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
};

/** sshd -T as a stand-in: a good answer naming the pid file, or a refusal when `refuse` exists. */
function fakeSshd(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const script = [
    '#!/bin/sh',
    `if [ -e ${dir}/refuse ]; then echo "${dir}/etc/sshd_config line 3: Bad configuration option: Frobnicate" >&2; echo "${dir}/etc/sshd_config: terminating, 1 bad configuration options" >&2; exit 255; fi`,
    `printf 'port 22\\npasswordauthentication no\\npidfile %s\\nmaxauthtries 3\\n' ${dir}/run/sshd.pid`,
  ].join('\n');
  writeFileSync(join(bin, 'sshd'), script + '\n', { mode: 0o755 });
  return bin;
}

function gather(bin: string): SshdFiles {
  const p = probe('sshd:files:test', sshdFilesScript(join(root, 'etc')), parseSshdFiles, { inline: true });
  const batch = { probes: [p] };
  const nonce = newNonce();
  const script = renderBatch(batch, nonce).replace(/^(export PATH=.*)$/m, `$1\nexport PATH=${bin}:$PATH`);
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, SUDO_USER: 'deploy', SSH_CONNECTION: '10.99.0.1 40000 10.99.0.11 22' } });
  const section = parseBatch(r.stdout, batch, nonce).probes.get(p.id)!;
  return p.parse(section.stdout, section.code);
}

/** Distinct change times without depending on a clock's resolution: wait until a new file's time differs. */
function tick(): void {
  const probeFile = join(root, 'tick');
  const t0 = spawnSync('stat', ['-c', '%.9Z', '--', join(root, 'run', 'sshd.pid')], { encoding: 'utf8' }).stdout.trim();
  for (let i = 0; i < 1000; i++) {
    writeFileSync(probeFile, String(i));
    if (spawnSync('stat', ['-c', '%.9Z', '--', probeFile], { encoding: 'utf8' }).stdout.trim() > t0) return;
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ss-sshd-files-'));
  const etc = join(root, 'etc');
  put('etc/sshd_config', `Include ${etc}/sshd_config.d/*.conf\nInclude nested/a.conf\nPasswordAuthentication no\n`);
  put('etc/sshd_config.d/50-cloud.conf', 'X11Forwarding no\n');
  // a relative Include, then a glob two levels down, then a loop back up
  put('etc/nested/a.conf', `Include ${etc}/deeper/*.conf\n`);
  put('etc/deeper/10-x.conf', 'PasswordAuthentication yes\n');
  put('etc/deeper/20-y.conf', `Include ${etc}/nested/a.conf\n`);
  // a listening "sshd": a process of that name whose pid is in the pid file
  mkdirSync(join(root, 'listener'));
  copyFileSync('/bin/sleep', join(root, 'listener', 'sshd'));
  listener = spawn(join(root, 'listener', 'sshd'), ['300'], { stdio: 'ignore' });
  tick();
  put('run/sshd.pid', `${listener.pid}\n`);
});

afterAll(() => {
  listener?.kill();
});

describe('the sshd fact script', () => {
  it('reads every file an Include names, nested ones too, each once (a loop ends)', () => {
    const f = gather(fakeSshd(root));
    const etc = join(root, 'etc');
    expect(f.files.map((x) => x.path).sort()).toEqual(
      [`${etc}/sshd_config`, `${etc}/sshd_config.d/50-cloud.conf`, `${etc}/nested/a.conf`, `${etc}/deeper/10-x.conf`, `${etc}/deeper/20-y.conf`].sort(),
    );
    expect(f.files.find((x) => x.path.endsWith('10-x.conf'))!.content).toBe('PasswordAuthentication yes\n');
    // sshd's answer for this connection: the user sudo was called by, the address sshd saw
    expect(f.effective).toEqual({ user: 'deploy', addr: '10.99.0.1', settings: { port: ['22'], passwordauthentication: ['no'], pidfile: [`${root}/run/sshd.pid`], maxauthtries: ['3'] } });
    expect(f.refused).toBeUndefined();
  });

  it('prints each file exactly as `tail -v` would (blank lines at the end, no final newline) and follows Include as sshd spells it', () => {
    const etc = join(root, 'spelled');
    const files: Record<string, string> = {
      'sshd_config': `  include=${etc}/a.conf\n\tINCLUDE \t ${etc}/b.conf   ${etc}/c.conf\nIncludes ${etc}/not.conf\n# Include ${etc}/not.conf\nPort 22\n\n\n`,
      'a.conf': 'MaxAuthTries 3',
      'b.conf': 'X11Forwarding no\n\n',
      'c.conf': 'Port 2222\n',
      'not.conf': 'PasswordAuthentication yes\n',
    };
    for (const [name, text] of Object.entries(files)) put(`spelled/${name}`, text);
    const p = probe('sshd:files:spelled', sshdFilesScript(etc), parseSshdFiles, { inline: true });
    const nonce = newNonce();
    const script = renderBatch({ probes: [p] }, nonce).replace(/^(export PATH=.*)$/m, `$1\nexport PATH=${fakeSshd(join(root, 'spelled-bin'))}:$PATH`);
    const out = parseBatch(spawnSync('sh', ['-c', script], { encoding: 'utf8' }).stdout, { probes: [p] }, nonce).probes.get(p.id)!.stdout;
    const read = ['sshd_config', 'a.conf', 'b.conf', 'c.conf'].map((n) => join(etc, n));
    const tail = spawnSync('sh', ['-c', 'tail -v -n +1 -- "$@"; echo', 'sh', ...read], { encoding: 'utf8' }).stdout;
    expect(out.startsWith(tail)).toBe(true);
    expect(out.slice(tail.length)).not.toContain('==> ');
    expect(parseSshdFiles(out).files.map((f) => f.path)).toEqual(read);
  });

  it('the walk attributes a directive two Includes down to its own file and line', () => {
    const f = gather(fakeSshd(root));
    const etc = join(root, 'etc');
    // the walker resolves relative Includes under /etc/ssh as sshd does: the tree's relative one is spelled out here
    const files = f.files.map((x) => (x.path === `${etc}/sshd_config` ? { ...x, content: x.content.replace('Include nested/a.conf', `Include ${etc}/nested/a.conf`) } : x));
    const w = walk(files, `${etc}/sshd_config`);
    expect(w.directives.find((d) => d.key === 'passwordauthentication')).toMatchObject({ value: 'yes', file: `${etc}/deeper/10-x.conf`, line: 1, matches: [] });
    // the loop (20-y.conf includes a.conf again) is read until sshd's depth limit, where sshd refuses the configuration
    expect(w.tooDeep).toMatchObject({ file: `${etc}/deeper/20-y.conf` });
  });

  it('knows when the listening sshd last read its configuration, and what changed after that', () => {
    const bin = fakeSshd(root);
    const before = gather(bin);
    expect(before.running).toMatchObject({ pid: listener.pid });
    // the pid file was written after every file: nothing is newer than what sshd runs
    expect(changedSinceLoad({ ...before, files: before.files })).toEqual([]);
    tick();
    put('etc/deeper/10-x.conf', 'PasswordAuthentication yes\nMaxAuthTries 9\n');
    const after = gather(bin);
    expect(after.running!.changed.find((c) => c.path.endsWith('10-x.conf'))!.at).toBeGreaterThan(after.running!.loadedAt);
    // the glob's directory is watched too: a drop-in added or removed changes it
    expect(after.running!.changed.map((c) => c.path)).toContain(join(root, 'etc', 'deeper'));
  });

  it('no listener, no claim: a pid file naming no sshd process is ignored', () => {
    put('run/sshd.pid', '999999999\n');
    expect(gather(fakeSshd(root)).running).toBeUndefined();
    put('run/sshd.pid', `${listener.pid}\n`);
  });

  it('a configuration sshd refuses: its message, and no answer taken for the settings', () => {
    writeFileSync(join(root, 'refuse'), '');
    try {
      const f = gather(fakeSshd(root));
      expect(f.refused).toMatch(/Bad configuration option: Frobnicate\n.*terminating, 1 bad configuration options$/);
      expect(f.effective).toBeUndefined();
      // still known: the files, and (from the default pid file only) no listener here
      expect(f.files.length).toBe(5);
    } finally {
      spawnSync('rm', ['-f', join(root, 'refuse')]);
    }
  });
});

/**
 * Issue 15: Caddy's loaded-config check takes the time of its autosave.json from the play's one `stat` where the
 * unit's user is `caddy` with no HOME or XDG_CONFIG_HOME (Debian's and Caddy's own packages): no `stat` of its
 * own. Any other autosave path is stat'ed by the check itself, as before. Each case must answer what the probe's
 * own script prints alone. A `caddy` account lives in a passwd file of the test's own, bind-mounted over
 * /etc/passwd in a private mount namespace, and systemctl is a fake (root, unshare and strace: skipped elsewhere).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { caddyLoaded, type CaddyLoaded } from '../../../src/facts/caddy.js';
import { fileContent } from '../../../src/facts/file.js';
import { unitState } from '../../../src/facts/systemd.js';
import { alone } from '../helpers/probe.js';

const canRun = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0 && spawnSync('sh', ['-c', 'command -v strace']).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'ss-caddy-autosave-'));
const HOME = join(dir, 'caddy-home');
const CADDYFILE = join(dir, 'Caddyfile');

/** a systemctl whose caddy unit has this User= and Environment= (one block per unit after --, as systemctl prints) */
function fakeSystemctl(user: string, env: string): string {
  const bin = mkdtempSync(join(dir, 'bin-'));
  writeFileSync(
    join(bin, 'systemctl'),
    [
      '#!/bin/sh',
      'while [ "$1" != -- ]; do shift; done; shift; sep=',
      `for u; do printf "$sep"; sep='\\n'; case $u in caddy) printf 'Id=caddy.service\\nLoadState=loaded\\nActiveState=active\\nSubState=running\\nMainPID=7\\nUser=${user}\\nEnvironment=${env}\\n';; *) printf 'Id=%s.service\\nLoadState=loaded\\nActiveState=active\\nMainPID=9\\n' "$u";; esac; done`,
    ].join('\n'),
  );
  chmodSync(join(bin, 'systemctl'), 0o755);
  return bin;
}

if (canRun) {
  mkdirSync(join(HOME, '.config/caddy'), { recursive: true });
  writeFileSync(join(HOME, '.config/caddy/autosave.json'), '{}');
  spawnSync('touch', ['-d', '2026-01-01 00:00:00 UTC', join(HOME, '.config/caddy/autosave.json')]);
  mkdirSync(join(dir, 'xdg/caddy'), { recursive: true });
  writeFileSync(join(dir, 'xdg/caddy/autosave.json'), '{}');
  spawnSync('touch', ['-d', '2026-02-01 00:00:00 UTC', join(dir, 'xdg/caddy/autosave.json')]);
  mkdirSync(join(dir, 'root-home/.config/caddy'), { recursive: true });
  writeFileSync(join(dir, 'root-home/.config/caddy/autosave.json'), '{}');
  writeFileSync(CADDYFILE, 'example.com {\n  respond hi\n}\n');
  spawnSync('touch', ['-d', '2026-03-01 00:00:00 UTC', CADDYFILE]);
  writeFileSync(join(dir, 'passwd'), `${readFileSync('/etc/passwd', 'utf8')}caddy:x:5990:5990::${HOME}:/usr/sbin/nologin\n`);
}

/** The probes in one batch script with the test's caddy account; strace's count of each program it started. */
function run(probes: Probe[], bin: string) {
  const nonce = newNonce();
  const batch = { probes };
  const log = join(dir, `trace-${nonce}`);
  const script = renderBatch(batch, nonce).replace(/^(export PATH=.*)$/m, `$1\nexport PATH=${bin}:$PATH`);
  const inner = ['sh', '-c', 'mount --bind "$1" /etc/passwd && exec sh -c "$2"', 'sh', join(dir, 'passwd'), script];
  // one trace file per process (-ff): the lanes run at once, and a shared file would split their lines
  spawnSync('strace', ['-ff', '-qq', '-e', 'trace=execve', '-o', log, 'unshare', '-m', ...inner], { encoding: 'utf8' });
  const r = spawnSync('unshare', ['-m', ...inner], { encoding: 'utf8' });
  const out = parseBatch(r.stdout, batch, nonce);
  const started: Record<string, number> = {};
  const traces = readdirSync(dir).filter((f) => f.startsWith(`trace-${nonce}.`));
  for (const f of traces) for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/execve\("[^"]*\/([^/"]+)"[^\n]*= 0$/gm)) started[m[1]] = (started[m[1]] ?? 0) + 1;
  const s = out.probes.get(probes[0].id)!;
  return { fact: probes[0].parse(s.stdout, s.code) as CaddyLoaded, started };
}

describe.skipIf(!canRun)("Caddy's autosave.json time", () => {
  // the play's other reads: a unit, a file (so the one stat and the one systemctl show are there anyway)
  const play = (p: Probe) => [p, unitState('ssh'), fileContent(join(dir, 'other'))];

  it("comes from the play's one stat for Debian's unit (User=caddy, no HOME or XDG_CONFIG_HOME): no stat of its own", () => {
    const bin = fakeSystemctl('caddy', '');
    const batched = run(play(caddyLoaded('caddy', [CADDYFILE])), bin);
    const own = run([alone(caddyLoaded('caddy', [CADDYFILE]))], bin);
    expect(batched.fact).toEqual(own.fact);
    expect(batched.fact).toMatchObject({ autosave: join(HOME, '.config/caddy/autosave.json'), loadedAt: '2026-01-01 00:00:00 +0000', newer: [CADDYFILE] });
    // the play's one stat and nothing else: no stat of autosave.json
    expect(batched.started.stat).toBe(1);
    expect(own.started.stat).toBe(1);
  });

  it('is read by the check itself for any other autosave path (XDG_CONFIG_HOME, another user), the same answer as alone', () => {
    for (const bin of [fakeSystemctl('caddy', `XDG_CONFIG_HOME=${join(dir, 'xdg')}`), fakeSystemctl('root', `HOME=${join(dir, 'root-home')}`)]) {
      const batched = run(play(caddyLoaded('caddy', [CADDYFILE])), bin);
      expect(batched.fact).toEqual(run([alone(caddyLoaded('caddy', [CADDYFILE]))], bin).fact);
      expect(batched.started, JSON.stringify(batched.fact)).toMatchObject({ stat: 2 });
    }
    const xdg = run(play(caddyLoaded('caddy', [CADDYFILE])), fakeSystemctl('caddy', `XDG_CONFIG_HOME=${join(dir, 'xdg')}`));
    expect(xdg.fact.loadedAt).toBe('2026-02-01 00:00:00 +0000');
  });

  it('no autosave.json: no time, whoever would have read it', () => {
    const bin = fakeSystemctl('caddy', `XDG_CONFIG_HOME=${join(dir, 'none')}`);
    expect(run(play(caddyLoaded('caddy', [CADDYFILE])), bin).fact.loadedAt).toBeUndefined();
  });
});

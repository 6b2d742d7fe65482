import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caddyLoaded } from '../../../src/facts/caddy.js';

/**
 * Which watched files changed after Caddy's last config load (its autosave.json): judged with dash's -nt, find
 * only where a link is involved. Runs for real through /bin/sh, systemctl answered by a stand-in that points
 * Caddy's config home at a scratch directory, and find's runs logged.
 */
function loaded(setup: (dir: string, autosave: string) => string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'ss-caddy-newer-'));
  const autosave = join(dir, 'caddy', 'autosave.json');
  mkdirSync(join(dir, 'caddy'));
  writeFileSync(autosave, '{}');
  const at = new Date('2026-01-01T00:00:00.500Z');
  utimesSync(autosave, at, at);
  const files = setup(dir, autosave);
  const bin = mkdtempSync(join(tmpdir(), 'ss-caddy-bin-'));
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\nprintf 'LoadState=loaded\\nActiveState=active\\nMainPID=1\\nUser=caddy\\nEnvironment=XDG_CONFIG_HOME=${dir}\\n'\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'find'), `#!/bin/sh\necho find >> ${join(bin, 'log')}\nexec /usr/bin/find "$@"\n`, { mode: 0o755 });
  const r = spawnSync('/bin/sh', ['-c', caddyLoaded('caddy', files).script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  const finds = (() => {
    try {
      return readFileSync(join(bin, 'log'), 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  })();
  return { facts: caddyLoaded('caddy', files).parse(r.stdout, r.status ?? 0), finds };
}

const file = (path: string, mtime: string) => {
  writeFileSync(path, 'x');
  utimesSync(path, new Date(mtime), new Date(mtime));
  return path;
};

describe("Caddy's files changed after its last load", () => {
  it('are the files modified after autosave.json, to the nanosecond, with no find', () => {
    const { facts, finds } = loaded((dir) => [
      file(join(dir, 'Caddyfile'), '2026-01-01T00:00:00.600Z'),
      file(join(dir, 'root.pem'), '2026-01-01T00:00:00.400Z'),
      file(join(dir, 'same.pem'), '2026-01-01T00:00:00.500Z'),
      join(dir, 'missing'),
    ]);
    expect(facts.newer).toEqual([expect.stringMatching(/\/Caddyfile$/)]);
    expect(Object.keys(facts.sha256)).toHaveLength(3);
    expect(finds).toBe(0);
  });

  it('with a link among them, find judges them all as before (the link itself, not its target)', () => {
    const { facts, finds } = loaded((dir) => {
      const target = file(join(dir, 'target'), '2026-01-01T00:00:01Z');
      symlinkSync(target, join(dir, 'Caddyfile'));
      return [join(dir, 'Caddyfile'), file(join(dir, 'new.pem'), '2026-01-01T00:00:02Z')];
    });
    expect(finds).toBe(1);
    // the link was made now, after the load: find names it, as it did before this change
    expect(facts.newer.map((f) => f.replace(/.*\//, '')).sort()).toEqual(['Caddyfile', 'new.pem']);
  });
});

describe("Caddy's config home, from its unit's User when its Environment names none", () => {
  /** the Autosave path the script finds for this User= (and the getent runs it took) */
  function autosaveOf(user: string) {
    const bin = mkdtempSync(join(tmpdir(), 'ss-caddy-home-'));
    writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\nprintf 'LoadState=loaded\\nActiveState=active\\nMainPID=1\\nUser=${user}\\nEnvironment=\\n'\n`, { mode: 0o755 });
    writeFileSync(join(bin, 'getent'), `#!/bin/sh\necho getent >> ${join(bin, 'log')}\nexec /usr/bin/getent "$@"\n`, { mode: 0o755 });
    const r = spawnSync('/bin/sh', ['-c', caddyLoaded('caddy', ['/etc/caddy/Caddyfile']).script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
    const getents = (() => {
      try {
        return readFileSync(join(bin, 'log'), 'utf8').split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    })();
    return { autosave: caddyLoaded('caddy', []).parse(r.stdout, 0).autosave, getents };
  }
  const home = (u: string) => spawnSync('getent', ['passwd', u], { encoding: 'utf8' }).stdout.split(':')[5] ?? '';

  it('is the home getent gives, read by the shell itself (~user) where the name allows', () => {
    expect(autosaveOf('root')).toEqual({ autosave: '/root/.config/caddy/autosave.json', getents: 0 });
    // no User=: root, as systemd runs it
    expect(autosaveOf('')).toEqual({ autosave: '/root/.config/caddy/autosave.json', getents: 0 });
    expect(autosaveOf('nobody')).toEqual({ autosave: `${home('nobody')}/.config/caddy/autosave.json`, getents: 0 });
  });

  it('asks getent where ~ cannot answer: a numeric User=, a user unknown to the shell', () => {
    expect(autosaveOf('0')).toEqual({ autosave: '/root/.config/caddy/autosave.json', getents: 1 });
    expect(autosaveOf('no-such-user-ss')).toEqual({ autosave: '/.config/caddy/autosave.json', getents: 1 });
  });
});

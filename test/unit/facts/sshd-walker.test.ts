/**
 * The sshd directive walker against sshd itself: test/unit/fixtures/sshd-oracle.json holds what
 * `sshd -T -C user=U,...` answered on lab hosts (Debian 12, OpenSSH 9.2; Debian 13, OpenSSH 10.0) for
 * configurations with Includes inside Match blocks, `Match all`, Match blocks ending with their file, Includes
 * nested in included files (down to sshd's depth limit, and a loop, which sshd refuses).
 * The walker must predict every answer: the value for a connection is the first one from a Match block
 * that matches it, else the first global one, else sshd's default.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { effectiveSettings, matchSettings, walk, type Directive } from '../../../src/facts/sshd.js';

interface Oracle {
  releases: Record<string, { openssh: string; cases: { title: string; main: string; sshdT?: Record<string, Record<string, string>>; error?: string }[] }>;
  files: Record<string, string>;
}
const oracle = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'sshd-oracle.json'), 'utf8')) as Oracle;
const MAIN = '/tmp/o/main.conf';
const DEFAULTS: Record<string, string> = { maxauthtries: '6', maxsessions: '10', x11forwarding: 'no', permittty: 'yes', passwordauthentication: 'yes', allowtcpforwarding: 'yes' };

/** The only criteria the fixture uses: `Match User NAME` and `Match all`. */
const matches = (line: string, user: string) => {
  const m = /^match\s+(.*)$/i.exec(line)![1].trim();
  if (/^all$/i.test(m)) return true;
  const u = /^user\s+(\S+)$/i.exec(m);
  if (!u) throw new Error(`criteria the test does not evaluate: ${line}`);
  return u[1] === user;
};

function valueFor(ds: Directive[], key: string, user: string): string {
  const conditional = ds.find((d) => d.key === key && d.matches.length && d.matches.every((m) => matches(m, user)));
  const global = ds.find((d) => d.key === key && !d.matches.length);
  return (conditional ?? global)?.value ?? DEFAULTS[key];
}

describe.each(Object.entries(oracle.releases))('the sshd directive walker agrees with sshd -T -C (%s)', (_release, { openssh, cases }) => {
  it.each(cases.map((c) => [c.title, c] as const))('%s', (_title, c) => {
    const files = [{ path: MAIN, content: c.main }, ...Object.entries(oracle.files).map(([path, content]) => ({ path, content }))];
    const w = walk(files, MAIN);
    // an Include nested deeper than sshd allows (a loop among them): sshd refuses the whole configuration
    expect(w.tooDeep !== undefined, `${openssh}: sshd ${c.error ? `refuses it (${c.error})` : 'reads it'}`).toBe(c.error !== undefined);
    const ds = w.directives;
    for (const [user, settings] of Object.entries(c.sshdT ?? {})) {
      for (const [key, want] of Object.entries(settings)) expect(valueFor(ds, key, user), `${openssh}: ${key} for ${user}`).toBe(want);
    }
  });
});

describe('effectiveSettings and matchSettings are views of the one walk', () => {
  const files = [
    { path: '/etc/ssh/sshd_config', content: 'Include /etc/ssh/sshd_config.d/*.conf\nX11Forwarding yes\nMatch all\nPasswordAuthentication yes\n' },
    { path: '/etc/ssh/sshd_config.d/50-x.conf', content: 'Match User bob\n  MaxSessions 3\n' },
  ];
  it('a Match block in a drop-in ends with the drop-in; Match all is a block, not global again', () => {
    expect(effectiveSettings(files).get('x11forwarding')).toMatchObject({ value: 'yes', file: '/etc/ssh/sshd_config', line: 2 });
    expect(effectiveSettings(files).has('passwordauthentication')).toBe(false);
    expect(matchSettings(files)).toEqual([
      { key: 'maxsessions', value: '3', file: '/etc/ssh/sshd_config.d/50-x.conf', line: 2, match: 'Match User bob' },
      { key: 'passwordauthentication', value: 'yes', file: '/etc/ssh/sshd_config', line: 4, match: 'Match all' },
    ]);
  });
});

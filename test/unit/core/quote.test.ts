import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shJoin, shq } from '../../../src/core/quote.js';
import { renderStep } from '../../../src/core/step.js';

const hostile = [
  "it's",
  'a "double" quote',
  '$(touch /tmp/ss-pwned) `id` ${HOME}',
  'line one\nline two\n',
  '* ? [a-z] ~root',
  "'; rm -rf / #",
  '\\ backslash \\n',
  '',
  '-n',
  'tab\there',
  'ünïcødé ✓',
];

/** dash is Debian's /bin/sh; run through whatever /bin/sh is here, which is dash on Debian too. */
const throughSh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });

describe('POSIX quoting', () => {
  it.each(hostile)('round-trips %j through /bin/sh byte for byte', (s) => {
    expect(throughSh(`printf '%s' ${shq(s)}`)).toBe(s);
  });

  it('keeps argv boundaries', () => {
    const out = throughSh(`for a in ${shJoin(hostile)}; do printf '[%s]' "$a"; done`);
    expect(out).toBe(hostile.map((s) => `[${s}]`).join(''));
  });

  it('never emits bash-only $\'...\' quoting', () => {
    for (const s of hostile) expect(shq(s)).not.toMatch(/^\$'/);
  });

  it('feeds step input exactly', () => {
    const text = hostile.join('\n');
    expect(throughSh(renderStep({ kind: 'run', argv: ['cat'], input: text }))).toBe(text);
  });

  it('refuses NUL bytes instead of truncating silently', () => {
    expect(() => shq('a\0b')).toThrow(/NUL/);
  });
});

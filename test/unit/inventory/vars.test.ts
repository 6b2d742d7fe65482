import { describe, expect, it } from 'vitest';
import { looksSecret, mergeVars, redactVars } from '../../../src/inventory/vars.js';

describe('mergeVars', () => {
  it('layers lowest first; a later layer replaces whole top-level keys (dicts are not deep-merged)', () => {
    const roleDefaults = { port: 80, opts: { a: 1, b: 2 }, only_default: true };
    const inventory = { port: 8080, opts: { c: 3 } };
    const play = { port: 9090 };
    const extra = undefined;
    expect(mergeVars(roleDefaults, inventory, play, extra)).toEqual({ port: 9090, opts: { c: 3 }, only_default: true });
  });

  it('does not modify its inputs', () => {
    const a = { x: 1 };
    mergeVars(a, { x: 2 });
    expect(a).toEqual({ x: 1 });
  });
});

describe('redaction for printing', () => {
  it.each([
    ['db_password', true],
    ['ansible_become_pass', true],
    ['api_token', true],
    ['vault_db', true],
    ['passenger_enabled', false],
    ['users', false],
  ])('%s looks secret: %s', (name, yes) => {
    expect(looksSecret(name)).toBe(yes);
  });

  it('replaces copies of known secrets at any depth', () => {
    expect(redactVars({ a: ['pw', { b: 'pw' }], c: 'other' }, new Set(['pw']))).toEqual({ a: ['<redacted>', { b: '<redacted>' }], c: 'other' });
  });
});

import { describe, expect, it } from 'vitest';
import { editLines } from '../../../src/modules/lineinfile.js';
import { planFor } from '../helpers/plan.js';

// the relevant part of Debian 12's /etc/login.defs
const loginDefs = `ENCRYPT_METHOD SHA512
# SHA_CRYPT_MIN_ROUNDS 5000
# SHA_CRYPT_MAX_ROUNDS 5000
`;
const file = (content: string) => ({ file: { exists: true, type: 'file', mode: '644', owner: 'root', group: 'root', size: content.length, content } });

describe('lineinfile', () => {
  it('replaces the last line the regexp finds, else appends; identical lines are kept', () => {
    const set = { regexp: '^#?\\s*SHA_CRYPT_MIN_ROUNDS\\b', line: 'SHA_CRYPT_MIN_ROUNDS 65536', state: 'present' as const };
    const after = editLines(loginDefs, set);
    expect(after).toBe('ENCRYPT_METHOD SHA512\nSHA_CRYPT_MIN_ROUNDS 65536\n# SHA_CRYPT_MAX_ROUNDS 5000\n');
    expect(editLines(after, set)).toBe(after);
    expect(editLines('a\n', { line: 'b', state: 'present' })).toBe('a\nb\n');
    expect(editLines('a\nb', { line: 'b', state: 'present' })).toBe('a\nb');
  });

  it('removes every matching line for state absent, and nothing else', () => {
    expect(editLines('a\nx=1\nb\nx=2\n', { regexp: '^x=', state: 'absent' })).toBe('a\nb\n');
    expect(editLines('a\nb', { regexp: '^x=', state: 'absent' })).toBe('a\nb');
  });

  it('plans one validated write with a diff, and says why when nothing is to do', () => {
    const args = { path: '/etc/login.defs', regexp: '^#?\\s*SHA_CRYPT_MIN_ROUNDS\\b', line: 'SHA_CRYPT_MIN_ROUNDS 65536' };
    const p = planFor('lineinfile', args, file(loginDefs));
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]).toMatchObject({ kind: 'write', path: '/etc/login.defs' });
    expect(p.reason).toBe('set "SHA_CRYPT_MIN_ROUNDS 65536" in /etc/login.defs');
    expect(p.diff?.[0].before).toBe(loginDefs);
    const again = planFor('lineinfile', args, file(p.diff![0].after));
    expect(again.steps).toEqual([]);
    expect(again.reason).toBe('/etc/login.defs has "SHA_CRYPT_MIN_ROUNDS 65536"');
  });

  it('a missing file fails unless create is set; check mode predicts the edit (an earlier task may create it)', () => {
    const missing = { file: { exists: false } };
    expect(planFor('lineinfile', { path: '/etc/x.conf', line: 'a' }, missing).fail).toMatch(/does not exist/);
    expect(planFor('lineinfile', { path: '/etc/x.conf', line: 'a' }, missing, {}, true).fail).toBeUndefined();
    const created = planFor('lineinfile', { path: '/etc/x.conf', line: 'a', create: true }, missing);
    expect(created.steps[0]).toMatchObject({ kind: 'write', content: 'a\n' });
  });

  it('refuses a line with a newline and a bad regexp at validation time', () => {
    expect(() => planFor('lineinfile', { path: '/etc/x', line: 'a\nb' }, { file: { exists: false } })).toThrow(/single line/);
    expect(() => planFor('lineinfile', { path: '/etc/x', line: 'a', regexp: '(' }, { file: { exists: false } })).toThrow(/regular expression/);
  });
});

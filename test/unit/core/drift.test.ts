import { describe, expect, it } from 'vitest';
import { hideDrift } from '../../../src/core/drift.js';

describe('hideDrift (no_log tasks)', () => {
  const H = '(hidden)';
  it('keeps why, and where only when it names what the diff shows anyway', () => {
    const d = [
      { what: 'mode 0644, declared 0600', why: 'the password is readable by every user', where: '/etc/x/restic-password (mode and owner)', fix: 'chmod 0600 /etc/x/restic-password' },
      { what: 'secret differs', why: 'w', where: 'token=abc', fix: 'f' },
    ];
    expect(hideDrift(d, H, ['/etc/x/restic-password (mode and owner)'])).toEqual([
      { what: H, why: 'the password is readable by every user', where: '/etc/x/restic-password (mode and owner)', fix: H },
      { what: H, why: 'w', where: H, fix: H },
    ]);
    expect(hideDrift(d, H)[0].where).toBe(H);
  });
});

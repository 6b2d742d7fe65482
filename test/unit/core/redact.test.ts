import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addSchemaSecrets, addSecret, clearSecrets, MASK, redact, secret } from '../../../src/core/redact.js';

afterEach(() => clearSecrets());

describe('redact: declared secret values are masked in any text', () => {
  it('masks the value itself, its JSON-escaped and shell-quoted forms', () => {
    addSecret(`hun"ter'2`);
    expect(redact(`pw hun"ter'2 end`)).toBe(`pw ${MASK} end`);
    expect(redact(JSON.stringify({ output: `hun"ter'2` }))).toBe(`{"output":"${MASK}"}`);
    expect(redact(`echo 'hun"ter'\\''2'`)).toBe(`echo '${MASK}'`);
  });

  it('masks each long line of a multi-line secret (diffs print line by line)', () => {
    addSecret('-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQAB\n-----END KEY-----');
    expect(redact('+AAAAB3NzaC1yc2EAAAADAQAB')).toBe(`+${MASK}`);
  });

  it('leaves text alone when nothing is declared, and ignores values too short to mask', () => {
    addSecret('ab');
    expect(redact('ab abc')).toBe('ab abc');
  });

  it('a role variable marked secret() in its schema, default or not, is declared by its value', () => {
    const schema = z.object({ db_password: secret(z.string()).default('s3cr3t-default'), token: secret(z.string().optional()), name: z.string() });
    addSchemaSecrets(schema, schema.parse({ token: 'tok-123456', name: 'visible' }));
    expect(redact('s3cr3t-default tok-123456 visible')).toBe(`${MASK} ${MASK} visible`);
  });
});

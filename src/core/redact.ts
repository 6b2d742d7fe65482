/**
 * Secret values, masked wherever they would be printed. The loaders declare every secret they read
 * (become_password, secret-looking inventory variables, role variables marked `secret()` in their
 * schema, secret-looking `-e` keys); the CLI passes everything it writes to stdout and stderr through
 * `redact` (see cli/safe-output.ts), so progress, plain lines, the recap, --json, diffs, step output,
 * host errors and input errors cannot show one, whichever code path produced the text.
 */
import type { z } from 'zod';

export const MASK = '********';

/** Values shorter than this are not masked: masking "no" or "1" everywhere would garble every report. */
export const MIN_SECRET_LENGTH = 3;

const secrets = new Set<string>();
let pattern: RegExp | undefined;

/** Declare a secret value; the forms it takes once printed (JSON-escaped, shell-quoted, per line) are masked too. */
export function addSecret(value: unknown): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
  const forms = [value, JSON.stringify(value).slice(1, -1), value.replace(/'/g, `'\\''`)];
  // a multi-line secret (a key, a certificate) is printed line by line in diffs
  if (value.includes('\n')) forms.push(...value.split('\n').map((l) => l.trim()).filter((l) => l.length >= 8));
  for (const f of forms) if (f.length >= MIN_SECRET_LENGTH) secrets.add(f);
  pattern = undefined;
}

/** Every string inside a value (a dict or list of secrets). */
export function addSecrets(value: unknown): void {
  if (typeof value === 'string') addSecret(value);
  else if (Array.isArray(value)) value.forEach(addSecrets);
  else if (value && typeof value === 'object') Object.values(value).forEach(addSecrets);
}

/** Forget every declared secret (tests). */
export function clearSecrets(): void {
  secrets.clear();
  pattern = undefined;
}

/** The text with every declared secret value replaced by MASK (longest first, so a secret inside another is covered). */
export function redact(text: string): string {
  if (secrets.size === 0) return text;
  pattern ??= new RegExp(
    [...secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return text.replace(pattern, MASK);
}

const SECRET = Symbol.for('shipshape.secret');

/**
 * Mark a role variable as secret in its schema: `db_password: secret(z.string())`. Its value is masked
 * in every output of a run that uses the role, like become_password.
 */
export function secret<T extends z.ZodType>(schema: T): T {
  (schema as unknown as Record<symbol, boolean>)[SECRET] = true;
  return schema;
}

/** Is this schema (or the schema inside its default/optional/nullable wrappers) marked secret? */
export function isSecretSchema(schema: unknown): boolean {
  for (let s = schema as { [SECRET]?: boolean; _zod?: { def?: { innerType?: unknown } } } | undefined; s; s = s._zod?.def?.innerType as typeof s) {
    if (s[SECRET]) return true;
  }
  return false;
}

/** Declare the values of the variables an object schema marks secret. */
export function addSchemaSecrets(schema: unknown, values: Record<string, unknown>): void {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  if (!shape) return;
  for (const [key, field] of Object.entries(shape)) if (isSecretSchema(field)) addSecrets(values[key]);
}

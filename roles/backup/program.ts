import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The backup program's text, a POSIX sh file kept beside this module (tsc does not copy it to dist/,
 * so a compiled role reads it from the source tree the same way the CLI finds the built-in roles).
 */
export function programText(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const source = here.replace(/[\\/]dist([\\/]roles[\\/]backup)$/, '$1');
  return readFileSync(join(source, 'shipshape-backup.sh'), 'utf8');
}

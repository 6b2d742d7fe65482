/**
 * Where a TypeScript role's task is written, so that a mistake in its arguments is reported at the
 * role's file and line (the role author's to fix), not at the playbook line that names the role.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { SourcePos } from '../core/input-error.js';

const texts = new Map<string, string | undefined>();

function sourceText(file: string): string | undefined {
  if (!texts.has(file)) {
    // a compiled built-in role (dist/roles/X/index.js) points at its TypeScript source when present
    const ts = file.replace(/[\\/]dist([\\/]roles[\\/][^\\/]+[\\/])index\.js$/, '$1index.ts');
    const path = ts !== file && existsSync(ts) ? ts : file;
    texts.set(file, existsSync(path) ? readFileSync(path, 'utf8') : undefined);
  }
  return texts.get(file);
}

// asked for every task of every host: the file is searched once per task name
const found = new Map<string, SourcePos | undefined>();

/** The position of `name: '<task name>'` in the role's file; undefined when the name is computed. */
export function roleTaskSource(roleFile: string | undefined, taskName: string): SourcePos | undefined {
  if (!roleFile) return undefined;
  const key = `${roleFile}\0${taskName}`;
  if (!found.has(key)) found.set(key, findTask(roleFile, taskName));
  return found.get(key);
}

function findTask(roleFile: string, taskName: string): SourcePos | undefined {
  const text = sourceText(roleFile);
  if (text === undefined) return undefined;
  for (const q of ["'", '"', '`']) {
    const at = text.indexOf(`name: ${q}${taskName}${q}`);
    if (at < 0) continue;
    // counted in place: a copy of the text before it, split into lines, for each of a role's tasks is
    // garbage the run's start pays for
    let line = 1;
    let lineStart = 0;
    for (let nl = text.indexOf('\n'); nl >= 0 && nl < at; nl = text.indexOf('\n', nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    return { file: roleFile.replace(/[\\/]dist([\\/]roles[\\/][^\\/]+[\\/])index\.js$/, '$1index.ts'), line, column: at - lineStart + 1 };
  }
  return undefined;
}

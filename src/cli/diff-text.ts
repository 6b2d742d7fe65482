import { createRequire } from 'node:module';
import type { FileDiff } from '../core/result.js';

// jsdiff is loaded by the first diff shown (--diff), not at start: most runs never print one
const require = createRequire(import.meta.url);
let patcher: typeof import('diff').createTwoFilesPatch | undefined;

/** A unified diff of one FileDiff, headers naming the subject, as `diff -u` would. */
export function unifiedDiff(d: FileDiff): string {
  patcher ??= (require('diff') as typeof import('diff')).createTwoFilesPatch;
  const patch = patcher(`${d.subject} (before)`, `${d.subject} (after)`, d.before, d.after, '', '', { context: 3 });
  // drop the leading "===" separator line jsdiff emits; keep ---/+++ and hunks
  return patch.split('\n').filter((l) => !l.startsWith('====')).map((l) => l.replace(/\t$/, '')).join('\n').trimEnd();
}

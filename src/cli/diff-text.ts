import { createTwoFilesPatch } from 'diff';
import type { FileDiff } from '../core/result.js';

/** A unified diff of one FileDiff, headers naming the subject, as `diff -u` would. */
export function unifiedDiff(d: FileDiff): string {
  const patch = createTwoFilesPatch(`${d.subject} (before)`, `${d.subject} (after)`, d.before, d.after, '', '', { context: 3 });
  // drop the leading "===" separator line jsdiff emits; keep ---/+++ and hunks
  return patch.split('\n').filter((l) => !l.startsWith('====')).map((l) => l.replace(/\t$/, '')).join('\n').trimEnd();
}

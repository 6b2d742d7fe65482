/**
 * Several files' text in one process: `tail -v -n +1 -- FILES; echo` prints "==> PATH <==" before each
 * file and one newline after each. Probes that read a set of files (sshd's, sudo's, APT's, ufw's) use it
 * instead of a `cat` per file.
 */
import { shJoin } from '../core/quote.js';

/** sh: the regular files among `words` (paths or globs, expanded by the shell), each one's text. */
export function dumpFiles(words: string[]): string {
  return [
    `set --; for __ss_f in ${words.map((w) => (/[*?[]/.test(w) ? w : shJoin([w]))).join(' ')}; do [ -f "$__ss_f" ] && set -- "$@" "$__ss_f"; done`,
    '[ $# -eq 0 ] || { tail -v -n +1 -- "$@"; echo; }',
  ].join('\n');
}

/**
 * The files of a dump, in order: `==> PATH <==` (or `==> PATH`, as the per-file loops printed it) starts
 * each; the newline after each text is not part of it.
 */
export function splitFileDump(out: string): { path: string; content: string }[] {
  const files: { path: string; content: string }[] = [];
  for (const chunk of out.split(/^==> /m).slice(1)) {
    const nl = chunk.indexOf('\n');
    const head = nl < 0 ? chunk : chunk.slice(0, nl);
    files.push({ path: head.replace(/ <==$/, ''), content: nl < 0 ? '' : chunk.slice(nl + 1).replace(/\n$/, '') });
  }
  return files;
}

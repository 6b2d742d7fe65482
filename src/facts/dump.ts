/**
 * Files' text, read whole. Every set of files a play reads (sudo's, APT's, ufw's, sysctl.d, Docker's
 * daemon.json, the ssh.socket drop-in...) is gathered in two processes whatever their number: one
 * `stat -L` gives each file's size, one `tail -v -c +1` prints them all, each after a "==> PATH <==" header,
 * and the text is cut by size, so no line of one file can pose as another file.
 */
import { probe, type Batcher } from '../core/probe.js';
import { shJoin } from '../core/quote.js';

export interface DumpedFile {
  path: string;
  content: string;
}

/** A word of a file set: a glob is expanded by the host's shell, a plain path is quoted. */
const word = (w: string) => (/[*?[]/.test(w) ? w : shJoin([w]));

/** sh: the readable regular files among `words` (paths or globs, in their order) into "$@" */
const collect = (words: string[], each = '') =>
  `for __ss_f in ${words.map(word).join(' ')}; do [ -f "$__ss_f" ] && [ -r "$__ss_f" ] || continue;${each} set -- "$@" "$__ss_f"; done`;

const STAT_AND_DUMP = `[ $# -eq 0 ] || { stat -L -c 'S %s %n' -- "$@"; tail -v -c +1 -- "$@"; }`;

/**
 * One set of files: its answer on its own is "S SIZE PATH" per file, then their texts (parseSizedDump).
 * Batched with every other set of the play.
 */
export function fileDump(words: string[]) {
  const key = JSON.stringify(words);
  return probe<DumpedFile[]>(`dump:${key}`, ['set --', collect(words), STAT_AND_DUMP].join('\n'), (out) => parseSizedDump(out), {
    inline: true,
    batch: { batcher: dumpBatcher, key },
  });
}

/**
 * Every set in one stat and one tail: "K INDEX PATH" says which set asked for a file (a file two sets
 * share is read twice), then the sizes and texts as for one set. Each set gets what its own script prints.
 */
export const dumpBatcher: Batcher = {
  id: 'file-dumps',
  // one stat and one tail: about 2 ms
  cost: () => 2,
  script(keys) {
    return ['set --', ...keys.map((k, i) => collect(JSON.parse(k) as string[], ` printf 'K ${i} %s\\n' "$__ss_f";`)), STAT_AND_DUMP].join('\n');
  },
  split(stdout, _code, keys) {
    const owners: { set: number; path: string }[] = [];
    let at = 0;
    while (stdout.startsWith('K ', at)) {
      const nl = stdout.indexOf('\n', at);
      if (nl < 0) break;
      const m = /^K (\d+) (.*)$/.exec(stdout.slice(at, nl));
      if (m) owners.push({ set: Number(m[1]), path: m[2] });
      at = nl + 1;
    }
    // files in the order they were listed; one that vanished before stat read it has no text
    const sets: DumpedFile[][] = keys.map(() => []);
    let k = 0;
    for (const f of parseSizedDump(stdout.slice(at))) {
      while (k < owners.length && owners[k].path !== f.path) k++;
      if (k < owners.length) sets[owners[k++].set]?.push(f);
    }
    return sets.map((files) => ({ stdout: sizedDumpText(files), code: 0 }));
  },
};

/** The files as `tail -v` prints them: each after a "==> PATH <==" header, a blank line between them. */
const headed = (files: DumpedFile[]) => files.map((f, i) => `${i === 0 ? '' : '\n'}==> ${f.path} <==\n${f.content}`).join('');

/** What one set's own script prints for these files. */
export function sizedDumpText(files: DumpedFile[]): string {
  return files.map((f) => `S ${Buffer.byteLength(f.content, 'utf8')} ${f.path}\n`).join('') + headed(files);
}

/**
 * "S SIZE PATH" lines, then `tail -v -c +1` of the same files: each text cut by its size when the next
 * header follows exactly there; otherwise (the file changed between stat and tail, or is not UTF-8) up to
 * the next header.
 */
export function parseSizedDump(out: string): DumpedFile[] {
  const buf = Buffer.from(out, 'utf8');
  const sizes: { path: string; size: number }[] = [];
  let cursor = 0;
  while (cursor < buf.length && buf.subarray(cursor, cursor + 2).toString() === 'S ') {
    const nl = buf.indexOf('\n', cursor);
    if (nl < 0) break;
    const m = /^S (\d+) (\/.*)$/.exec(buf.subarray(cursor, nl).toString('utf8'));
    if (m) sizes.push({ path: m[2], size: Number(m[1]) });
    cursor = nl + 1;
  }
  const files: DumpedFile[] = [];
  sizes.forEach(({ path, size }, i) => {
    const header = Buffer.from(`${i === 0 ? '' : '\n'}==> ${path} <==\n`, 'utf8');
    const at = buf.indexOf(header, cursor);
    if (at < 0) return;
    const start = at + header.length;
    let end = start + size;
    const last = i === sizes.length - 1;
    if (end > buf.length || (last ? end !== buf.length : buf.subarray(end, end + 5).toString() !== '\n==> ')) {
      const next = buf.indexOf('\n==> ', start);
      end = next < 0 || last ? buf.length : next;
    }
    files.push({ path, content: buf.subarray(start, end).toString('utf8') });
    cursor = end;
  });
  return files;
}

/**
 * The text `tail -v -n +1 -- FILES; echo` prints for these files (nothing for none): what the probes that
 * read a set of files printed before they shared the dump, and what their parsers read (splitFileDump).
 */
export function tailDumpText(files: DumpedFile[]): string {
  return files.length ? `${headed(files)}\n` : '';
}

/**
 * A set's answer from the shared dump (fileDump's "S SIZE PATH" lines and texts) as the text `tail -v -n +1
 * -- FILES; echo` prints: what the joins of the probes that read their files on their own (ufw's, sudo's,
 * APT's) give their parsers.
 */
export function dumpAsTail(stdout: string): string {
  return tailDumpText(parseSizedDump(stdout));
}

/**
 * sh: the regular files among `words` (paths or globs), each one's text as `tail -v -n +1` prints it: the
 * script a probe that reads a set of files prints on its own (tailDumpText), the shared dump aside.
 */
export function dumpFiles(words: string[]): string {
  return [
    `set --; for __ss_f in ${words.map(word).join(' ')}; do [ -f "$__ss_f" ] && set -- "$@" "$__ss_f"; done`,
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

import type { Batcher } from '../core/probe.js';
import { shJoin } from '../core/quote.js';

/**
 * Every path a play stats or reads, gathered in three commands whatever their number: one `stat` for all
 * paths, one `sha256sum` and one `head` for the regular files among them. Each probe then gets what its
 * own script (fileStat, fileContent) would have printed for its path.
 *
 * Keys are `stat:PATH`, `content:PATH` and `mtime:PATH` (fileMtime). Only plain paths are batched (see batchablePath): the output of
 * stat, sha256sum and head names each file, and a name with blanks, quotes or newlines would not read back.
 */
export const CONTENT_LIMIT = 512 * 1024;

/** Paths whose names every tool prints verbatim. */
export const batchablePath = (p: string) => /^\/[A-Za-z0-9._+@%,:=\/-]*$/.test(p) && !p.includes('|');

const HASHES = '@@ss-sha256';
const TEXTS = '@@ss-text';

interface StatInfo {
  line: string;
  kind: string;
  size: number;
  mtime: string;
  target?: string;
}

export const fileBatcher: Batcher = {
  id: 'files',
  // one stat, one sha256sum and one head: about 4 ms
  cost: () => 4,
  script(keys) {
    const paths = [...new Set(keys.map((k) => k.slice(k.indexOf(':') + 1)))];
    const read = [...new Set(keys.filter((k) => k.startsWith('content:')).map((k) => k.slice('content:'.length)))];
    return [
      // %N with literal quoting: the name, or "name -> target" for a symbolic link
      `QUOTING_STYLE=literal stat -c '%F|%a|%U|%G|%s|%Y|%N' -- ${shJoin(paths)}`,
      `echo ${HASHES}`,
      ...(read.length
        ? [
            // regular files only, never through a symbolic link: root would read whatever it points at
            `set -- ${shJoin(read)}`,
            'for __ss_f; do shift; [ -f "$__ss_f" ] && [ ! -L "$__ss_f" ] && set -- "$@" "$__ss_f"; done',
            '[ $# -eq 0 ] || sha256sum -- "$@"',
            `echo ${TEXTS}`,
            // one byte past the limit: a larger file is known to be larger, and is never sent whole
            `[ $# -eq 0 ] || head -v -c ${CONTENT_LIMIT + 1} -- "$@"`,
          ]
        : []),
    ].join('\n');
  },
  split(stdout, _code, keys) {
    const h = stdout.indexOf(`${HASHES}\n`);
    const statPart = h < 0 ? stdout : stdout.slice(0, h);
    const rest = h < 0 ? '' : stdout.slice(h + HASHES.length + 1);
    const t = rest.indexOf(`${TEXTS}\n`);
    const hashPart = t < 0 ? rest : rest.slice(0, t);
    const textPart = t < 0 ? '' : rest.slice(t + TEXTS.length + 1);

    const stats = new Map<string, StatInfo>();
    for (const l of statPart.split('\n')) {
      const f = l.split('|');
      if (f.length < 7) continue;
      const [kind, mode, user, group, size, mtime] = f;
      const named = f.slice(6).join('|');
      const arrow = named.indexOf(' -> ');
      const name = kind === 'symbolic link' && arrow >= 0 ? named.slice(0, arrow) : named;
      stats.set(name, {
        line: [kind, mode, user, group, size].join('|'),
        kind,
        size: Number(size),
        mtime,
        ...(kind === 'symbolic link' && arrow >= 0 ? { target: named.slice(arrow + 4) } : {}),
      });
    }
    const hashes = new Map<string, string>();
    for (const l of hashPart.split('\n')) {
      const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(l);
      if (m) hashes.set(m[2], m[1]);
    }
    const texts = splitHead(textPart, [...hashes.keys()], stats);

    return keys.map((key) => {
      const path = key.slice(key.indexOf(':') + 1);
      const st = stats.get(path);
      if (!st) return { stdout: '', code: 0 };
      // stat -c '%Y %n': a symbolic link's own time, as stat without -L reports it
      if (key.startsWith('mtime:')) return { stdout: `${st.mtime} ${path}\n`, code: 0 };
      const link = st.kind === 'symbolic link';
      if (key.startsWith('stat:')) return { stdout: `${st.line}\n${link ? `${st.target ?? ''}\n` : ''}`, code: 0 };
      let out = `${st.line}\n${link ? (st.target ?? '') : ''}\n`;
      const hash = hashes.get(path);
      if (hash !== undefined) {
        out += `${hash}\n`;
        const text = texts.get(path);
        if (st.size <= CONTENT_LIMIT && text !== undefined) out += text;
      }
      return { stdout: out, code: 0 };
    });
  },
};

/**
 * `head -v` output: "==> NAME <==\n" before each file, "\n" between files. Each text is cut by its size
 * (stat's, capped at the limit + 1) when the next header follows exactly there; otherwise (the file
 * changed meanwhile, or is not UTF-8) up to the next header.
 */
function splitHead(out: string, order: string[], stats: Map<string, StatInfo>): Map<string, string> {
  const texts = new Map<string, string>();
  const buf = Buffer.from(out, 'utf8');
  let cursor = 0;
  for (const path of order) {
    const header = Buffer.from(`${cursor === 0 ? '' : '\n'}==> ${path} <==\n`, 'utf8');
    const at = buf.indexOf(header, cursor);
    if (at < 0) continue;
    const start = at + header.length;
    const size = Math.min(stats.get(path)?.size ?? -1, CONTENT_LIMIT + 1);
    let end = start + size;
    const fits = size >= 0 && end <= buf.length && (end === buf.length || buf.subarray(end, end + 5).toString() === '\n==> ');
    if (!fits) {
      const next = buf.indexOf('\n==> ', start);
      end = next < 0 ? buf.length : next;
    }
    texts.set(path, buf.subarray(start, end).toString('utf8'));
    cursor = end;
  }
  return texts;
}

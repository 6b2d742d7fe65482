import type { Batcher } from '../core/probe.js';
import { shJoin, shq } from '../core/quote.js';

/**
 * Every path a play stats or reads, gathered in three commands whatever their number: one `stat` for all
 * paths, one `sha256sum` for the regular files whose content is asked and one `head` for those and the ones
 * whose text alone is asked. Each probe then gets what its own script (fileStat, fileContent, fileText)
 * would have printed for its path.
 *
 * Keys are `stat:PATH`, `content:PATH`, `mtime:PATH` (fileMtime) and `text:PATH` (fileText). Only plain paths are
 * batched (see batchablePath): the output of stat, sha256sum and head names each file, and a name with blanks,
 * quotes or newlines would not read back. A PATH may also start at an account's home (`~NAME/REST`, homePath):
 * the host's shell expands it (getpwnam, no process), so a file under a home the controller does not know yet
 * is read in the same stat and head; a home that is not a plain absolute path reads as absent here (whoever asks
 * such a path reads it its own way: authorizedKeysOf). head's headers are looked for only for the files the shell
 * handed it (it prints their list), and each text is cut by its stat size (a file under /proc, whose stat size is
 * 0, at the next header), so no file's text can pose as another file.
 */
export const CONTENT_LIMIT = 512 * 1024;

/** Paths whose names every tool prints verbatim. */
export const batchablePath = (p: string) => (/^\/[A-Za-z0-9._+@%,:=\/-]*$/.test(p) && !p.includes('|')) || HOME_PATH.test(p);

/** The characters of a plain path, as a shell bracket expression's list (batchablePath's, for the host's `case`). */
export const PLAIN_PATH_CHARS = 'A-Za-z0-9._+@%,:=/-';

/** A `case` pattern for a word that is not a plain absolute path (the play's stat and head would not take it). */
export const NOT_PLAIN_PATH = `[!/]*|*[!${PLAIN_PATH_CHARS}]*`;

/**
 * sh: the shell variable `name` set to USER's home when that is a plain absolute path, and emptied otherwise. The
 * one rule every reader of a home goes by: the file batch, the account batch's keys and Caddy's autosave.
 */
export const plainHomeInto = (name: string, user: string) =>
  // ~NAME alone in an assignment: dash expands it through getpwnam, quoted (no splitting, no globbing); a name
  // without an account stays "~NAME", which the case empties like any home that is not plain
  `${name}=~${user}; case $${name} in ${NOT_PLAIN_PATH}) ${name}=;; esac`;

/** `~NAME/REST`: NAME as useradd accepts it (users.ts ACCOUNT_NAME), REST plain. */
const HOME_PATH = /^~([A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?)(\/[A-Za-z0-9._+@%,:=\/-]*)$/;

/** A path under an account's home, read by the play's one stat and head once the host's shell expands it. */
export const homePath = (user: string, rest: string) => `~${user}/${rest}`;

/** The shell word of a path: a plain path quoted, a home path with its `~NAME` left for the shell to expand. */
export function pathWord(path: string): string {
  const m = HOME_PATH.exec(path);
  return m ? `~${m[1]}${shq(m[2])}` : shq(path);
}

const HASHES = '@@ss-sha256';
const READS = '@@ss-read';
const TEXTS = '@@ss-text';
/** one line per account whose home a key starts at, before anything else: its home, or nothing */
const HOME = '@@ss-home ';

interface StatInfo {
  line: string;
  kind: string;
  size: number;
  mtime: string;
  target?: string;
}

const kindOf = (k: string) => k.slice(0, k.indexOf(':'));
const pathOf = (k: string) => k.slice(k.indexOf(':') + 1);
const unique = (xs: string[]) => [...new Set(xs)];
/** the accounts whose homes the keys start at, in first-asked order */
const homesAsked = (keys: string[]) => unique(keys.map((k) => HOME_PATH.exec(pathOf(k))?.[1]).filter((u): u is string => u !== undefined));

/**
 * sh: "$@" set to `paths` (or `paths` added to it), each home path at its account's home when that is a plain absolute path (in
 * $__ss_homeN, set by homeVars) and left out otherwise.
 */
function setPaths(paths: string[], users: string[], append = false): string {
  const plain = paths.filter((p) => !HOME_PATH.test(p));
  const out = [append ? (plain.length ? `set -- "$@" ${shJoin(plain)}` : ':') : `set -- ${shJoin(plain)}`.trimEnd()];
  users.forEach((u, i) => {
    const rest = underHome(paths, u).map((r) => `"$__ss_home${i}"${shq(r)}`);
    if (rest.length) out.push(`[ -z "$__ss_home${i}" ] || set -- "$@" ${rest.join(' ')}`);
  });
  return out.join('\n');
}

/** The rest (from its "/") of each of `paths` under this account's home. */
const underHome = (paths: string[], user: string) =>
  paths.map((p) => HOME_PATH.exec(p)).filter((m) => m?.[1] === user).map((m) => m![2]);

/** sh: each account's home into $__ss_homeN (empty unless a plain absolute path), printed for split. */
function homeVars(users: string[]): string[] {
  return users.map((u, i) => `${plainHomeInto(`__ss_home${i}`, u)}; printf '${HOME}%s\\n' "$__ss_home${i}"`);
}

export const fileBatcher: Batcher = {
  id: 'files',
  // one stat, one sha256sum and one head (with authorized_keys and /proc/sys): about 5 ms
  cost: () => 5,
  script(keys) {
    const users = homesAsked(keys);
    // each text is cut by its stat size; but stat says 0 for every file under /proc (sysctlValue's /proc/sys):
    // those are cut at the next header, and not stat'ed for nothing
    const paths = unique(keys.filter((k) => !(kindOf(k) === 'text' && pathOf(k).startsWith('/proc/'))).map(pathOf));
    const hashed = unique(keys.filter((k) => kindOf(k) === 'content').map(pathOf));
    const textOnly = unique(keys.filter((k) => kindOf(k) === 'text').map(pathOf)).filter((p) => !hashed.includes(p));
    // regular files only, never through a symbolic link: root would read whatever it points at
    const keepFiles = 'for __ss_f; do shift; [ -f "$__ss_f" ] && [ ! -L "$__ss_f" ] && set -- "$@" "$__ss_f"; done';
    return [
      ...homeVars(users),
      setPaths(paths, users),
      // %N with literal quoting: the name, or "name -> target" for a symbolic link
      `[ $# -eq 0 ] || QUOTING_STYLE=literal stat -c '%F|%a|%U|%G|%s|%Y|%N' -- "$@"`,
      `echo ${HASHES}`,
      ...(hashed.length + textOnly.length
        ? [
            setPaths(hashed, users),
            keepFiles,
            ...(hashed.length ? ['[ $# -eq 0 ] || sha256sum -- "$@"'] : []),
            // the files whose text alone is asked join the hashed ones in the one head
            ...(textOnly.length ? [setPaths(textOnly, users, true), keepFiles] : []),
            // the files head reads, in its order (builtin): a header is looked for only where a file was read
            `echo ${READS}`,
            `[ $# -eq 0 ] || printf '%s\\n' "$@"`,
            `echo ${TEXTS}`,
            // one byte past the limit: a larger file is known to be larger, and is never sent whole
            `[ $# -eq 0 ] || head -v -c ${CONTENT_LIMIT + 1} -- "$@"`,
          ]
        : []),
    ].join('\n');
  },
  split(stdout, _code, keys) {
    // the homes the script found, in the order it asked them
    const homes = new Map<string, string>();
    let at = 0;
    for (const u of homesAsked(keys)) {
      const nl = stdout.indexOf('\n', at);
      if (!stdout.startsWith(HOME, at) || nl < 0) break;
      const home = stdout.slice(at + HOME.length, nl);
      if (home) homes.set(u, home);
      at = nl + 1;
    }
    // where a key's path is on the host: undefined for a home path whose home the script did not read
    const resolve = (path: string) => {
      const m = HOME_PATH.exec(path);
      if (!m) return path;
      const home = homes.get(m[1]);
      return home === undefined ? undefined : home + m[2];
    };
    const h = stdout.indexOf(`${HASHES}\n`, at);
    const statPart = h < 0 ? stdout.slice(at) : stdout.slice(at, h);
    const rest = h < 0 ? '' : stdout.slice(h + HASHES.length + 1);
    const r = rest.indexOf(`${READS}\n`);
    const t = rest.indexOf(`${TEXTS}\n`, r < 0 ? 0 : r);
    const hashPart = r < 0 ? rest : rest.slice(0, r);
    const readPart = r < 0 || t < 0 ? '' : rest.slice(r + READS.length + 1, t);
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
    const texts = splitHead(textPart, unique(readPart.split('\n').filter(Boolean)), stats);

    return keys.map((key) => {
      const kind = kindOf(key);
      const path = resolve(pathOf(key));
      const st = path === undefined ? undefined : stats.get(path);
      if (kind === 'text') {
        // what `head -c` of a regular file printed; no text (absent, not a regular file, unreadable): exit 1
        const text = path === undefined ? undefined : texts.get(path);
        return text === undefined ? { stdout: '', code: 1 } : { stdout: text, code: 0 };
      }
      if (!st || path === undefined) return { stdout: '', code: 0 };
      // stat -c '%Y %n': a symbolic link's own time, as stat without -L reports it
      if (kind === 'mtime') return { stdout: `${st.mtime} ${path}\n`, code: 0 };
      const link = st.kind === 'symbolic link';
      if (kind === 'stat') return { stdout: `${st.line}\n${link ? `${st.target ?? ''}\n` : ''}`, code: 0 };
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

import { probe } from '../core/probe.js';
import { splitFileDump } from './dump.js';

export interface SshdFiles {
  /** the main config, every drop-in and every file an Include names (nested ones too), with their text */
  files: { path: string; content: string }[];
  /**
   * What sshd really uses for the connection this run came in on (`sshd -T -C user=,host=,addr=`, so
   * Match blocks count): keyword (lower case) -> values; absent when sshd -T could not answer.
   */
  effective?: { user: string; addr: string; settings: Record<string, string[]> };
  /** sshd -T refused the configuration: its message (a reload would fail the same way, sshd keeps its old settings) */
  refused?: string;
  /**
   * The listening sshd, when one runs: sshd -T reads the files, not the daemon, so this is what tells a daemon
   * still on older settings. sshd writes its pid file each time it reads its configuration: at start and at
   * every reload (SIGHUP re-executes it under the same pid, so neither the pid nor systemd's start time
   * moves; seen on Debian 12 and 13). `changed` holds the change time (ctime: no copy tool can set it back)
   * of every file read and of the directory of every Include glob (a drop-in removed), in microseconds.
   */
  running?: { pid: number; loadedAt: number; changed: { path: string; at: number }[] };
}

const T_MARK = '==sshd-T== ';
const REFUSED = '==sshd-refused==';
const LOADED = '==sshd-loaded== ';

/** sshd's own limit on nested Includes (servconf.c SERVCONF_MAX_DEPTH): a file deeper than this makes sshd refuse its configuration. */
export const INCLUDE_DEPTH = 16;

/**
 * The files sshd reads and what it makes of them, in one script: sshd_config, its drop-ins and every file an
 * Include names, followed as sshd follows them (recursively, globs expanded by the shell, relative paths under
 * /etc/ssh; one sed per level of nesting); sshd's own answer for this connection's user and address (the login
 * user is sudo's caller, the address the one sshd saw: $SSH_CONNECTION, carried through sudo by the
 * transport); and when the listening sshd last read them (its pid file) against when they last changed.
 * `dir` is /etc/ssh but for tests.
 */
export function sshdFilesScript(dir = '/etc/ssh'): string {
  return [
    `set --; __ss_next="${dir}/sshd_config ${dir}/sshd_config.d/*.conf"; __ss_dirs=; __ss_d=0; __ss_all=`,
    `while [ -n "$__ss_next" ] && [ $__ss_d -le ${INCLUDE_DEPTH} ]; do __ss_d=$((__ss_d + 1)); __ss_new=`,
    // the shell expands the globs here; each file once (an Include loop ends)
    '  for __ss_f in $__ss_next; do [ -f "$__ss_f" ] || continue; case " $* " in *" $__ss_f "*) continue;; esac; set -- "$@" "$__ss_f"; __ss_new="$__ss_new $__ss_f"; done',
    '  __ss_next=; [ -n "$__ss_new" ] || break; set -f',
    // this level's texts, as `tail -v` prints them: the one process of the level, whose output is both printed
    // at the end and searched for Includes by the shell itself (no sed); /dev/null last keeps the last file's
    // own trailing newlines through $( ), which strips them
    `  __ss_l=$(tail -v -n +1 -- $__ss_new /dev/null 2>/dev/null); __ss_l=\${__ss_l%?'==> /dev/null <=='}; __ss_all=\${__ss_all:+"$__ss_all
"}$__ss_l`,
    `  __ss_ifs=$IFS; IFS='
'; for __ss_x in $__ss_l; do IFS=$__ss_ifs`,
    // as sshd reads a line: leading space, the keyword in any case, then space or '=' before the words
    `    __ss_x=\${__ss_x#"\${__ss_x%%[![:space:]]*}"}`,
    '    case $__ss_x in [Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]=]*) ;; *) continue;; esac',
    `    __ss_x=\${__ss_x#???????}; __ss_x=\${__ss_x#"\${__ss_x%%[![:space:]=]*}"}`,
    '    for __ss_w in $__ss_x; do',
    `      case $__ss_w in /*) ;; *) __ss_w=${dir}/$__ss_w;; esac`,
    '      case $__ss_w in *[*?[]*) __ss_dirs="$__ss_dirs ${__ss_w%/*}";; esac; __ss_next="$__ss_next $__ss_w"',
    '    done',
    '  done; IFS=$__ss_ifs; set +f',
    'done',
    `[ $# -eq 0 ] || printf '%s\\n' "$__ss_all"`,
    'u=${SUDO_USER:-$(id -un)}; a=${SSH_CONNECTION%% *}; a=${a:-127.0.0.1}; __ss_pf=/run/sshd.pid; __ss_t=; __ss_ok=',
    'if command -v sshd >/dev/null; then',
    // stderr too: when sshd refuses the configuration, its message (warnings beside a good answer are dropped by the parser)
    '  if __ss_t=$(sshd -T -C "user=$u,host=$a,addr=$a" 2>&1); then __ss_ok=1',
    // the pid file sshd -T names (PidFile), read without a process
    '    __ss_p=${__ss_t#*pidfile }; [ "$__ss_p" = "$__ss_t" ] || __ss_pf=${__ss_p%%[!A-Za-z0-9/._-]*}',
    `  else printf '${REFUSED}\\n%s\\n' "$__ss_t"; fi`,
    'fi',
    '__ss_pid=; [ -f "$__ss_pf" ] && read -r __ss_pid < "$__ss_pf"; __ss_c=; [ -n "$__ss_pid" ] && read -r __ss_c < "/proc/$__ss_pid/comm"',
    `if [ "$__ss_c" = sshd ]; then printf '${LOADED}%s %s\\n' "$__ss_pid" "$__ss_pf"; stat -c '%.6Z %n' -- "$__ss_pf" "$@" $__ss_dirs; fi`,
    `[ -z "$__ss_ok" ] || printf '${T_MARK}%s %s\\n%s\\n' "$u" "$a" "$__ss_t"`,
  ].join('\n');
}

// sshd -T parses every file and loads host keys; with tail and stat, about 9 ms
export const sshdFiles = probe<SshdFiles>('sshd:files', sshdFilesScript(), parseSshdFiles, { inline: true, cost: 9 });

/** Text before the last line starting with `mark`, and what follows the mark (undefined when there is none). */
function cut(text: string, mark: string): [string, string | undefined] {
  const i = text.lastIndexOf(`\n${mark}`);
  const at = i >= 0 ? i + 1 : text.startsWith(mark) ? 0 : -1;
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + mark.length)];
}

export function parseSshdFiles(out: string): SshdFiles {
  // in the order the script prints them, taken from the end: file texts could hold anything
  const [beforeT, tail] = cut(out, T_MARK);
  const [beforeLoaded, loaded] = cut(beforeT, LOADED);
  const [head, refused] = cut(beforeLoaded, REFUSED);
  const result: SshdFiles = { files: splitFileDump(head) };
  if (refused !== undefined) result.refused = refused.trim().split('\n').slice(-3).join('\n') || 'sshd -T failed without a message';
  if (loaded !== undefined) {
    const [first, ...lines] = loaded.split('\n');
    const [pid, pidFile] = [Number(first.slice(0, first.indexOf(' '))), first.slice(first.indexOf(' ') + 1)];
    const times = lines.flatMap((l) => {
      const m = /^(\d+)(?:\.(\d{1,6}))? (.+)$/.exec(l);
      return m ? [{ path: m[3], at: Number(m[1]) * 1e6 + Number((m[2] ?? '').padEnd(6, '0')) }] : [];
    });
    const own = times.find((t) => t.path === pidFile);
    if (Number.isInteger(pid) && pid > 0 && own) result.running = { pid, loadedAt: own.at, changed: times.filter((t) => t !== own) };
  }
  if (tail === undefined) return result;
  const [first, ...lines] = tail.split('\n');
  const [user = '', addr = ''] = first.split(' ');
  const settings: Record<string, string[]> = {};
  for (const l of lines) {
    // keywords only: a warning sshd printed beside its answer ("/etc/ssh/sshd_config line 3: Deprecated option ...") is not one
    const m = /^([a-z0-9]+) (.*)$/.exec(l.trim());
    if (m) (settings[m[1].toLowerCase()] ??= []).push(m[2]);
  }
  return { ...result, effective: { user, addr, settings } };
}

export interface SettingSource {
  value: string;
  file: string;
  line: number;
}

export interface Directive extends SettingSource {
  /** keyword, lower case */
  key: string;
  /**
   * The Match lines this directive sits under, outermost first (an Include inside a Match block makes its
   * file's own Match blocks nested ones); empty for a global directive.
   */
  matches: string[];
}

export const MAIN_CONFIG = '/etc/ssh/sshd_config';

/**
 * Every directive in the order sshd reads it, with the Match blocks it sits under. sshd's rules, as
 * `sshd -T -C` answers them on Debian 12 (OpenSSH 9.2) and 13 (10.0) (test/unit/fixtures/sshd-oracle.json):
 * - an Include is expanded in place (globs in lexical order, relative paths under /etc/ssh);
 * - a Match block ends at the next Match line or at the end of the file it is in: the includer's lines
 *   after the Include are back in the includer's own block (global, or its Match);
 * - an Include inside a Match block makes the whole included file conditional on that block, its own
 *   Match lines included (they narrow it, they never escape it);
 * - `Match all` opens a block like any other, one that matches every connection: its lines override the
 *   global values, they are not global again.
 */
export function directives(files: { path: string; content: string }[], root = MAIN_CONFIG): Directive[] {
  return walk(files, root).directives;
}

export interface Walk {
  /** every directive in the order sshd reads it */
  directives: Directive[];
  /** the files sshd reads, in the order it first opens them (an Include loop or a file included twice: once) */
  read: string[];
  /** the Include that nests deeper than sshd allows (INCLUDE_DEPTH): sshd refuses the whole configuration */
  tooDeep?: { file: string; line: number };
}

/**
 * The walk behind `directives`, as sshd reads: an Include is followed wherever it is, nested ones too
 * (relative paths under /etc/ssh, not beside the including file), until a file would sit deeper than
 * INCLUDE_DEPTH, where sshd gives up on the whole configuration ("Too many recursive configuration
 * includes"; an Include loop ends there too). Rules recorded from sshd -T in sshd-oracle.json.
 */
export function walk(files: { path: string; content: string }[], root = MAIN_CONFIG): Walk {
  const byPath = new Map(files.map((f) => [f.path, f.content]));
  const out: Directive[] = [];
  const read = new Set<string>();
  let tooDeep: Walk['tooDeep'];
  const visit = (path: string, outer: string[], depth: number) => {
    const content = byPath.get(path);
    if (content === undefined) return;
    read.add(path);
    let matches = outer;
    content.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (tooDeep || !line || line.startsWith('#')) return;
      const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line) ?? /^(\S+)()$/.exec(line);
      if (!m) return;
      const key = m[1].toLowerCase();
      if (key === 'match') {
        matches = [...outer, line];
        return;
      }
      if (key === 'include') {
        for (const pattern of m[2].split(/\s+/)) {
          const abs = pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`;
          for (const p of expandGlob(abs, [...byPath.keys()])) {
            if (depth + 1 > INCLUDE_DEPTH) tooDeep ??= { file: path, line: i + 1 };
            else visit(p, matches, depth + 1);
          }
        }
        return;
      }
      out.push({ key, value: m[2], file: path, line: i + 1, matches });
    });
  };
  visit(root, [], 0);
  return { directives: out, read: [...read], ...(tooDeep ? { tooDeep } : {}) };
}

/** Which file and line sets each keyword globally: the FIRST value sshd reads outside every Match block. */
export function effectiveSettings(files: { path: string; content: string }[]): Map<string, SettingSource> {
  const seen = new Map<string, SettingSource>();
  for (const d of directives(files)) if (!d.matches.length && !seen.has(d.key)) seen.set(d.key, { value: d.value, file: d.file, line: d.line });
  return seen;
}

export interface MatchSetting extends SettingSource {
  key: string;
  /** the Match line(s) of the block, e.g. "Match User deploy" (nested ones joined with " and ") */
  match: string;
}

/**
 * Settings inside Match blocks (`Match all` included), in the order sshd reads them: they win over the
 * global value for the connections they match, whatever the global first value is.
 */
export function matchSettings(files: { path: string; content: string }[]): MatchSetting[] {
  return directives(files)
    .filter((d) => d.matches.length)
    .map((d) => ({ key: d.key, value: d.value, file: d.file, line: d.line, match: d.matches.join(' and ') }));
}

function expandGlob(pattern: string, paths: string[]): string[] {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
  return paths.filter((p) => re.test(p)).sort();
}

/**
 * What changed after the listening sshd last read its configuration: the files it reads (the walk from
 * sshd_config, not a drop-in nothing includes) and the directories of Include globs (a drop-in added or
 * removed changes them). Empty when no sshd listens (socket activation before the first login: the next
 * sshd reads the files as they are).
 */
export function changedSinceLoad(sshd: SshdFiles): { path: string; at: number }[] {
  if (!sshd.running) return [];
  const { loadedAt, changed } = sshd.running;
  const read = new Set(walk(sshd.files).read);
  const dumped = new Set(sshd.files.map((f) => f.path));
  const after = changed.filter((c) => (read.has(c.path) || !dumped.has(c.path)) && c.at > loadedAt);
  // a directory is named only when no changed file in it says more (an editor's rename changes both)
  const files = after.filter((c) => dumped.has(c.path));
  return after.filter((c) => dumped.has(c.path) || !files.some((f) => f.path.startsWith(`${c.path}/`)));
}

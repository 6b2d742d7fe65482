import { probe } from '../core/probe.js';
import { dumpFiles, splitFileDump } from './dump.js';

export interface SshdFiles {
  /** the main config and every drop-in, in the order sshd reads them, with their text */
  files: { path: string; content: string }[];
  /**
   * What sshd really uses for the connection this run came in on (`sshd -T -C user=,host=,addr=`, so
   * Match blocks count): keyword (lower case) -> values; absent when sshd -T could not answer.
   */
  effective?: { user: string; addr: string; settings: Record<string, string[]> };
}

const T_MARK = '==sshd-T== ';

/**
 * The main config and every drop-in it may include (sshd's "first value wins" is computed from these),
 * then sshd's own answer for this connection's user and address: the login user is sudo's caller, the
 * address the one sshd saw ($SSH_CONNECTION, carried through sudo by the transport).
 */
export const sshdFiles = probe<SshdFiles>(
  'sshd:files',
  [
    // plus what an Include names elsewhere (globs expanded by the shell, relative paths under /etc/ssh), one level deep
    `inc=$(sed -n 's/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]=][[:space:]=]*//p' /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null)`,
    // as dumpFiles does (one tail for them all), each file once
    'set --; for __ss_w in /etc/ssh/sshd_config "/etc/ssh/sshd_config.d/*.conf" $inc; do case $__ss_w in /*) ;; *) __ss_w=/etc/ssh/$__ss_w;; esac',
    `  for __ss_f in $__ss_w; do [ -f "$__ss_f" ] || continue; case " $* " in *" $__ss_f "*) continue;; esac; set -- "$@" "$__ss_f"; done; done`,
    '[ $# -eq 0 ] || { tail -v -n +1 -- "$@"; echo; }',
    'u=${SUDO_USER:-$(id -un)}; a=${SSH_CONNECTION%% *}; a=${a:-127.0.0.1}',
    `if command -v sshd >/dev/null && t=$(sshd -T -C "user=$u,host=$a,addr=$a" 2>/dev/null); then printf '${T_MARK}%s %s\\n%s\\n' "$u" "$a" "$t"; fi`,
  ].join('\n'),
  parseSshdFiles,
  { inline: true },
);

export function parseSshdFiles(out: string): SshdFiles {
  const files: SshdFiles['files'] = [];
  const at = out.indexOf(`\n${T_MARK}`);
  const head = at < 0 ? (out.startsWith(T_MARK) ? '' : out) : out.slice(0, at + 1);
  const tail = at < 0 ? (out.startsWith(T_MARK) ? out : '') : out.slice(at + 1);
  files.push(...splitFileDump(head));
  if (!tail) return { files };
  const [first, ...lines] = tail.split('\n');
  const [user = '', addr = ''] = first.slice(T_MARK.length).split(' ');
  const settings: Record<string, string[]> = {};
  for (const l of lines) {
    const m = /^(\S+) (.*)$/.exec(l.trim());
    if (m) (settings[m[1].toLowerCase()] ??= []).push(m[2]);
  }
  return { files, effective: { user, addr, settings } };
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
  const byPath = new Map(files.map((f) => [f.path, f.content]));
  const out: Directive[] = [];
  const read = (path: string, outer: string[], depth: number) => {
    const content = byPath.get(path);
    if (content === undefined || depth > 8) return;
    let matches = outer;
    content.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
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
          for (const p of expandGlob(abs, [...byPath.keys()])) read(p, matches, depth + 1);
        }
        return;
      }
      out.push({ key, value: m[2], file: path, line: i + 1, matches });
    });
  };
  read(root, [], 0);
  return out;
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

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
    dumpFiles(['/etc/ssh/sshd_config', '/etc/ssh/sshd_config.d/*.conf']),
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

/**
 * Which file and line sets each keyword, reading like sshd: the main file top to bottom, each
 * Include expanded in place (globs in lexical order), the FIRST value kept, Match blocks ignored
 * (they apply per connection, not globally).
 */
export function effectiveSettings(files: { path: string; content: string }[]): Map<string, SettingSource> {
  const byPath = new Map(files.map((f) => [f.path, f.content]));
  const seen = new Map<string, SettingSource>();
  const read = (path: string, depth: number) => {
    const content = byPath.get(path);
    if (content === undefined || depth > 8) return;
    let inMatch = false;
    content.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const m = /^(\S+)\s*=?\s*(.*)$/.exec(line);
      if (!m) return;
      const key = m[1].toLowerCase();
      if (key === 'match') inMatch = true;
      if (inMatch) return;
      if (key === 'include') {
        for (const pattern of m[2].split(/\s+/)) {
          const abs = pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`;
          for (const p of expandGlob(abs, [...byPath.keys()])) read(p, depth + 1);
        }
        return;
      }
      if (!seen.has(key)) seen.set(key, { value: m[2], file: path, line: i + 1 });
    });
  };
  read('/etc/ssh/sshd_config', 0);
  return seen;
}

export interface MatchSetting extends SettingSource {
  key: string;
  /** the Match line that opens the block, e.g. "Match User deploy" */
  match: string;
}

/**
 * Settings inside Match blocks, in the order sshd reads them: they win over the global value for the
 * connections they match, whatever the global first value is.
 */
export function matchSettings(files: { path: string; content: string }[]): MatchSetting[] {
  const byPath = new Map(files.map((f) => [f.path, f.content]));
  const found: MatchSetting[] = [];
  const read = (path: string, depth: number) => {
    const content = byPath.get(path);
    if (content === undefined || depth > 8) return;
    let match: string | undefined;
    content.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const m = /^(\S+)\s*=?\s*(.*)$/.exec(line);
      if (!m) return;
      const key = m[1].toLowerCase();
      if (key === 'match') {
        // "Match all" ends a block: what follows is global again
        match = /^all$/i.test(m[2].trim()) ? undefined : line;
        return;
      }
      if (key === 'include') {
        for (const pattern of m[2].split(/\s+/)) {
          const abs = pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`;
          for (const p of expandGlob(abs, [...byPath.keys()])) read(p, depth + 1);
        }
        return;
      }
      if (match) found.push({ key, value: m[2], file: path, line: i + 1, match });
    });
  };
  read('/etc/ssh/sshd_config', 0);
  return found;
}

function expandGlob(pattern: string, paths: string[]): string[] {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
  return paths.filter((p) => re.test(p)).sort();
}

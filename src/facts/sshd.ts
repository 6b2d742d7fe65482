import { probe } from '../core/probe.js';

export interface SshdFiles {
  /** the main config and every drop-in, in the order sshd reads them, with their text */
  files: { path: string; content: string }[];
}

/** The main config and every drop-in it may include; sshd's "first value wins" is computed from these. */
export const sshdFiles = probe<SshdFiles>(
  'sshd:files',
  `for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf; do [ -f "$f" ] || continue; printf '==> %s\\n' "$f"; cat "$f"; echo; done`,
  (out) => {
    const files: SshdFiles['files'] = [];
    for (const chunk of out.split(/^==> /m).slice(1)) {
      const nl = chunk.indexOf('\n');
      files.push({ path: chunk.slice(0, nl), content: chunk.slice(nl + 1).replace(/\n$/, '') });
    }
    return { files };
  },
);

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

function expandGlob(pattern: string, paths: string[]): string[] {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
  return paths.filter((p) => re.test(p)).sort();
}

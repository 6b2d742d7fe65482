import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';

export interface AptConfig {
  /** APT keyword (as apt-config dump spells it) -> value apt really uses; empty when apt-config is missing */
  dump: Record<string, string>;
  /** every APT configuration file that mentions one of the asked keywords, with its text */
  files: { path: string; content: string }[];
}

const FILES = '==files==';

/**
 * What APT really uses for some keywords (`apt-config dump`, every file applied), and the files that set
 * them, so a value defeated by another file can be traced to its line. Keys are matched without regard
 * to case, as APT does.
 */
export function aptConfig(keys: string[]) {
  const pattern = keys.map((k) => k.replace(/[.+*?()[\]{}|\\^$]/g, '\\$&')).join('|');
  return probe<AptConfig>(
    `apt-config:${keys.join(',')}`,
    [
      'command -v apt-config >/dev/null || exit 0',
      `apt-config dump 2>/dev/null | grep -iE ${shq(`^(${pattern}) `)}`,
      `echo ${FILES}`,
      `for f in /etc/apt/apt.conf.d/* /etc/apt/apt.conf; do [ -f "$f" ] && grep -qiE ${shq(pattern)} "$f" || continue; printf '==> %s\\n' "$f"; cat "$f"; echo; done`,
    ].join('\n'),
    parseAptConfig,
  );
}

export function parseAptConfig(out: string): AptConfig {
  const at = out.indexOf(`${FILES}\n`);
  const dump: Record<string, string> = {};
  for (const l of (at < 0 ? '' : out.slice(0, at)).split('\n')) {
    const m = /^(\S+) "(.*)";$/.exec(l.trim());
    if (m) dump[m[1]] = m[2];
  }
  const files: AptConfig['files'] = [];
  for (const chunk of (at < 0 ? '' : out.slice(at + FILES.length + 1)).split(/^==> /m).slice(1)) {
    const nl = chunk.indexOf('\n');
    files.push({ path: chunk.slice(0, nl), content: chunk.slice(nl + 1).replace(/\n$/, '') });
  }
  return { dump, files };
}

/** A plain `Key "value";` line, as apt.conf(5) files set scalars; 1-based line numbers. */
export function settingLines(content: string): { key: string; value: string; line: number }[] {
  const out: { key: string; value: string; line: number }[] = [];
  content.split('\n').forEach((raw, i) => {
    const m = /^\s*([A-Za-z0-9:_.-]+)\s+"([^"]*)"\s*;/.exec(raw);
    if (m) out.push({ key: m[1], value: m[2], line: i + 1 });
  });
  return out;
}

/**
 * The order APT reads its files: apt.conf.d in name order, then apt.conf; a later value wins. Names
 * APT skips (with other characters than letters, digits, _ - ., or backup suffixes) are left out.
 */
export function readOrder(paths: string[]): string[] {
  const parts = paths
    .filter((p) => p.startsWith('/etc/apt/apt.conf.d/'))
    .filter((p) => {
      const name = p.slice('/etc/apt/apt.conf.d/'.length);
      return /^[A-Za-z0-9_.-]+$/.test(name) && !/(\.disabled|\.dpkg-[a-z]+|\.ucf-[a-z]+|\.bak|~)$/.test(name);
    })
    .sort();
  return [...parts, ...(paths.includes('/etc/apt/apt.conf') ? ['/etc/apt/apt.conf'] : [])];
}

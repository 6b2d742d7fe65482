import { probe } from '../core/probe.js';
import { dumpAsTail, dumpFiles, fileDump, splitFileDump } from './dump.js';

export interface AptConfig {
  /** APT keyword (as apt-config dump spells it) -> value apt really uses; empty when apt-config is missing */
  dump: Record<string, string>;
  /** every APT configuration file that mentions one of the asked keywords, with its text */
  files: { path: string; content: string }[];
}

const FILES = '==files==';

/**
 * `apt-config dump` without its dpkg child. With APT::Architectures unset, apt asks `dpkg
 * --print-foreign-architectures` for the list; an empty entry given on the command line makes the list non-empty,
 * so apt does not ask, puts its own native architecture in front and drops the empty entry: the same dump
 * (Debian 12 and 13, checked; CommandLine::AsString aside), one process less. Where dpkg keeps an architecture list
 * of its own (/var/lib/dpkg/arch: foreign architectures added, or once were), dpkg is asked as before.
 */
export const APT_CONFIG_DUMP =
  'if [ -e /var/lib/dpkg/arch ] || [ -L /var/lib/dpkg/arch ]; then apt-config dump 2>/dev/null; else apt-config -o APT::Architectures::= dump 2>/dev/null; fi';

/** APT's configuration files, in the order the shell lists them */
const WORDS = ['/etc/apt/apt.conf.d/*', '/etc/apt/apt.conf'];

/**
 * What APT really uses for some keywords (`apt-config dump`, every file applied), and the files that set
 * them, so a value defeated by another file can be traced to its line. Keys are matched without regard
 * to case, as APT does.
 */
export function aptConfig(keys: string[]) {
  const pattern = keys.map((k) => k.replace(/[.+*?()[\]{}|\\^$]/g, '\\$&')).join('|');
  const line = new RegExp(`^(${pattern}) `, 'i');
  const mentions = new RegExp(pattern, 'i');
  const parse = (out: string) => {
    const at = out.indexOf(`${FILES}\n`);
    if (at < 0) return parseAptConfig(out);
    const dump = out.slice(0, at).split('\n').filter((l) => line.test(l));
    const { dump: values } = parseAptConfig(`${dump.join('\n')}\n${FILES}\n`);
    return { dump: values, files: splitFileDump(out.slice(at + FILES.length + 1)).filter((f) => mentions.test(f.content)) };
  };
  // the whole dump and every file, filtered here: one process for apt-config, the files from the play's one file dump
  const values = probe('apt-config:dump', `if command -v apt-config >/dev/null; then\n  ${APT_CONFIG_DUMP}\n  echo ${FILES}\nfi`, (out) => out, {
    inline: true,
    // apt-config parses every apt.conf.d file: about 5 ms
    cost: 5,
  });
  const files = fileDump(WORDS);
  return probe<AptConfig>(
    `apt-config:${keys.join(',')}`,
    [
      'if command -v apt-config >/dev/null; then',
      `  ${APT_CONFIG_DUMP}`,
      `  echo ${FILES}`,
      `  ${dumpFiles(WORDS).replace(/\n/g, '\n  ')}`,
      'fi',
    ].join('\n'),
    parse,
    {
      inline: true,
      compose: {
        parts: [values, files],
        // the files only where apt-config is (its dump ends with the marker)
        join: ([v, f]) => ({ stdout: v.stdout.includes(`${FILES}\n`) ? `${v.stdout}${dumpAsTail(f.stdout)}` : v.stdout, code: v.code }),
      },
    },
  );
}

export function parseAptConfig(out: string): AptConfig {
  const at = out.indexOf(`${FILES}\n`);
  const dump: Record<string, string> = {};
  for (const l of (at < 0 ? '' : out.slice(0, at)).split('\n')) {
    const m = /^(\S+) "(.*)";$/.exec(l.trim());
    if (m) dump[m[1]] = m[2];
  }
  return { dump, files: splitFileDump(at < 0 ? '' : out.slice(at + FILES.length + 1)) };
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

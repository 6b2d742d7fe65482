import { probe } from '../core/probe.js';

/** systemd-sysctl's directories, most important first: a file name in an earlier one hides the same name in later ones */
export const SYSCTL_DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'];

/**
 * Every sysctl.d file systemd-sysctl may read at boot, with its text (base64: exact, and no line of one
 * file can pose as another file). Which of them counts, and in which order, is the judge's business.
 */
export const sysctlFiles = probe<{ path: string; content: string }[]>(
  'sysctl:files',
  `for f in ${SYSCTL_DIRS.map((d) => `${d}/*.conf`).join(' ')}; do [ -f "$f" ] && [ -r "$f" ] || continue; printf 'F %s %s\\n' "$(base64 -w0 < "$f")" "$f"; done`,
  parseSysctlFiles,
);

export function parseSysctlFiles(out: string): { path: string; content: string }[] {
  return out.split('\n').flatMap((l) => {
    const m = /^F ([A-Za-z0-9+/=]*) (\/.*)$/.exec(l);
    return m ? [{ path: m[2], content: Buffer.from(m[1], 'base64').toString('utf8') }] : [];
  });
}

/**
 * The files in the order systemd-sysctl applies them (sysctl.d(5)): one file per name, the one in the
 * most important directory; sorted by name; a later value of a key wins.
 */
export function bootOrder(files: { path: string; content: string }[]): { path: string; content: string }[] {
  const byName = new Map<string, { path: string; content: string; rank: number }>();
  for (const f of files) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    const rank = SYSCTL_DIRS.indexOf(f.path.slice(0, f.path.lastIndexOf('/')));
    const had = byName.get(name);
    if (rank >= 0 && (!had || rank < had.rank)) byName.set(name, { ...f, rank });
  }
  return [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, f]) => ({ path: f.path, content: f.content }));
}

import { fileDump, parseSizedDump } from './dump.js';

/** systemd-sysctl's directories, most important first: a file name in an earlier one hides the same name in later ones */
export const SYSCTL_DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'];

/**
 * Every sysctl.d file systemd-sysctl may read at boot, with its text, from the play's one file dump (two
 * processes for every set of files: dump.ts). Which of them counts, and in which order, is the judge's business.
 */
export const sysctlFiles = fileDump(SYSCTL_DIRS.map((d) => `${d}/*.conf`));

/** "S SIZE PATH" per file, then their texts, as the dump prints them. */
export const parseSysctlFiles = parseSizedDump;

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

import { probe } from '../core/probe.js';

/** systemd-sysctl's directories, most important first: a file name in an earlier one hides the same name in later ones */
export const SYSCTL_DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'];

/**
 * Every sysctl.d file systemd-sysctl may read at boot, with its text, in two processes whatever their
 * number: `stat` prints each one's size ("S SIZE PATH"), then one `tail -v -c +1` prints them all, each
 * after a "==> PATH <==" header. The text is cut by size, so no line of one file can pose as another
 * file. Which of them counts, and in which order, is the judge's business.
 */
export const sysctlFiles = probe<{ path: string; content: string }[]>(
  'sysctl:files',
  [
    `set --; for __ss_f in ${SYSCTL_DIRS.map((d) => `${d}/*.conf`).join(' ')}; do [ -f "$__ss_f" ] && [ -r "$__ss_f" ] && set -- "$@" "$__ss_f"; done`,
    `[ $# -eq 0 ] || { stat -L -c 'S %s %n' -- "$@"; tail -v -c +1 -- "$@"; }`,
  ].join('\n'),
  parseSysctlFiles,
  { inline: true },
);

export function parseSysctlFiles(out: string): { path: string; content: string }[] {
  const buf = Buffer.from(out, 'utf8');
  const sizes: { path: string; size: number }[] = [];
  let cursor = 0;
  while (cursor < buf.length && buf.subarray(cursor, cursor + 2).toString() === 'S ') {
    const nl = buf.indexOf('\n', cursor);
    if (nl < 0) break;
    const m = /^S (\d+) (\/.*)$/.exec(buf.subarray(cursor, nl).toString('utf8'));
    if (m) sizes.push({ path: m[2], size: Number(m[1]) });
    cursor = nl + 1;
  }
  const files: { path: string; content: string }[] = [];
  sizes.forEach(({ path, size }, i) => {
    const header = Buffer.from(`${i === 0 ? '' : '\n'}==> ${path} <==\n`, 'utf8');
    const at = buf.indexOf(header, cursor);
    if (at < 0) return;
    const start = at + header.length;
    let end = start + size;
    // the file changed between stat and tail: up to the next header
    const last = i === sizes.length - 1;
    if (end > buf.length || (last ? end !== buf.length : buf.subarray(end, end + 5).toString() !== '\n==> ')) {
      const next = buf.indexOf('\n==> ', start);
      end = next < 0 || last ? buf.length : next;
    }
    files.push({ path, content: buf.subarray(start, end).toString('utf8') });
    cursor = end;
  });
  return files;
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

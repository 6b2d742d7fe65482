import { probe } from '../core/probe.js';

/** What apt's own simulation says `autoremove` or `autoclean` would do: one line per package or file. */
export interface AptCleanup {
  /** "name version" of each package autoremove would remove, or of each archive autoclean would delete */
  items: string[];
}

// apt-get's simulation reads the cache without its lock (any user may run it) and changes nothing; its
// summary lines are left to the parser, so no grep process follows it
const simulate = (command: string) => `apt-get -s -q -o Debug::NoLocking=true ${command} 2>/dev/null || true`;

/** The packages installed as dependencies that nothing needs any more (Ansible's autoremove; --purge: Purg lines). */
export function aptAutoremovable(purge: boolean) {
  return probe<AptCleanup>(`apt-autoremovable:${purge ? 'purge' : 'remove'}`, simulate(`autoremove${purge ? ' --purge' : ''}`), parseAutoremove);
}

/** The downloaded archives in /var/cache/apt/archives whose version no index offers any more (Ansible's autoclean). */
export const aptAutocleanable = probe<AptCleanup>('apt-autocleanable', simulate('autoclean'), parseAutoclean);

/** `Remv libjq1 [1.6-2.1]` or `Purg libjq1 [1.6-2.1]` -> "libjq1 1.6-2.1" */
export function parseAutoremove(out: string): AptCleanup {
  const items = out
    .split('\n')
    .map((l) => /^(?:Remv|Purg) (\S+)(?: \[([^\]]+)\])?/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => (m[2] ? `${m[1]} ${m[2]}` : m[1]));
  return { items };
}

/** `Del zzold 0.1 [0 B]` -> "zzold 0.1" */
export function parseAutoclean(out: string): AptCleanup {
  const items = out
    .split('\n')
    .map((l) => /^Del (\S+) (\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);
  return { items };
}

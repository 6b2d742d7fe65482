import { probe, type Batcher } from '../core/probe.js';
import { shJoin } from '../core/quote.js';
import { fileMtime } from './file.js';

/** One dpkg database entry as `dpkg-query -W` reports it. */
export interface DpkgEntry {
  name: string;
  arch: string;
  /** dpkg's third status word: installed, config-files, half-configured, unpacked, not-installed, ... */
  state: string;
  version: string;
}

export interface DpkgPackages {
  /** false when dpkg-query is missing: not a Debian-like host */
  available: boolean;
  entries: DpkgEntry[];
}

/**
 * A package name as apt takes it (`nginx`, `libc6:i386`, `nginx=1.22.1-9`), split into its parts.
 * Wildcards are refused by the apt schema, so nothing here has to match globs.
 */
export interface PackageSpec {
  name: string;
  arch?: string;
  version?: string;
}

export function parsePackageSpec(spec: string): PackageSpec {
  const [nameArch, version] = spec.split('=', 2) as [string, string | undefined];
  const [name, arch] = nameArch.split(':', 2) as [string, string | undefined];
  return { name, ...(arch ? { arch } : {}), ...(version ? { version } : {}) };
}

const DPKG_FORMAT = '${Package}\\t${Architecture}\\t${Status}\\t${Version}\\n';

export function parseDpkgQuery(out: string, exitCode: number): DpkgPackages {
  // 127: the shell found no dpkg-query; 1 only means some names are unknown, which parse as absent
  if (exitCode === 127) return { available: false, entries: [] };
  const entries: DpkgEntry[] = [];
  for (const line of out.split('\n')) {
    const [name, arch, status, version] = line.split('\t');
    if (!name || status === undefined) continue;
    entries.push({ name, arch, state: status.split(' ')[2] ?? 'not-installed', version: version ?? '' });
  }
  return { available: true, entries };
}

/** dpkg's view of the named packages; names dpkg never heard of simply produce no line. */
export function dpkgPackages(names: readonly string[]) {
  const bare = [...new Set(names.map((n) => parsePackageSpec(n).name))].sort();
  return probe<DpkgPackages>(
    `dpkg:${bare.join(' ')}`,
    `command -v dpkg-query >/dev/null || exit 127\ndpkg-query -W -f='${DPKG_FORMAT}' -- ${shJoin(bare)}`,
    parseDpkgQuery,
    { batch: { batcher: dpkgBatcher, key: bare.join(' ') } },
  );
}

const NO_DPKG = '@@ss-no-dpkg-query';

/** Every package a play asks about in one dpkg-query; each probe gets the lines of its own names. */
export const dpkgBatcher: Batcher = {
  id: 'dpkg',
  // dpkg-query reads the whole status database: about 3 ms
  cost: () => 3,
  script(keys) {
    const names = [...new Set(keys.flatMap((k) => k.split(' ')).filter(Boolean))].sort();
    return `if command -v dpkg-query >/dev/null; then dpkg-query -W -f='${DPKG_FORMAT}' -- ${shJoin(names)}; else echo ${NO_DPKG}; fi`;
  },
  split(stdout, code, keys) {
    if (stdout.includes(`${NO_DPKG}\n`)) return keys.map(() => ({ stdout: '', code: 127 }));
    const lines = stdout.split('\n').filter((l) => l.includes('\t'));
    return keys.map((k) => {
      const mine = new Set(k.split(' '));
      const own = lines.filter((l) => mine.has(l.slice(0, l.indexOf('\t'))));
      return { stdout: own.map((l) => `${l}\n`).join(''), code };
    });
  },
};

/** States in which the package's files are in place and configured (triggers may still be pending). */
const INSTALLED = new Set(['installed', 'triggers-awaited', 'triggers-pending']);

export interface PackageStatus {
  installed: boolean;
  /** installed version, or the version of a broken (half-configured, unpacked) install */
  version?: string;
  /** dpkg knows the package but it is neither installed nor cleanly absent */
  broken?: string;
  /** removed, but its configuration files remain (dpkg state rc): purge still has work */
  configFiles: boolean;
}

export function packageStatus(facts: DpkgPackages, spec: PackageSpec): PackageStatus {
  const mine = facts.entries.filter((e) => e.name === spec.name && (!spec.arch || e.arch === spec.arch || e.arch === 'all'));
  const installed = mine.find((e) => INSTALLED.has(e.state));
  if (installed) return { installed: true, version: installed.version, configFiles: false };
  const broken = mine.find((e) => !['not-installed', 'config-files'].includes(e.state));
  if (broken) return { installed: false, version: broken.version, broken: broken.state, configFiles: false };
  return { installed: false, configFiles: mine.some((e) => e.state === 'config-files') };
}

/** `apt-cache policy` candidates by the name as asked (with its :arch); undefined = apt knows no candidate. */
export type AptCandidates = Record<string, string | undefined>;

export function parseAptPolicy(out: string): AptCandidates {
  const result: AptCandidates = {};
  let current: string | undefined;
  for (const line of out.split('\n')) {
    const header = /^(\S+):$/.exec(line);
    if (header) {
      current = header[1];
      continue;
    }
    const cand = /^\s+Candidate:\s*(\S+)/.exec(line);
    if (cand && current) result[current] = cand[1] === '(none)' ? undefined : cand[1];
  }
  return result;
}

/** apt-cache prints the native architecture without its suffix (`libc6:` for `libc6:amd64`). */
export function candidateFor(cands: AptCandidates, spec: PackageSpec): string | undefined {
  const asked = spec.arch ? `${spec.name}:${spec.arch}` : spec.name;
  return asked in cands ? cands[asked] : cands[spec.name];
}

export function aptCandidates(names: readonly string[]) {
  const asked = [...new Set(names.map((n) => n.split('=')[0]))].sort();
  return probe<AptCandidates>(`apt-policy:${asked.join(' ')}`, `apt-cache policy -- ${shJoin(asked)}`, (out) => parseAptPolicy(out));
}

export interface AptCache {
  /** the host's clock, so cache age never depends on the controller's */
  now: number;
  /** last successful `apt-get update` as far as the host can tell (epoch seconds); undefined = never */
  updated?: number;
  /** any package index downloaded at all (fresh container images ship none) */
  hasLists: boolean;
}

export const UPDATE_STAMP = '/var/lib/apt/periodic/update-success-stamp';
const LISTS = '/var/lib/apt/lists';

export function parseAptCache(out: string): AptCache {
  const [now, stamp, lists, has] = out.trim().split(/\s+/);
  const times = [stamp, lists].map(Number).filter((t) => Number.isFinite(t) && t > 0);
  return { now: Number(now), ...(times.length ? { updated: Math.max(...times) } : {}), hasLists: has === 'yes' };
}

/**
 * Ansible reads the stamp if present, else the lists directory's mtime. We take the newer of both:
 * an `apt-get update` that downloaded nothing new leaves the directory untouched, and the stamp
 * (written by our update step and by Ubuntu's apt hooks) may be missing on plain Debian.
 */
export function aptCache() {
  return probe<AptCache>(
    'apt:cache',
    [
      `__ss_s=0; __ss_l=0; __ss_n=`,
      // the host's clock from the same stat: a process's own /proc/PID folder is made when it is looked up, so
      // /proc/self/ (followed) has the mtime "now", to the second as \`date +%s\` would say, at no extra process
      `for __ss_x in $(stat -c '%Y:%n' -- ${UPDATE_STAMP} ${LISTS} /proc/self/ 2>/dev/null); do case $__ss_x in *:${UPDATE_STAMP}) __ss_s=\${__ss_x%%:*};; *:${LISTS}) __ss_l=\${__ss_x%%:*};; *:/proc/self/) __ss_n=\${__ss_x%%:*};; esac; done`,
      `__ss_h=no; for __ss_x in ${LISTS}/*_Packages*; do [ -e "$__ss_x" ] && __ss_h=yes; break; done`,
      `[ -n "$__ss_n" ] || __ss_n=$(date +%s)`,
      `echo "$__ss_n $__ss_s $__ss_l $__ss_h"`,
    ].join('\n'),
    parseAptCache,
    {
      inline: true,
      compose: {
        // both times and the clock (/proc/self/, as above) from the play's one stat; whether lists exist here
        parts: [
          fileMtime(UPDATE_STAMP),
          fileMtime(LISTS),
          fileMtime('/proc/self/'),
          probe('apt:lists', `__ss_h=no; for __ss_x in ${LISTS}/*_Packages*; do [ -e "$__ss_x" ] && __ss_h=yes; break; done; echo "$__ss_h"`, (out) => out, { inline: true }),
        ],
        join: ([stamp, lists, now, has]) => {
          const time = (a: { stdout: string }) => /^(\d+) /.exec(a.stdout)?.[1] ?? '0';
          return { stdout: `${time(now)} ${time(stamp)} ${time(lists)} ${has.stdout.trim()}\n`, code: has.code };
        },
      },
    },
  );
}

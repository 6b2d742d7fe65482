/**
 * The packages of every apt task of a play, downloaded in ONE apt transaction before the play's first
 * task (`apt-get install --download-only`): apt fetches them all at once, and each task's own install
 * then finds its packages in apt's cache, in the order the roles wrote. Not a module a playbook names:
 * the engine plans it (src/engine/apt-prefetch.ts) from the apt tasks that will run.
 *
 * It changes nothing a task manages (no package is installed, no configuration written; it fills
 * /var/cache/apt/archives and, when the tasks' cache_valid_time calls for it, refreshes the index the
 * first install would have refreshed anyway): the engine reports it as ok, never as a change.
 */
import { z } from 'zod';
import { defineModule, type Plan, type PlanContext } from '../core/module.js';
import { shJoin } from '../core/quote.js';
import { run, sh, type Step } from '../core/step.js';
import { aptCache, dpkgPackages, packageStatus, parsePackageSpec, UPDATE_STAMP, type AptCache, type DpkgPackages } from '../facts/apt.js';
import { cacheAge, ENV, retryOf, updateScript, UPDATE_WHY, type AptArgs } from './apt.js';
import { boundedApt, DEFAULT_APT_TIMEOUT } from './apt-network.js';

export interface PrefetchArgs {
  /** the arguments of each apt task the play will run, in play order (only installs: state present or latest) */
  tasks: AptArgs[];
}

/** One dpkg probe per task, the very probes those tasks gather: they are read once, no extra process. */
const packagesKey = (i: number) => `packages${i}`;

export const WHY_DOWNLOAD = 'download the packages of the apt tasks below in one apt-get --download-only transaction (nothing is installed here)';

export default defineModule({
  name: 'apt_prefetch',
  summary: 'Download the packages of the play\'s apt tasks in one apt transaction (planned by the engine)',
  // built by the engine from apt arguments already validated by the apt schema
  schema: z.custom<PrefetchArgs>((v) => typeof v === 'object' && v !== null && Array.isArray((v as PrefetchArgs).tasks)),
  facts: (a: PrefetchArgs) => ({
    ...Object.fromEntries(a.tasks.map((t, i) => [packagesKey(i), dpkgPackages(t.name!)])),
    cache: aptCache(),
  }),
  plan(a: PrefetchArgs, f: Record<string, unknown>, ctx: PlanContext): Plan {
    const cache = f.cache as AptCache;
    const missing = a.tasks.map((t, i) => ({ task: t, words: toInstall(t, f[packagesKey(i)] as DpkgPackages) })).filter((m) => m.words.length);
    if (missing.length === 0) return { steps: [], reason: 'every package of the play\'s apt tasks is installed: nothing to download' };
    // the first task that would refresh the index refreshes it here instead, before anything is resolved;
    // its stamp then tells every later task the index is fresh (cache_valid_time holds across the run)
    const refresher = missing.map((m) => ({ task: m.task, stale: cacheAge(m.task, cache) })).find((r) => r.stale !== undefined);
    const steps: Step[] = [];
    const what: string[] = [];
    const bound = ctx?.aptTimeoutSec ?? DEFAULT_APT_TIMEOUT;
    if (refresher) {
      // that task's own update_cache_retries: the update is the one it would have run
      steps.push(sh(updateScript(bound, retryOf(refresher.task)), UPDATE_WHY));
      steps.push(run(['touch', UPDATE_STAMP]));
      what.push(`update apt cache (${refresher.stale})`);
    }
    const lock = Math.max(...missing.map((m) => m.task.lock_timeout));
    steps.push(sh(downloadScript(groups(missing.map((m) => ({ words: m.words, recommends: m.task.install_recommends }))), lock, bound), WHY_DOWNLOAD));
    const names = [...new Set(missing.flatMap((m) => m.words))];
    what.push(`download ${names.join(', ')} and what they need, for ${missing.length} apt task${missing.length > 1 ? 's' : ''} (their own installs run in order)`);
    return { steps, reason: what.join('; '), cacheOnly: true };
  },
});

/** The words of an apt task that its install would act on: packages not installed, or not at the pinned version. */
export function toInstall(a: AptArgs, packages: DpkgPackages | undefined): string[] {
  if (!packages?.available) return [];
  return (a.name ?? []).filter((word) => {
    const spec = parsePackageSpec(word);
    const st = packageStatus(packages, spec);
    return !st.installed || (spec.version !== undefined && st.version !== spec.version);
  });
}

interface Group {
  words: string[];
  /** undefined: apt's configured default (Debian installs recommends) */
  recommends?: boolean;
}

/** Tasks that install with the same recommends setting resolve together. */
function groups(tasks: Group[]): Group[] {
  const by = new Map<string, Group>();
  for (const t of tasks) {
    const key = String(t.recommends);
    const g = by.get(key) ?? { words: [], ...(t.recommends !== undefined ? { recommends: t.recommends } : {}) };
    g.words.push(...t.words.filter((w) => !g.words.includes(w)));
    by.set(key, g);
  }
  return [...by.values()];
}

/**
 * apt resolves each group as its install would (`apt-get -s`, with that group's recommends setting),
 * then downloads the union of what those installs would unpack in one `--download-only` transaction,
 * exact versions and no recommends of its own: what is fetched is what the installs will use. A group
 * apt cannot resolve (a package unknown to the index) is left to its task, which reports apt's error
 * in its place, as without the prefetch.
 */
export function downloadScript(gs: Group[], lockTimeout: number, seconds = DEFAULT_APT_TIMEOUT): string {
  const rec = (g: Group) => (g.recommends === undefined ? '' : g.recommends ? ' --install-recommends' : ' --no-install-recommends');
  return [
    'pkgs=',
    ...gs.flatMap((g) => [
      `if out=$(apt-get -s -q -o Debug::NoLocking=1${rec(g)} install -- ${shJoin(g.words)} 2>&1); then`,
      // "Inst name [old] (version origin [arch])": name=version, so the download is the version apt chose
      `  pkgs="$pkgs $(printf '%s\\n' "$out" | sed -n 's/^Inst \\([^ ]*\\) \\(\\[[^]]*\\] \\)\\{0,1\\}(\\([^ ]*\\) .*/\\1=\\3/p')"`,
      'else',
      `  printf 'left to its own task (apt cannot resolve it now): %s\\n' ${shJoin([g.words.join(' ')])}; printf '%s\\n' "$out" | grep '^E:' || true`,
      'fi',
    ]),
    // names and versions are apt's own ([a-z0-9.+~:=-]): plain word splitting is safe
    'set -- $pkgs',
    `[ "$#" -gt 0 ] || { echo 'nothing to download'; exit 0; }`,
    `echo "downloading $# packages"`,
    // the only network of the prefetch, bounded; it never starts dpkg, so stopping it leaves dpkg as it was
    `export ${Object.entries(ENV).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    ...boundedApt({ options: `-o DPkg::Lock::Timeout=${lockTimeout}`, command: '-q -y --download-only --no-install-recommends install -- "$@"' }, seconds, 'apt-get --download-only'),
    `printf '%s\\n' "$out"`,
    'exit "$rc"',
  ].join('\n');
}

import { z } from 'zod';
import { defineModule, type Plan, type PlanContext } from '../core/module.js';
import { run, sh, type Step } from '../core/step.js';
import {
  aptCache,
  aptCandidates,
  candidateFor,
  dpkgPackages,
  packageStatus,
  parsePackageSpec,
  UPDATE_STAMP,
  type AptCache,
  type AptCandidates,
  type DpkgPackages,
} from '../facts/apt.js';
import { aptAutocleanable, aptAutoremovable, type AptCleanup } from '../facts/apt-cleanup.js';
import { aptUpgradable, type Upgradable } from '../facts/apt-upgrade.js';
import { boundedApt, DEFAULT_APT_TIMEOUT } from './apt-network.js';

// Debian package names, an optional :arch and an optional =version; apt's own syntax, minus globs,
// so that dpkg-query answers exactly the question asked
const PACKAGE = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$/;

// unattended-upgrades on a freshly booted VPS holds the lock for minutes
const DEFAULT_LOCK_TIMEOUT = 300;

const names = z
  .union([z.string(), z.array(z.string())])
  // Ansible accepts "a,b" as a list too
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
  .pipe(
    z
      .array(z.string().regex(PACKAGE, 'a package name like "nginx", "libc6:i386" or "nginx=1.22.1-9" (wildcards are not supported)'))
      .min(1),
  );

/** Ansible's update_cache_retries and update_cache_retry_max_delay. */
export interface UpdateRetry {
  attempts: number;
  maxDelay: number;
}
export const ANSIBLE_RETRY: UpdateRetry = { attempts: 5, maxDelay: 12 };

/** The two arguments, as Ansible's apt and apt_repository both take them (their defaults are Ansible's). */
export const UPDATE_RETRY_ARGS = {
  /** attempts at a failed `apt-get update` (a mirror's 503, a broken network) */
  update_cache_retries: z.number().int().positive().default(ANSIBLE_RETRY.attempts),
  /** the longest wait between those attempts, in seconds (the waits double from 1 s up to it) */
  update_cache_retry_max_delay: z.number().int().nonnegative().default(ANSIBLE_RETRY.maxDelay),
};

const schema = z
  .object({
    name: names.optional(),
    state: z.enum(['present', 'absent', 'latest']).default('present'),
    /** run `apt-get update` first; see `cacheDecision` for when exactly */
    update_cache: z.boolean().optional(),
    /** seconds; as in Ansible >= 2.4, setting it implies update_cache unless that is explicitly false */
    cache_valid_time: z.number().int().nonnegative().optional(),
    purge: z.boolean().default(false),
    /** unset = whatever apt is configured to do (Debian's default installs recommends), as in Ansible */
    install_recommends: z.boolean().optional(),
    /**
     * seconds to wait for another apt or dpkg (unattended-upgrades at boot, cloud-init) to release
     * the dpkg lock before failing, as Ansible's lock_timeout (whose default is 60 s)
     */
    lock_timeout: z.number().int().nonnegative().default(DEFAULT_LOCK_TIMEOUT),
    /** Ansible's upgrade: yes/safe = `apt-get upgrade --with-new-pkgs`, full/dist = `apt-get dist-upgrade`, no = none */
    upgrade: z
      .union([z.boolean(), z.enum(['no', 'yes', 'safe', 'full', 'dist'])])
      .transform((v) => (v === true ? 'yes' : v === false ? 'no' : v))
      .default('no'),
    /** accepted as in Ansible: shipshape always uses apt-get */
    force_apt_get: z.boolean().optional(),
    /** Ansible's: remove the dependencies nothing needs any more (with `purge`, their configuration too); alone too */
    autoremove: z.boolean().default(false),
    /** Ansible's: delete downloaded archives no index offers any more; alone too */
    autoclean: z.boolean().default(false),
    ...UPDATE_RETRY_ARGS,
    /** Ansible's: dpkg's --force options for installs, upgrades and removals, comma-separated */
    dpkg_options: z
      .string()
      .regex(/^[a-z][a-z0-9-]*(,[a-z][a-z0-9-]*)*$/, 'dpkg options without their dashes, comma-separated, e.g. "force-confdef,force-confold"')
      .default('force-confdef,force-confold'),
  })
  .strict()
  .refine((a) => a.name || a.update_cache || a.cache_valid_time !== undefined || a.upgrade !== 'no' || a.autoremove || a.autoclean, {
    message: 'apt needs name, update_cache or cache_valid_time (or upgrade, autoremove, autoclean)',
  })
  .refine((a) => a.state !== 'latest' || !a.name?.some((n) => n.includes('=')), {
    message: 'state: latest cannot be combined with a pinned version (name=version)',
  });

type Args = z.infer<typeof schema>;
/** An apt task's arguments as its plan sees them (defaults applied). */
export type AptArgs = Args;

interface AptFacts {
  upgradable?: Upgradable;
  removable?: AptCleanup;
  cleanable?: AptCleanup;
  packages?: DpkgPackages;
  candidates?: AptCandidates;
  cache?: AptCache;
}

// Ubuntu (22.04 on) runs needrestart after every install: with a UI other than debconf's it would ask on
// stdin which services to restart. NEEDRESTART_MODE=a answers as noninteractive debconf does (restart them).
export const ENV = { DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' };
// wait for a dpkg lock held by unattended-upgrades or cloud-init on a fresh VPS instead of failing at once
const LOCK = ['-o', 'DPkg::Lock::Timeout=300'];
const CONFIGURE = 'finish a dpkg run interrupted earlier (dpkg --configure -a), if any';
const lockOpts = (a: Args) => ['-o', `DPkg::Lock::Timeout=${a.lock_timeout}`];
// dpkg_options, Ansible's default: keep locally edited config files on upgrades without prompting (there is
// no terminal to prompt on)
const conf = (a: Args) => a.dpkg_options.split(',').flatMap((o) => ['-o', `Dpkg::Options::=--${o}`]);

/**
 * `apt-get update` that waits (up to 5 minutes) for another apt holding the lists lock, which
 * DPkg::Lock::Timeout does not cover: apt-daily holds it on a freshly booted VPS. Any other error is asked
 * again `retry.attempts` times in all, the waits doubling from 1 s up to `retry.maxDelay` (Ansible's
 * update_cache_retries), and then fails with apt's message. Each attempt's network is bounded
 * (apt-network.ts): a mirror or proxy that never answers ends the task with a report, not the run's wait.
 */
export function aptUpdateScript(options: string, seconds: number, flags = '', retry: UpdateRetry = ANSIBLE_RETRY): string {
  const max = retry.maxDelay;
  return [
    'n=0; t=1; d=1',
    'while :; do',
    ...boundedApt({ options, command: `-q ${flags ? `${flags} ` : ''}update` }, seconds, 'apt-get update').map((l) => `  ${l}`),
    '  [ "$rc" -ne 0 ] || break',
    `  case $out in *'Could not get lock'*)`,
    `    n=$((n + 1)); if [ "$n" -ge 60 ]; then printf '%s\\n' "$out"; exit 100; fi`,
    '    sleep 5; continue ;;',
    '  esac',
    // any other failure (a mirror's or proxy's 5xx, a network gone for a moment) is asked again, as Ansible's
    // update_cache_retries; the bound above is not: that run already waited --apt-timeout
    `  if [ "$t" -ge ${retry.attempts} ]; then printf '%s\\n' "$out"; exit 100; fi`,
    `  printf '%s\\n' "$out" "apt-get update failed (attempt $t of ${retry.attempts}): trying again in \${d}s"`,
    `  sleep "$d"; t=$((t + 1)); d=$((d * 2)); [ "$d" -le ${max} ] || d=${max}`,
    'done',
    `printf '%s\\n' "$out"`,
  ].join('\n');
}

export const retryOf = (a: Pick<Args, 'update_cache_retries' | 'update_cache_retry_max_delay'>): UpdateRetry => ({
  attempts: a.update_cache_retries,
  maxDelay: a.update_cache_retry_max_delay,
});

/** The apt module's `apt-get update`, bounded at `seconds` of network (--apt-timeout). */
export const updateScript = (seconds: number, retry: UpdateRetry = ANSIBLE_RETRY) => aptUpdateScript(LOCK.join(' '), seconds, '', retry);

export const UPDATE_WHY = 'apt-get update (waiting for another apt to release the lists lock)';

const upgradeCommand = (a: Args) => (a.upgrade === 'full' || a.upgrade === 'dist' ? 'dist-upgrade' : 'upgrade');

export const wantsUpdate = (a: Args) => a.update_cache ?? a.cache_valid_time !== undefined;

export default defineModule({
  name: 'apt',
  summary: 'Install, upgrade or remove Debian packages, updating the apt cache when needed (Ansible: apt)',
  schema,
  aliases: { pkg: 'name', package: 'name', 'update-cache': 'update_cache', 'install-recommends': 'install_recommends' },
  installsWith: 'apt',
  notYet: {
    deb: 'fetch the file with get_url, then install it with `command: apt-get install -y /path/to/file.deb` and `creates:` a file it installs',
    default_release: 'name the version to install (`name: nginx=1.26.0-1~bpo12+1`), or pin the release in /etc/apt/preferences.d with copy',
    allow_unauthenticated: 'give the repository its signing key (apt_repository `key`, `key_src` or `signed_by`)',
    allow_downgrade: 'remove the newer version first (state: absent), then install the one named (name=version)',
    allow_change_held_packages: 'release the hold first (`command: apt-mark unhold NAME`)',
    only_upgrade: 'use state: latest on packages that are installed (guard the task with `when` on package facts)',
    policy_rc_d: "a package's services start as Debian's packaging decides; stop or mask them with a service task after the install",
    fail_on_autoremove: 'remove it: apt-get is never asked to autoremove unless `autoremove: true`',
    clean: 'use `autoclean: true` (archives no index offers), or `command: apt-get clean`',
  },
  facts: (a: Args) => ({
    ...(a.name ? { packages: dpkgPackages(a.name) } : {}),
    ...(a.name && a.state === 'latest' ? { candidates: aptCandidates(a.name) } : {}),
    ...(wantsUpdate(a) ? { cache: aptCache() } : {}),
    ...(a.upgrade !== 'no' ? { upgradable: aptUpgradable(upgradeCommand(a)) } : {}),
    ...(a.autoremove ? { removable: aptAutoremovable(a.purge) } : {}),
    ...(a.autoclean ? { cleanable: aptAutocleanable } : {}),
  }),
  // removing the SSH server cuts every later login: refused before the play changes anything
  preflight: (a: Args) =>
    a.state === 'absent' && (a.name ?? []).some((n) => /^openssh-server([:=]|$)/.test(n))
      ? 'this would remove openssh-server, the SSH server this run and every later login come through: refused. Remove it from the list.'
      : undefined,
  plan(a: Args, f: AptFacts, ctx: PlanContext): Plan {
    if (f.packages && !f.packages.available) {
      return { steps: [], reason: 'dpkg-query not found', fail: 'apt: this host has no dpkg-query; apt only manages Debian and Ubuntu hosts' };
    }
    let stale = cacheAge(a, f.cache);
    const pkgs = a.name ? packageChanges(a, f, stale !== undefined) : { words: [], changes: [], ok: [] };
    // named packages already as declared (not `latest`): an old index is of no use, and refreshing it would be
    // a "change" every hour, so a daily `check` would never come back clean (Ansible reports no change there)
    const idle = stale !== undefined && a.name !== undefined && a.state !== 'latest' && pkgs.words.length === 0 && f.cache?.updated !== undefined;
    if (idle) stale = undefined;
    // update_cache without cache_valid_time: refresh only right before installing something. Updating on
    // every run would report a change every run; with nothing to install, a fresh index is of no use.
    const update = stale ?? (wantsUpdate(a) && a.cache_valid_time === undefined && a.state !== 'absent' && pkgs.words.length > 0 ? 'before installing' : undefined);

    const steps: Step[] = [];
    const what: string[] = [];
    if (update) {
      const bound = ctx?.aptTimeoutSec ?? DEFAULT_APT_TIMEOUT;
      steps.push(sh(updateScript(bound, retryOf(a)), UPDATE_WHY));
      // the stamp is what the next run's cache_valid_time check reads; an update that fetched nothing new
      // would otherwise leave no trace and the cache would look stale forever
      steps.push(run(['touch', UPDATE_STAMP]));
      what.push(`update apt cache (${update})`);
    }
    if (pkgs.words.length) {
      steps.push(sh(configureInterrupted(a.lock_timeout), CONFIGURE));
      steps.push(pkgs.remove ? removeStep(a, pkgs.words) : installStep(a, pkgs.words));
      what.push(...pkgs.changes);
    }
    const upgrades = f.upgradable?.packages ?? [];
    // after a cache update the simulation read the old index: upgrade, and let apt say whether it did anything
    if (a.upgrade !== 'no' && (upgrades.length || update)) {
      if (!pkgs.words.length) steps.push(sh(configureInterrupted(a.lock_timeout), CONFIGURE));
      steps.push(run(['apt-get', ...lockOpts(a), ...conf(a), '-y', '-q', ...(upgradeCommand(a) === 'upgrade' ? ['--with-new-pkgs'] : []), upgradeCommand(a)], { env: ENV }));
      what.push(upgrades.length ? `${upgradeCommand(a)}: ${upgrades.join(', ')}` : `${upgradeCommand(a)} with the updated cache`);
    }
    // the simulations read the host before this task's own changes: after a change (or a cache update, for
    // autoclean) they run anyway and apt decides, so the next run finds nothing left to do
    const changing = steps.length > 0;
    const removable = f.removable?.items ?? [];
    if (a.autoremove && (removable.length || changing)) {
      steps.push(run(['apt-get', ...lockOpts(a), '-y', '-q', ...(a.purge ? ['--purge'] : []), 'autoremove'], { env: ENV }));
      what.push(removable.length ? `${a.purge ? 'autoremove --purge' : 'autoremove'} ${removable.join(', ')}` : 'autoremove what the changes above leave unused');
    }
    const cleanable = f.cleanable?.items ?? [];
    if (a.autoclean && (cleanable.length || update)) {
      steps.push(run(['apt-get', ...lockOpts(a), '-q', 'autoclean'], { env: ENV }));
      what.push(cleanable.length ? `autoclean ${cleanable.length} archive${cleanable.length > 1 ? 's' : ''} no index offers (${cleanable.join(', ')})` : 'autoclean with the updated cache');
    }
    if (steps.length) return { steps, reason: what.join('; ') };
    const upToDate = a.upgrade !== 'no' ? 'no package to upgrade' : '';
    const clean = [a.autoremove ? 'no package to autoremove' : '', a.autoclean ? 'no archive to autoclean' : ''];
    return { steps, reason: [...pkgs.ok, upToDate, ...clean, cacheNote(a, f.cache)].filter(Boolean).join('; ') };
  },
});

function installStep(a: Args, words: string[]): Step {
  const rec = a.install_recommends === undefined ? [] : a.install_recommends ? ['--install-recommends'] : ['--no-install-recommends'];
  return run(['apt-get', ...lockOpts(a), ...conf(a), '-y', '-q', ...rec, 'install', '--', ...words], { env: ENV });
}

function removeStep(a: Args, words: string[]): Step {
  return run(['apt-get', ...lockOpts(a), ...conf(a), '-y', '-q', a.purge ? 'purge' : 'remove', '--', ...words], { env: ENV });
}

/**
 * A dpkg run cut short earlier (a lost connection, a reboot, Ctrl-C) makes every apt-get refuse with
 * "dpkg was interrupted": finish it first, as apt tells you to. dpkg itself does not wait for its
 * lock, so a lock held by another apt is waited for here, as long as apt-get would wait.
 */
export function configureInterrupted(lockTimeout: number): string {
  // a subshell of its own: its `exit 0` must end this check, not the task's steps after it
  return [
    '(',
    // what apt checks ("dpkg was interrupted": dpkg's update journal is not empty), and packages left half-done
    '[ -z "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ] && [ -z "$(dpkg --audit 2>/dev/null)" ] && exit 0',
    "echo 'dpkg was interrupted earlier: running dpkg --configure -a first'",
    `n=0; until out=$(DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a dpkg --force-confdef --force-confold --configure -a 2>&1); do`,
    `  case $out in *lock*) ;; *) printf '%s\\n' "$out"; exit 1 ;; esac`,
    `  n=$((n + 5)); if [ "$n" -gt ${lockTimeout} ]; then printf '%s\\n' "$out" "the dpkg lock was held for more than ${lockTimeout}s (lock_timeout)"; exit 1; fi`,
    '  sleep 5',
    'done',
    `printf '%s\\n' "$out"`,
    ')',
  ].join('\n');
}

interface PackageChanges {
  /** the package arguments for apt-get */
  words: string[];
  remove?: boolean;
  changes: string[];
  ok: string[];
}

function packageChanges(a: Args, f: AptFacts, updating: boolean): PackageChanges {
  if (a.state === 'absent') return removals(a, f.packages!);
  const words: string[] = [];
  const install: string[] = [];
  const upgrade: string[] = [];
  const refresh: string[] = [];
  const ok: string[] = [];
  for (const word of a.name ?? []) {
    const spec = parsePackageSpec(word);
    const label = word.split('=')[0];
    const st = packageStatus(f.packages!, spec);
    const cand = a.state === 'latest' ? candidateFor(f.candidates ?? {}, spec) : undefined;
    if (!st.installed) {
      words.push(word);
      install.push(st.broken ? `${word} (dpkg state ${st.broken})` : word);
    } else if (spec.version && st.version !== spec.version) {
      words.push(word);
      upgrade.push(`${label} ${st.version} -> ${spec.version}`);
    } else if (a.state === 'latest' && updating) {
      // the candidate known now comes from the stale index; the real one is known only after the update
      words.push(word);
      refresh.push(label);
    } else if (a.state === 'latest' && cand && cand !== st.version) {
      words.push(word);
      upgrade.push(`${label} ${st.version} -> ${cand}`);
    } else ok.push(`${label} ${st.version}`);
  }
  const changes = [
    install.length ? `install ${install.join(', ')}` : '',
    upgrade.length ? `upgrade ${upgrade.join(', ')}` : '',
    refresh.length ? `upgrade ${refresh.join(', ')} if the updated cache has newer versions` : '',
  ].filter(Boolean);
  const state = a.state === 'latest' ? 'at the latest version' : 'installed';
  return { words, changes, ok: ok.length ? [`${ok.join(', ')} already ${state}`] : [] };
}

function removals(a: Args, packages: DpkgPackages): PackageChanges {
  const words: string[] = [];
  const gone: string[] = [];
  const ok: string[] = [];
  for (const word of a.name ?? []) {
    const label = word.split('=')[0];
    const st = packageStatus(packages, parsePackageSpec(word));
    // a removed package's config files (dpkg state rc) are still work for purge
    if (st.installed || st.broken || (a.purge && st.configFiles)) {
      words.push(label);
      gone.push(st.version ? `${label} ${st.version}` : `${label} (config files)`);
    } else ok.push(label);
  }
  const verb = a.purge ? 'purge' : 'remove';
  return { words, remove: true, changes: gone.length ? [`${verb} ${gone.join(', ')}`] : [], ok: ok.length ? [`${ok.join(', ')} already absent`] : [] };
}

/** Why the cache must be updated because of its age, or undefined when its age does not call for it. */
export function cacheAge(a: Args, cache: AptCache | undefined): string | undefined {
  if (!wantsUpdate(a) || !cache) return undefined;
  if (!cache.hasLists || cache.updated === undefined) return 'no package index yet';
  if (a.cache_valid_time === undefined) return undefined;
  const age = cache.now - cache.updated;
  return age > a.cache_valid_time ? `last updated ${duration(age)} ago, valid for ${duration(a.cache_valid_time)}` : undefined;
}

function cacheNote(a: Args, cache: AptCache | undefined): string {
  if (!wantsUpdate(a) || !cache || cache.updated === undefined) return '';
  const age = `apt cache updated ${duration(Math.max(0, cache.now - cache.updated))} ago`;
  if (a.cache_valid_time !== undefined) {
    const old = cache.now - cache.updated > a.cache_valid_time;
    return `${age} (valid for ${duration(a.cache_valid_time)}${old && a.name ? '; refreshed when something is to be installed' : ''})`;
  }
  return `${age}; not refreshed as nothing is to be installed (set cache_valid_time to refresh it periodically)`;
}

/** Whole units where they fit ("1h", "3d"), so reasons echo what the playbook said. */
function duration(seconds: number): string {
  for (const [unit, n] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= n && (seconds % n === 0 || seconds >= 2 * n)) return `${Math.round(seconds / n)}${unit}`;
  }
  return `${seconds}s`;
}

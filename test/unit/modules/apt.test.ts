import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostInfo, Plan } from '../../../src/core/module.js';
import { describeStep } from '../../../src/core/step.js';
import { parseAptCache, parseAptPolicy, parseDpkgQuery } from '../../../src/facts/apt.js';
import { parseAutoclean, parseAutoremove } from '../../../src/facts/apt-cleanup.js';
import apt, { updateScript } from '../../../src/modules/apt.js';
import { debian12, sshAccess } from '../helpers/plan.js';

/** planFor() for a module not yet in the registry: schema applied, fixture facts checked against the module's. */
function plan(args: unknown, facts: Record<string, unknown>, host: Partial<HostInfo> = {}): Plan {
  const a = apt.schema.parse(args);
  expect(Object.keys(facts).sort()).toEqual(Object.keys(apt.facts(a)).sort());
  return apt.plan(a, facts as never, { host: { ...debian12, ...host }, access: sshAccess, check: false });
}
const CONFIGURE = 'finish a dpkg run interrupted earlier (dpkg --configure -a), if any';
// every install or removal is preceded by the interrupted-dpkg repair (tested on its own below)
const commands = (p: Plan) => p.steps.map(describeStep).filter((c) => c !== CONFIGURE);

// recorded dpkg-query output on a Debian 12 VPS (see test/unit/facts/apt.test.ts for the format)
const packages = parseDpkgQuery(
  [
    'nginx\tamd64\tinstall ok installed\t1.22.1-9',
    'curl\tamd64\tinstall ok installed\t7.88.1-10+deb12u5',
    'telnet\tamd64\tdeinstall ok config-files\t0.17+2.4-2',
    'ufw\tall\tinstall ok half-configured\t0.36.2-1',
    '',
  ].join('\n'),
  1,
);
const NOW = 1_700_000_000;
const freshCache = parseAptCache(`${NOW} ${NOW - 600} ${NOW - 900} yes`);
const staleCache = parseAptCache(`${NOW} 0 ${NOW - 86_400 * 3} yes`);
const noCache = parseAptCache(`${NOW} 0 ${NOW - 5} no`);

const APT = 'apt-get -o DPkg::Lock::Timeout=300';
const INSTALL = `${APT} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -y -q`;
const UPDATE = ['apt-get update (waiting for another apt to release the lists lock)', 'touch /var/lib/apt/periodic/update-success-stamp'];

describe('apt module plans', () => {
  it('installs only the missing packages, non-interactively, after finishing an interrupted dpkg run', () => {
    const p = plan({ name: ['nginx', 'htop'] }, { packages });
    expect(p.steps.map(describeStep)).toEqual([CONFIGURE, `${INSTALL} install -- htop`]);
    expect(p.steps[1]).toMatchObject({ kind: 'run', env: { DEBIAN_FRONTEND: 'noninteractive' } });
    expect(p.reason).toBe('install htop');
  });

  it('does nothing when everything is installed, naming the versions', () => {
    const p = plan({ name: 'nginx,curl' }, { packages });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('nginx 1.22.1-9, curl 7.88.1-10+deb12u5 already installed');
  });

  it('waits lock_timeout seconds for the dpkg lock (Ansible: lock_timeout)', () => {
    expect(commands(plan({ name: 'htop', lock_timeout: 30 }, { packages }))).toEqual([`${INSTALL.replace('Timeout=300', 'Timeout=30')} install -- htop`]);
  });

  it('passes install_recommends only when it is set', () => {
    expect(commands(plan({ name: 'htop', install_recommends: false }, { packages }))).toEqual([`${INSTALL} --no-install-recommends install -- htop`]);
    expect(commands(plan({ name: 'htop', install_recommends: true }, { packages }))).toEqual([`${INSTALL} --install-recommends install -- htop`]);
  });

  it('repairs a half-configured package', () => {
    const p = plan({ name: 'ufw' }, { packages });
    expect(commands(p)).toEqual([`${INSTALL} install -- ufw`]);
    expect(p.reason).toBe('install ufw (dpkg state half-configured)');
  });

  it('installs a pinned version that differs from the installed one', () => {
    const p = plan({ name: ['nginx=1.22.1-9+deb12u1', 'curl=7.88.1-10+deb12u5'] }, { packages });
    expect(commands(p)).toEqual([`${INSTALL} install -- nginx=1.22.1-9+deb12u1`]);
    expect(p.reason).toBe('upgrade nginx 1.22.1-9 -> 1.22.1-9+deb12u1');
  });

  it('treats an architecture nobody installed as missing', () => {
    expect(plan({ name: 'curl:arm64' }, { packages }).reason).toBe('install curl:arm64');
  });

  describe('state: latest', () => {
    const candidates = parseAptPolicy('nginx:\n  Installed: 1.22.1-9\n  Candidate: 1.22.1-9+deb12u2\ncurl:\n  Installed: 7.88.1-10+deb12u5\n  Candidate: 7.88.1-10+deb12u5\n');

    it('upgrades what has a newer candidate', () => {
      const p = plan({ name: ['nginx', 'curl'], state: 'latest' }, { packages, candidates });
      expect(commands(p)).toEqual([`${INSTALL} install -- nginx`]);
      expect(p.reason).toBe('upgrade nginx 1.22.1-9 -> 1.22.1-9+deb12u2');
    });

    it('does nothing when all are at their candidate', () => {
      const p = plan({ name: 'curl', state: 'latest' }, { packages, candidates });
      expect(p.steps).toEqual([]);
      expect(p.reason).toBe('curl 7.88.1-10+deb12u5 already at the latest version');
    });

    it('with a stale cache, updates it and hands every package to apt (the real candidates come with the update)', () => {
      const p = plan({ name: ['curl', 'htop'], state: 'latest', cache_valid_time: 3600 }, { packages, candidates: {}, cache: staleCache });
      expect(commands(p)).toEqual([...UPDATE, `${INSTALL} install -- curl htop`]);
      expect(p.reason).toBe('update apt cache (last updated 3d ago, valid for 1h); install htop; upgrade curl if the updated cache has newer versions');
    });

    it('refuses a pinned version', () => {
      expect(() => apt.schema.parse({ name: 'nginx=1.2', state: 'latest' })).toThrow(/pinned version/);
    });
  });

  describe('state: absent', () => {
    it('removes installed packages with their versions in the reason', () => {
      const p = plan({ name: ['nginx', 'htop'], state: 'absent' }, { packages });
      expect(commands(p)).toEqual([`${INSTALL} remove -- nginx`]);
      expect(p.reason).toBe('remove nginx 1.22.1-9');
    });

    it('leaves removed packages with config files alone unless purging', () => {
      const p = plan({ name: 'telnet', state: 'absent' }, { packages });
      expect(p.steps).toEqual([]);
      expect(p.reason).toBe('telnet already absent');
    });

    it('purges leftover config files', () => {
      const p = plan({ name: 'telnet', state: 'absent', purge: true }, { packages });
      expect(commands(p)).toEqual([`${INSTALL} purge -- telnet`]);
      expect(p.reason).toBe('purge telnet (config files)');
    });
  });

  describe('the apt cache', () => {
    it('skips the update while the cache is younger than cache_valid_time, and says so', () => {
      const p = plan({ name: 'nginx', update_cache: true, cache_valid_time: 3600 }, { packages, cache: freshCache });
      expect(p.steps).toEqual([]);
      expect(p.reason).toBe('nginx 1.22.1-9 already installed; apt cache updated 10m ago (valid for 1h)');
    });

    it('updates a cache older than cache_valid_time, even with nothing to install (cache_valid_time implies update_cache)', () => {
      const p = plan({ cache_valid_time: 86_400 }, { cache: staleCache });
      expect(commands(p)).toEqual(UPDATE);
      expect(p.reason).toBe('update apt cache (last updated 3d ago, valid for 1d)');
    });

    it('update_cache without cache_valid_time refreshes only before installing', () => {
      const p = plan({ name: ['nginx', 'htop'], update_cache: true }, { packages, cache: freshCache });
      expect(commands(p)).toEqual([...UPDATE, `${INSTALL} install -- htop`]);
      expect(p.reason).toBe('update apt cache (before installing); install htop');
    });

    it('update_cache without cache_valid_time and nothing to install is ok, and explains why no update ran', () => {
      const p = plan({ name: 'nginx', update_cache: true }, { packages, cache: freshCache });
      expect(p.steps).toEqual([]);
      expect(p.reason).toBe(
        'nginx 1.22.1-9 already installed; apt cache updated 10m ago; not refreshed as nothing is to be installed (set cache_valid_time to refresh it periodically)',
      );
    });

    it('always updates a cache that was never downloaded (fresh image)', () => {
      const p = plan({ update_cache: true }, { cache: noCache });
      expect(commands(p)).toEqual(UPDATE);
      expect(p.reason).toBe('update apt cache (no package index yet)');
    });

    it('does not update for a removal', () => {
      const p = plan({ name: 'nginx', state: 'absent', update_cache: true }, { packages, cache: freshCache });
      expect(commands(p)).toEqual([`${INSTALL} remove -- nginx`]);
    });

    it('an explicit update_cache: false wins over cache_valid_time', () => {
      const p = plan({ name: 'nginx', update_cache: false, cache_valid_time: 60 }, { packages });
      expect(p.reason).toBe('nginx 1.22.1-9 already installed');
    });
  });

  it('fails plainly on a host without dpkg', () => {
    const p = plan({ name: 'nginx' }, { packages: parseDpkgQuery('', 127) });
    expect(p.steps).toEqual([]);
    expect(p.fail).toMatch(/Debian and Ubuntu/);
  });

  it('refuses wildcards and empty tasks in the schema', () => {
    expect(() => apt.schema.parse({ name: 'nginx*' })).toThrow(/wildcards are not supported/);
    expect(() => apt.schema.parse({ state: 'present' })).toThrow(/name, update_cache or cache_valid_time/);
    expect(() => apt.schema.parse({ name: 'x', pkg: 'y' })).toThrow();
  });
});

describe('the apt-get update step on this machine (fake apt-get and sleep)', () => {
  const bin = mkdtempSync(join(tmpdir(), 'shipshape-apt-'));
  afterAll(() => rmSync(bin, { recursive: true, force: true }));
  const fake = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  fake('sleep', `echo "$1" >> ${bin}/log`);
  const runUpdate = (aptGet: string, retry?: { attempts: number; maxDelay: number }) => {
    fake('apt-get', aptGet);
    rmSync(join(bin, 'log'), { force: true });
    rmSync(join(bin, 'count'), { force: true });
    const r = spawnSync('sh', ['-c', `set -e\n${updateScript(900, retry)}`], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    let log = '';
    try {
      log = readFileSync(join(bin, 'log'), 'utf8');
    } catch {}
    const waits = log.split('\n').filter(Boolean);
    return { code: r.status, out: r.stdout, sleeps: waits.length, waits: waits.map(Number) };
  };
  const failTimes = (n: number) =>
    `n=$(cat ${bin}/count 2>/dev/null || echo 0); echo $((n + 1)) > ${bin}/count\n` +
    `if [ "$n" -lt ${n} ]; then echo 'E: Failed to fetch http://deb.example/InRelease  503  Service Unavailable'; exit 100; fi\necho 'Reading package lists...'`;

  it('waits while another apt holds the lists lock, then succeeds', () => {
    const r = runUpdate(
      `n=$(cat ${bin}/count 2>/dev/null || echo 0); echo $((n + 1)) > ${bin}/count\n` +
        `if [ "$n" -lt 2 ]; then echo 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 812 (apt-get)'; exit 100; fi\necho 'Reading package lists...'`,
    );
    expect(r).toMatchObject({ code: 0, out: 'Reading package lists...\n', sleeps: 2 });
  });

  it("another failure is asked again, as Ansible's update_cache_retries (5): waits of 1, 2, 4 s, then it succeeds", () => {
    const r = runUpdate(failTimes(3));
    expect(r.code).toBe(0);
    expect(r.waits).toEqual([1, 2, 4]);
    expect(r.out).toContain('apt-get update failed (attempt 1 of 5): trying again in 1s');
    expect(r.out).toContain('apt-get update failed (attempt 3 of 5): trying again in 4s');
    expect(r.out.endsWith('Reading package lists...\n')).toBe(true);
  });

  it("fails after the last attempt with apt's message; the waits double up to update_cache_retry_max_delay", () => {
    const r = runUpdate("echo 'E: The repository is not signed.'; exit 100", { attempts: 5, maxDelay: 3 });
    expect(r.code).toBe(100);
    expect(r.waits).toEqual([1, 2, 3, 3]);
    expect(r.out.endsWith('E: The repository is not signed.\n')).toBe(true);
  });

  it('update_cache_retries: 1 fails at once, with the message of apt', () => {
    const r = runUpdate("echo 'E: The repository is not signed.'; exit 100", { attempts: 1, maxDelay: 12 });
    expect(r).toMatchObject({ code: 100, out: 'E: The repository is not signed.\n', sleeps: 0 });
  });
});

describe('apt: an old index alone is no change (drift checks run long after the last apply)', () => {
  it('named packages all installed and a stale cache: nothing to do, and the reason says when it is refreshed', () => {
    const p = plan({ name: 'nginx', cache_valid_time: 3600 }, { packages, cache: staleCache });
    expect(p.steps).toEqual([]);
    expect(p.reason).toMatch(/nginx .* already installed; apt cache updated 3d ago \(valid for 1h; refreshed when something is to be installed\)/);
  });
});

describe('apt: the interrupted-dpkg repair never ends the task early', () => {
  it('with nothing to repair, the steps after it still run (executed by sh, with a dpkg that reports nothing)', async () => {
    const { configureInterrupted } = await import('../../../src/modules/apt.js');
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, chmodSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const bin = mkdtempSync(join(tmpdir(), 'ss-apt-'));
    writeFileSync(join(bin, 'dpkg'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, 'dpkg'), 0o755);
    // the engine runs a task's steps together in one `set -e` subshell
    const script = `(\nset -e\n${configureInterrupted(300)}\necho after-the-repair\n)`;
    const r = spawnSync('sh', ['-c', script], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('after-the-repair');
  });
});

describe("apt: Ansible's autoremove, autoclean and dpkg_options", () => {
  // recorded on a Debian 12 host after `apt-get install jq` and `apt-get remove jq`
  const removable = parseAutoremove(
    [
      'Reading package lists...',
      'Building dependency tree...',
      'Reading state information...',
      'The following packages will be REMOVED:',
      '  libjq1 libonig5',
      '0 upgraded, 0 newly installed, 2 to remove and 0 not upgraded.',
      'Remv libjq1 [1.6-2.1]',
      'Remv libonig5 [6.9.8-1]',
      '',
    ].join('\n'),
  );
  const none = parseAutoremove('Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n');
  const cleanable = parseAutoclean('Reading package lists...\nDel zzold 0.1 [0 B]\nDel jq 1.6-2.1 [52.5 kB]\n');

  it('parses the simulations: packages with versions, archives with versions', () => {
    expect(removable.items).toEqual(['libjq1 1.6-2.1', 'libonig5 6.9.8-1']);
    expect(parseAutoremove('Purg libjq1 [1.6-2.1]\n').items).toEqual(['libjq1 1.6-2.1']);
    expect(none.items).toEqual([]);
    expect(cleanable.items).toEqual(['zzold 0.1', 'jq 1.6-2.1']);
  });

  it('autoremove alone: removes what the simulation lists, and nothing when it lists nothing', () => {
    const p = plan({ autoremove: true }, { removable });
    expect(commands(p)).toEqual([`${APT} -y -q autoremove`]);
    expect(p.reason).toBe('autoremove libjq1 1.6-2.1, libonig5 6.9.8-1');
    const q = plan({ autoremove: true }, { removable: none });
    expect(q.steps).toEqual([]);
    expect(q.reason).toBe('no package to autoremove');
  });

  it('with purge, autoremove purges; after a removal it runs even when the simulation saw nothing yet', () => {
    const p = plan({ name: 'nginx', state: 'absent', purge: true, autoremove: true }, { packages, removable: none });
    expect(commands(p)).toEqual([`${INSTALL} purge -- nginx`, `${APT} -y -q --purge autoremove`]);
    expect(p.reason).toBe('purge nginx 1.22.1-9; autoremove what the changes above leave unused');
  });

  it('autoclean alone: deletes the archives no index offers; after a cache update it runs with the new index', () => {
    const p = plan({ autoclean: true }, { cleanable });
    expect(commands(p)).toEqual([`${APT} -q autoclean`]);
    expect(p.reason).toBe('autoclean 2 archives no index offers (zzold 0.1, jq 1.6-2.1)');
    expect(plan({ autoclean: true }, { cleanable: { items: [] } }).steps).toEqual([]);
    const q = plan({ autoclean: true, cache_valid_time: 3600 }, { cleanable: { items: [] }, cache: staleCache });
    expect(commands(q)).toEqual([...UPDATE, `${APT} -q autoclean`]);
  });

  it('dpkg_options replace the default force-confdef,force-confold; a value with dashes or spaces is refused', () => {
    const p = plan({ name: 'htop', dpkg_options: 'force-confnew' }, { packages });
    expect(commands(p)).toEqual([`${APT} -o Dpkg::Options::=--force-confnew -y -q install -- htop`]);
    expect(apt.schema.safeParse({ name: 'htop', dpkg_options: '--force-confnew' }).success).toBe(false);
    expect(apt.schema.safeParse({ name: 'htop', dpkg_options: 'force-confnew; reboot' }).success).toBe(false);
  });

  it("update_cache_retries and update_cache_retry_max_delay reach the update's script", () => {
    const p = plan({ name: 'htop', update_cache: true, update_cache_retries: 2, update_cache_retry_max_delay: 3 }, { packages, cache: freshCache });
    const script = p.steps.map((s) => ('script' in s ? String(s.script) : '')).join('\n');
    expect(script).toContain('if [ "$t" -ge 2 ]');
    expect(script).toContain('[ "$d" -le 3 ] || d=3');
  });
});

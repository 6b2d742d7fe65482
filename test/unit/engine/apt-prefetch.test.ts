import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareRun, type RunFlags } from '../../../src/cli/run-command.js';
import type { Plan } from '../../../src/core/module.js';
import type { Step } from '../../../src/core/step.js';
import { PREFETCH_TASK } from '../../../src/engine/apt-prefetch.js';
import { runHost } from '../../../src/engine/host-run.js';
import type { PlayInstance, TaskInstance } from '../../../src/engine/types.js';
import type { AptCache, DpkgPackages } from '../../../src/facts/apt.js';
import prefetch, { downloadScript, WHY_DOWNLOAD } from '../../../src/modules/apt-prefetch.js';
import { LocalTransport } from '../../../src/transport/local.js';
import type { ConnectionSpec } from '../../../src/transport/types.js';
import { debian12, sshAccess } from '../helpers/plan.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SITE = join(ROOT, 'playbooks', 'site.yml');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixfycInH+UUzaXIYKy9nt5u4u6RJfazTQGIGQJ1kVl me@laptop';
/** site.yml as the bench and the e2e test run it: Debian's docker.io and caddy, one HTTPS site */
const HOSTS = `all:
  vars:
    deploy_authorized_keys: ['${KEY}']
    docker_source: debian
    caddy_source: debian
    caddy_email: ops@example.test
  hosts:
    web1:
      host: 192.0.2.10
      caddy_sites: [{ domain: web1.example.test, respond: hello }]
`;

async function playsOf(playbook: string, hosts = HOSTS, flags: Partial<RunFlags> = {}, files: Record<string, string> = {}): Promise<PlayInstance[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ss-prefetch-'));
  writeFileSync(join(dir, 'hosts.yml'), hosts);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const jobs = await prepareRun(playbook.includes('/') ? playbook : join(dir, playbook), { inventory: dir, forks: 1, extraVars: [], color: false, guardTimeout: 120, updateInventory: true, ...flags });
  return jobs[0].plays;
}

const prefetchOf = (play: PlayInstance) => play.tasks.filter((t) => t.module.name === 'apt_prefetch');
const installTasks = (play: PlayInstance) =>
  play.tasks.filter((t) => (t.module.name === 'apt' || t.module.installsWith === 'apt') && t.args !== undefined && (t.args as { state: string }).state !== 'absent' && (t.args as { name?: string[] }).name);
const prefetchNames = (t: TaskInstance) => (t.args as { tasks: { name: string[] }[] }).tasks.flatMap((a) => a.name);

const NOW = 1_800_000_000;
const none: DpkgPackages = { available: true, entries: [] };
const installed = (names: string[]): DpkgPackages => ({ available: true, entries: names.map((name) => ({ name, arch: 'amd64', state: 'installed', version: '1.0' })) });
const fresh: AptCache = { now: NOW, hasLists: false };
const justUpdated: AptCache = { now: NOW + 5, updated: NOW + 1, hasLists: true };

/** A task's plan from per-probe facts, as the engine reads them (keys are the module's own fact names). */
function planOf(task: TaskInstance, facts: (probeId: string) => unknown): Plan {
  const probes = task.module.facts(task.args) as Record<string, { id: string }>;
  const f = Object.fromEntries(Object.entries(probes).map(([k, p]) => [k, facts(p.id)]));
  return task.module.plan(task.args, f as never, { host: debian12, access: sshAccess, check: false });
}
const isUpdate = (s: Step) => s.kind === 'sh' && s.script.includes('apt-get ') && s.script.includes(' update 2>&1');
const isDownload = (s: Step) => s.kind === 'sh' && s.why === WHY_DOWNLOAD;
const isInstall = (s: Step) => s.kind === 'run' && s.argv[0] === 'apt-get' && s.argv.includes('install');

describe('site.yml: one download transaction and one index update for the whole play', () => {
  it('plans the packages of every apt task that installs, in one prefetch task at the start of the play', async () => {
    const [play] = await playsOf(SITE);
    expect(prefetchOf(play)).toHaveLength(1);
    expect(play.tasks[0].name).toBe(PREFETCH_TASK);
    const names = prefetchNames(play.tasks[0]);
    const wanted = installTasks(play).flatMap((t) => (t.args as { name: string[] }).name);
    expect(installTasks(play).length).toBeGreaterThanOrEqual(6);
    expect(names).toEqual(wanted);
    for (const p of ['ufw', 'unattended-upgrades', 'fail2ban', 'libpam-pwquality', 'docker.io', 'caddy']) expect(names).toContain(p);
    // removals are not downloads
    expect(names).not.toContain('docker-ce');
  });

  it('on a fresh host: the prefetch updates the index and downloads once; after it no apt task updates again, each installs its own', async () => {
    const [play] = await playsOf(SITE);
    const first = planOf(play.tasks[0], (id) => (id === 'apt:cache' ? fresh : none));
    expect(first.steps.filter(isUpdate)).toHaveLength(1);
    expect(first.steps.filter(isDownload)).toHaveLength(1);
    expect(first.cacheOnly).toBe(true);
    expect(first.reason).toMatch(/^update apt cache \(no package index yet\); download ufw, unattended-upgrades, fail2ban, .*docker\.io.*caddy/);
    // the later tasks see the index the prefetch refreshed (the engine re-reads their facts after it)
    const later = installTasks(play).map((t) => planOf(t, (id) => (id === 'apt:cache' ? justUpdated : none)));
    expect(later.flatMap((p) => p.steps.filter(isUpdate))).toEqual([]);
    expect(later.map((p) => p.steps.filter(isInstall).length)).toEqual(later.map(() => 1));
    expect(later.flatMap((p) => p.steps.filter(isDownload))).toEqual([]);
  });

  it('on a converged host the prefetch plans nothing (a no-op run stays one round trip per play)', async () => {
    const [play] = await playsOf(SITE);
    const all = prefetchNames(play.tasks[0]);
    const plan = planOf(play.tasks[0], (id) => (id === 'apt:cache' ? { now: NOW, updated: NOW - 86_400 * 30, hasLists: true } : installed(all)));
    expect(plan.steps).toEqual([]);
    expect(plan.reason).toMatch(/nothing to download/);
  });

  it('a role listed twice installs once: its tasks are expanded once', async () => {
    const twice = mkdtempSync(join(tmpdir(), 'ss-prefetch-site-'));
    writeFileSync(join(twice, 'site.yml'), '- hosts: all\n  become: true\n  roles: [firewall, fail2ban, firewall]\n');
    const [play] = await playsOf(join(twice, 'site.yml'));
    const names = prefetchNames(prefetchOf(play)[0]);
    expect(names.filter((n) => n === 'ufw')).toHaveLength(1);
    expect(installTasks(play).filter((t) => (t.args as { name: string[] }).name.includes('ufw'))).toHaveLength(1);
  });
});

describe('what the prefetch takes: only the apt tasks known to run', () => {
  const hosts = 'all:\n  hosts:\n    web1: { host: 192.0.2.10 }\n';
  const playbook = (tasks: string) => `- hosts: all\n  become: true\n  tasks:\n${tasks}`;
  const apt = (name: string, extra = '') => `    - name: ${name}\n      apt: { name: [${name}], cache_valid_time: 3600 }\n${extra}`;

  it('leaves out a false `when`, an unselected tag, a rescue, a runtime `when`, removals, and what follows a new apt source', async () => {
    const tasks = [
      apt('one'),
      apt('two', '      when: false\n'),
      apt('three', '      tags: [other]\n'),
      '    - command: /bin/true\n      register: probe\n      changed_when: false\n',
      apt('four', '      when: probe.rc == 0\n'),
      '    - block:\n        - command: /bin/false\n      rescue:\n' + apt('five').replace(/^ {4}/gm, '        '),
      '    - apt: { name: [six], state: absent }\n',
      apt('seven'),
      '    - apt_repository: { name: vendor, types: [deb], uris: [https://example.test/deb], suites: [stable], components: [main], key: "-----BEGIN PGP PUBLIC KEY BLOCK-----\\nx\\n-----END PGP PUBLIC KEY BLOCK-----" }\n',
      apt('eight'),
    ].join('');
    const [play] = await playsOf('site.yml', hosts, { skipTags: 'other' }, { 'site.yml': playbook(tasks) }).catch(async (e) => {
      // an apt_repository key that is not a real key may be refused at expansion: the same without its key
      if (!/key/.test(String(e))) throw e;
      return playsOf('site.yml', hosts, { skipTags: 'other' }, { 'site.yml': playbook(tasks.replace(/key: "[^"]*"/, '')) });
    });
    expect(prefetchNames(prefetchOf(play)[0])).toEqual(['one', 'seven']);
  });

  it('a play with a single installing apt task gets no prefetch (it is one transaction already)', async () => {
    const [play] = await playsOf('site.yml', hosts, {}, { 'site.yml': playbook(apt('one') + '    - apt: { name: [two], state: absent }\n') });
    expect(prefetchOf(play)).toEqual([]);
  });
});

describe('the download script (dash, with a stand-in apt-get)', () => {
  // apt-get -s prints what apt would do; the real download is replaced by printing its arguments
  const bin = mkdtempSync(join(tmpdir(), 'ss-fake-apt-'));
  writeFileSync(
    join(bin, 'apt-get'),
    `#!/bin/sh
  case "$*" in
    '-s '*'install -- ufw fail2ban'*) printf '%s\\n' 'NOTE: This is only a simulation!' 'Inst ufw (0.36.2-1 Debian:12.7/stable [all])' 'Inst python3-systemd (235-1+b2 Debian:12.7/stable [amd64])' 'Inst fail2ban (1.0.2-2 Debian:12.7/stable [all])' 'Conf ufw (0.36.2-1 Debian:12.7/stable [all])' ;;
    '-s '*'--no-install-recommends install -- docker.io'*) printf '%s\\n' 'Inst libc6 [2.36-9] (2.36-9+deb12u9 Debian:12.7/stable, Debian-Security:12/stable-security [amd64])' 'Inst docker.io (20.10.24+dfsg1-1+deb12u1 Debian:12.7/stable [amd64])' ;;
    '-s '*) echo 'E: Unable to locate package nosuch'; exit 100 ;;
    *) echo "DOWNLOAD $*" ;;
  esac
`,
    { mode: 0o755 },
  );
  const runIt = (script: string) => execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });

  it('resolves each recommends group as its install would, and downloads the union at the chosen versions in one transaction', () => {
    const out = runIt(
      downloadScript(
        [
          { words: ['ufw', 'fail2ban'] },
          { words: ['docker.io'], recommends: false },
          { words: ['nosuch'], recommends: true },
        ],
        300,
      ),
    );
    const downloads = out.split('\n').filter((l) => l.startsWith('DOWNLOAD'));
    expect(downloads).toEqual([
      'DOWNLOAD -o DPkg::Lock::Timeout=300 -q -y --download-only --no-install-recommends install -- ufw=0.36.2-1 python3-systemd=235-1+b2 fail2ban=1.0.2-2 libc6=2.36-9+deb12u9 docker.io=20.10.24+dfsg1-1+deb12u1',
    ]);
    // a group apt cannot resolve is left to its task, which will report apt's error in its place
    expect(out).toMatch(/left to its own task \(apt cannot resolve it now\): nosuch\nE: Unable to locate package nosuch/);
  });

  it('downloads nothing when every group is already installed', () => {
    expect(runIt(downloadScript([{ words: ['nosuch'] }], 300))).toMatch(/nothing to download\n$/);
  });
});

describe('check mode: the prefetch is reported, never counted as a change', () => {
  it('says what it would download, with status ok, and runs nothing', async () => {
    const spec: ConnectionSpec = { name: 'local', host: 'localhost', port: 22, user: 'root', knownHostsFiles: [], acceptNewHostKeys: false, connectTimeoutMs: 5000, kind: 'local' };
    const args = { tasks: [{ name: ['shipshape-no-such-package-a'], state: 'present', lock_timeout: 300, purge: false, upgrade: 'no', cache_valid_time: 3600 }, { name: ['shipshape-no-such-package-b'], state: 'present', lock_timeout: 300, purge: false, upgrade: 'no' }] };
    const play: PlayInstance = { name: 'p', become: false, tasks: [{ name: PREFETCH_TASK, module: prefetch, args, tags: [], notify: [], become: false, noLog: false }], handlers: [] };
    const t = new LocalTransport(spec);
    const report = await runHost(spec, () => t, [play], { check: true, forks: 1, guardTimeoutSec: 30 }, () => undefined);
    expect(report.tasks.map((r) => [r.status, r.reason.replace(/^would (update apt cache \([^)]*\); )?/, 'would ')])).toEqual([
      ['ok', 'would download shipshape-no-such-package-a, shipshape-no-such-package-b and what they need, for 2 apt tasks (their own installs run in order) (not a change: nothing managed is touched)'],
    ]);
    expect(report.changed).toBe(0);
  });
});

/**
 * The vendor path (Docker's own repository) against the lab's stand-in: a signed apt repository served from the
 * gateway with tiny packages named docker-ce, containerd.io... (scripts/lab/apt-repo.ts). Shows that
 * apt_repository writes the key and a deb822 .sources pointing at it, that apt really installs from it (and
 * verifies its signature), that conflicting distribution packages go first, and that a second run changes
 * nothing. The real engine is tested through Debian's docker.io in docker.test.ts. On Debian 12 (h10) and
 * Debian 13 (h110): the repository serves a suite for each, as Docker's does.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAptRepo, hostAptDirectConf, type LabAptRepo } from '../../scripts/lab/index.js';
import { DOCKER_APT_KEY } from '../../roles/docker/docker-key.js';
import { changedTasks, DISTS, FIXTURES, freshHosts, hostFor, hostExec, shipshape, shipshapeJson, writeInventory, type Lab, type LabHost } from './support.js';
import { stopwatch } from './support.js';

/** this file's host on the release being tested (set by each release's beforeAll) */
let H = 'h10';
const VENDOR = join(FIXTURES, 'docker', 'vendor.yml');
const REPO = join(FIXTURES, 'docker', 'apt-repository.yml');

let lab: Lab;
let host: LabHost;
let repo: LabAptRepo;
let inv: string;
const { timings, timed } = stopwatch();

const root = async (cmd: string) => {
  const r = await hostExec(H, cmd);
  expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

afterAll(() => {
  console.log(`docker vendor e2e timings:\n  ${timings.join('\n  ')}`);
});

describe.each(DISTS)('%s', (dist) => {
  beforeAll(async () => {
    H = hostFor('h10', dist);
    lab = await timed(`fresh ${H} (${dist})`, () => freshHosts([H], { dist }));
    host = lab.hosts[0];
    repo = await timed('lab apt repository', () => ensureAptRepo());
    // lab plumbing, like the apt proxy line of the image: the gateway's repository is fetched directly
    const direct = hostAptDirectConf();
    await root(`printf '%s' '${direct.content}' > ${direct.path}`);
    // a conflicting distribution package, as on a host that had Debian's container tools before
    await timed('pre-install runc', () => root('apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q -y install runc >/dev/null'));
    inv = writeInventory(lab, [host], {
      vars: { docker_source: 'vendor', docker_apt_uri: repo.uri, docker_apt_key: repo.key, docker_apt_key_fingerprint: repo.fingerprint },
    });
  });

  describe('docker role, vendor repository (the lab stand-in)', () => {
    it('a wrong key fingerprint is refused before any host is contacted', async () => {
      const r = await shipshape(['apply', VENDOR, '-i', inv, '-e', JSON.stringify({ docker_apt_key_fingerprint: '0'.repeat(40) })]);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(new RegExp(`its fingerprint is ${repo.fingerprint}, not the expected 0{40}`));
    });

    it('installs from the signed repository, after removing conflicting distribution packages', async () => {
      const r = await timed('first apply', () => shipshapeJson('apply', VENDOR, inv));
      const failed = r.report.hosts[H].tasks.filter((t) => t.status === 'failed');
      expect(failed, JSON.stringify(failed, null, 1) + r.stderr.slice(-2000)).toEqual([]);
      expect(r.code).toBe(0);

      expect(await root('cat /etc/apt/sources.list.d/docker.sources')).toBe(
        [
          '# managed by shipshape (apt_repository)',
          'Types: deb',
          `URIs: ${repo.uri}`,
          `Suites: ${dist}`,
          'Components: stable',
          'Signed-By: /etc/apt/keyrings/docker.asc',
          '',
        ].join('\n'),
      );
      expect(await root('cat /etc/apt/keyrings/docker.asc')).toBe(repo.key.endsWith('\n') ? repo.key : `${repo.key}\n`);
      expect(await root('stat -c %a /etc/apt/keyrings/docker.asc /etc/apt/sources.list.d/docker.sources')).toBe('644\n644\n');

      // every vendor package installed, from the lab repository
      const versions = await root(`dpkg-query -W -f='\${Package} \${Version} \${db:Status-Status}\\n' ${repo.packages.map((p) => p.name).join(' ')}`);
      for (const p of repo.packages) expect(versions).toContain(`${p.name} ${p.version} installed`);
      const policy = await root('apt-cache policy docker-ce');
      expect(policy).toMatch(/Installed: 5:0\.0\.0~lab1/);
      expect(policy).toContain(`${repo.uri} ${dist}/stable amd64 Packages`);
      expect((await hostExec(H, "dpkg-query -W -f='${db:Status-Status}' runc")).stdout).not.toBe('installed');

      // the rest of the role ran against it: group (made by docker-ce's postinst), service, daemon.json, firewall block
      expect(await root('id -nG deploy')).toMatch(/\bdocker\b/);
      expect(await root('systemctl is-active docker')).toBe('active\n');
      expect(JSON.parse(await root('cat /etc/docker/daemon.json'))['log-driver']).toBe('json-file');
      expect(await root('grep -c "^# BEGIN shipshape docker_ufw" /etc/ufw/after.rules')).toBe('1\n');
      // and apt as a whole still works: no conflicting source definitions
      await root('apt-get -q update >/dev/null');
    });

    it('a second apply changes nothing', async () => {
      const r = await timed('second apply (no-op)', () => shipshapeJson('apply', VENDOR, inv));
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(changedTasks(r.report, H)).toEqual([]);
      const repoTask = r.report.hosts[H].tasks.find((t) => t.name === 'Docker apt repository')!;
      expect(repoTask.reason).toBe('/etc/apt/sources.list.d/docker.sources as declared, signed by /etc/apt/keyrings/docker.asc, index fetched');
    });
  });

  describe('apt_repository against the lab repository', () => {
    const vars = (state: string, key: string) => ['-e', JSON.stringify({ repo_name: 'lab-check', repo_uri: repo.uri, repo_key: key, repo_state: state })];

    it("apt checks the signature with the declared key: Docker's real key does not verify the lab repository", async () => {
      const r = await shipshapeJson('apply', REPO, inv, vars('present', DOCKER_APT_KEY));
      expect(r.code).not.toBe(0);
      const t = r.report.hosts[H].tasks.find((x) => x.name === 'lab repository')!;
      expect(t.status).toBe('failed');
      // gpgv on Debian 12 says NO_PUBKEY; Debian 13's apt verifies with sqv: "Missing key ..., which is needed"
      expect(JSON.stringify(t)).toMatch(/NO_PUBKEY|not signed|Missing key [0-9A-F]{40}, which is needed to verify signature/);
      // the failed fetch is retried on the next run, not forgotten
      const again = await shipshapeJson('apply', REPO, inv, vars('present', DOCKER_APT_KEY));
      expect(again.report.hosts[H].tasks.find((x) => x.name === 'lab repository')!.status).toBe('failed');
    });

    it('the right key fixes it with one key write and one update; state absent removes it', async () => {
      const fixed = await shipshapeJson('apply', REPO, inv, vars('present', repo.key));
      expect(fixed.code, fixed.stderr.slice(-2000)).toBe(0);
      const t = fixed.report.hosts[H].tasks.find((x) => x.name === 'lab repository')!;
      expect(t.reason).toBe('replace the key /etc/apt/keyrings/lab-check.asc; fetch its index');
      expect(changedTasks((await shipshapeJson('apply', REPO, inv, vars('present', repo.key))).report, H)).toEqual([]);

      const gone = await shipshapeJson('apply', REPO, inv, vars('absent', repo.key));
      expect(gone.code).toBe(0);
      expect(await root('ls /etc/apt/sources.list.d /etc/apt/keyrings')).not.toMatch(/lab-check/);
      expect(changedTasks((await shipshapeJson('apply', REPO, inv, vars('absent', repo.key))).report, H)).toEqual([]);
    });
  });
});

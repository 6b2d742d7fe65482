/**
 * sshd drift the files alone do not show, on Debian 12 and 13 (h82, h182; both hosts in one run):
 * - a running sshd older than its configuration: passwords were allowed and sshd reloaded, then the operator
 *   took that back in the file and never reloaded. sshd -T (which reads the files) says "no passwords", the
 *   daemon still lets a password in. check must say so (exit 2, naming the file), apply reloads sshd, and
 *   then the password login is refused;
 * - an override two Includes down (a drop-in including a directory of its own): drift at that file and
 *   line, commented out there by apply, and the root login it allowed refused.
 */
import ssh2 from 'ssh2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedTasks, freshHosts, hostExec, PLAYBOOKS, shipshapeJson, sshLogin, stopwatch, writeInventory, type Lab, type LabHost } from './support.js';

const SITE = join(PLAYBOOKS, 'site.yml');
const TAGS = ['-t', 'deploy_user,ssh'];
const TASK = 'sshd hardened settings';
const PASSWORD = 'stale-sshd-e2e-Pw1';
const { timings, timed } = stopwatch();

interface Task {
  name: string;
  status: string;
  reason: string;
  drift?: { what: string; why: string; where: string; fix: string }[];
}

let lab: Lab;
let hosts: LabHost[];
let inv: string;

async function onHost(name: string, cmd: string): Promise<string> {
  const r = await hostExec(name, cmd);
  if (r.code !== 0) throw new Error(`${name}: ${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A real password login (ssh2, as any client would try it): "logged in", or why it was refused. */
function passwordLogin(host: string, username: string, password: string): Promise<string> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let settled = false;
    const done = (what: string) => {
      if (settled) return;
      settled = true;
      c.end();
      resolve(what);
    };
    c.on('ready', () => done('logged in'));
    c.on('error', (e) => done(`refused: ${e.message}`));
    c.connect({ host, port: 22, username, password, readyTimeout: 30_000, hostVerifier: () => true });
  });
}

const sshTask = (report: { hosts: Record<string, { tasks: unknown[] }> }, host: string) => (report.hosts[host].tasks as Task[]).find((t) => t.name === TASK)!;

describe('sshd drift the files do not show: a daemon older than its files, an override two Includes down (Debian 12 and 13)', () => {
  beforeAll(async () => {
    const bookworm = await timed('boot h82', () => freshHosts(['h82']));
    const trixie = await timed('boot h182', () => freshHosts(['h182'], { dist: 'trixie' }));
    lab = bookworm;
    hosts = [bookworm.hosts[0], trixie.hosts[0]];
    inv = writeInventory(lab, hosts);
    const first = await timed('first apply, both hosts', () => shipshapeJson('apply', SITE, inv, TAGS));
    if (first.code !== 0) throw new Error(`first apply failed: ${first.stdout.slice(-3000)}\n${first.stderr.slice(-2000)}`);
  }, 900_000);

  afterAll(() => {
    console.log(`sshd stale e2e timings:\n  ${timings.join('\n  ')}`);
  });

  it('freshly provisioned: check exits 0 (sshd read its configuration after shipshape wrote it)', async () => {
    const r = await timed('clean check', () => shipshapeJson('check', SITE, inv, TAGS));
    expect(r.code, JSON.stringify(hosts.map((h) => sshTask(r.report, h.name)))).toBe(0);
  });

  it('passwords allowed and reloaded, then forbidden again in the file without a reload: check exits 2 naming it; apply reloads; the password is refused', async () => {
    for (const h of hosts) {
      await onHost(
        h.name,
        [
          // a user with a password, and passwords allowed in a drop-in read before ours; sshd reloaded: in force
          `id alice >/dev/null 2>&1 || useradd -m -s /bin/sh alice`,
          `echo 'alice:${PASSWORD}' | chpasswd`,
          "printf 'PasswordAuthentication yes\\nAuthenticationMethods any\\n' > /etc/ssh/sshd_config.d/00-aaa.conf",
          'systemctl reload ssh',
        ].join(' && '),
      );
    }
    for (const h of hosts) expect(await passwordLogin(h.addr, 'alice', PASSWORD), `${h.name}: passwords in force after the reload`).toBe('logged in');
    // taken back in the file, no reload: the files (and sshd -T) forbid passwords again, the daemon does not
    for (const h of hosts) {
      await onHost(h.name, "sed -i 's/^/#/' /etc/ssh/sshd_config.d/00-aaa.conf");
      expect(await onHost(h.name, 'sshd -T | grep -E "^passwordauthentication "'), h.name).toBe('passwordauthentication no\n');
    }
    // what check used to miss: the daemon still takes the password the files forbid
    for (const h of hosts) expect(await passwordLogin(h.addr, 'alice', PASSWORD), `${h.name}: the stale daemon`).toBe('logged in');

    const r = await timed('check, stale sshd', () => shipshapeJson('check', SITE, inv, TAGS));
    expect(r.code, r.stderr.slice(-2000)).toBe(2);
    for (const h of hosts) {
      const t = sshTask(r.report, h.name);
      expect(t.status, h.name).toBe('changed');
      expect(t.drift, h.name).toHaveLength(1);
      expect(t.drift![0].what, h.name).toMatch(/^the running sshd \(pid \d+\) last read its configuration at .* UTC; \/etc\/ssh\/sshd_config\.d\/00-aaa\.conf changed after that/);
      expect(t.drift![0].where, h.name).toBe('/etc/ssh/sshd_config.d/00-aaa.conf');
      expect(t.drift![0].why).toMatch(/a forbidden password login/);
    }

    const applied = await timed('apply, stale sshd', () => shipshapeJson('apply', SITE, inv, TAGS));
    expect(applied.code, applied.stdout.slice(-3000)).toBe(0);
    for (const h of hosts) expect(changedTasks(applied.report, h.name), h.name).toEqual([`ssh|${TASK}`]);
    for (const h of hosts) expect(sshTask(applied.report, h.name).reason, h.name).toMatch(/^reload sshd: the running sshd/);
    for (const h of hosts) expect(await passwordLogin(h.addr, 'alice', PASSWORD), h.name).toMatch(/^refused: All configured authentication methods failed/);
    const again = await timed('check after the reload', () => shipshapeJson('check', SITE, inv, TAGS));
    expect(again.code, JSON.stringify(hosts.map((h) => sshTask(again.report, h.name)))).toBe(0);
  });

  it('an override two Includes down: check names its file and line; apply comments it out there; root is refused; check exits 0', async () => {
    for (const h of hosts) {
      await onHost(
        h.name,
        [
          // a drop-in that includes a directory of its own, where root logins are allowed
          "printf 'Include /etc/ssh/site.d/*.conf\\n' > /etc/ssh/sshd_config.d/00-aab-site.conf",
          'mkdir -p /etc/ssh/site.d',
          "printf '# while debugging\\nPermitRootLogin yes\\n' > /etc/ssh/site.d/10-debug.conf",
        ].join(' && '),
      );
      expect(await onHost(h.name, 'sshd -T | grep -E "^permitrootlogin "'), h.name).toBe('permitrootlogin yes\n');
    }
    const r = await timed('check, nested override', () => shipshapeJson('check', SITE, inv, TAGS));
    expect(r.code, r.stderr.slice(-2000)).toBe(2);
    for (const h of hosts) {
      const t = sshTask(r.report, h.name);
      const nested = t.drift!.find((d) => d.where === '/etc/ssh/site.d/10-debug.conf:2');
      expect(nested, `${h.name}: ${JSON.stringify(t.drift)}`).toBeTruthy();
      expect(nested!.what).toMatch(/^permitrootlogin "yes" is in effect, not "no" as declared; sshd -T for deploy@10\.99\.0\.1 confirms "permitrootlogin yes"/);
    }
    const applied = await timed('apply, nested override', () => shipshapeJson('apply', SITE, inv, TAGS));
    expect(applied.code, applied.stdout.slice(-3000)).toBe(0);
    for (const h of hosts) {
      expect(sshTask(applied.report, h.name).reason, h.name).toMatch(/neutralise 1 overriding line in \/etc\/ssh\/site\.d\/10-debug\.conf \(PermitRootLogin yes\)/);
      expect(await onHost(h.name, 'cat /etc/ssh/site.d/10-debug.conf'), h.name).toBe('# while debugging\n# disabled by shipshape (it overrode a hardened setting): PermitRootLogin yes\n');
      const root = await sshLogin(lab, 'root', h.addr, 'true');
      expect(root.stderr, h.name).toMatch(/Permission denied \(publickey\)/);
      const deploy = await sshLogin(lab, 'deploy', h.addr, 'sudo -n true && id -un');
      expect(deploy.stdout.trim(), `${h.name}: ${deploy.stderr}`).toBe('deploy');
    }
    const again = await timed('check after apply', () => shipshapeJson('check', SITE, inv, TAGS));
    expect(again.code, JSON.stringify(hosts.map((h) => sshTask(again.report, h.name)))).toBe(0);
  });
});

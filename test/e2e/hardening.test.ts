/**
 * Issue 3, end to end: site.yml on a fresh lab host exactly as a cloud image is delivered (root + key),
 * judged from the outside with the tools an operator or auditor uses: OpenSSH's client, TCP probes
 * from the gateway and from a second host, ssh-audit, unattended-upgrade, fail2ban's own client.
 * Hosts: h3 (the server), h4 (a stranger on the same network); on Debian 13, h103 and h104.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE } from '../../scripts/lab/addressing.js';
import { busyboxRootfs, sshWithInput } from './fixtures/docker/busybox.js';
import {
  changedTasks,
  DISTS,
  freshHosts,
  hostFor,
  hostExec,
  nsExec,
  PLAYBOOKS,
  shipshapeJson,
  sshLogin,
  tcpOpen,
  writeInventory,
  type Dist,
  type Lab,
  type LabHost,
} from './support.js';

const run = promisify(execFile);
const SITE = join(PLAYBOOKS, 'site.yml');

/** Must succeed: a failed probe inside the host is a broken test, not a finding. */
async function onHost(name: string, cmd: string): Promise<string> {
  const r = await hostExec(name, cmd);
  if (r.code !== 0) throw new Error(`${name}: \`${cmd}\` exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Can `name`'s network namespace open a TCP connection to addr:port? (bash, as the controller has no nc) */
async function reachableFrom(name: string, addr: string, port: number): Promise<boolean> {
  const r = await nsExec(name, `timeout 4 bash -c 'exec 3<>/dev/tcp/${addr}/${port}'`);
  return r.code === 0;
}

interface AuditLine {
  kind: string;
  alg: string;
  level: 'fail' | 'warn';
  text: string;
}

/** ssh-audit 2.5's batch output, one finding per line: "(kex) NAME -- [warn] why". Its JSON carries no verdicts. */
function auditFindings(out: string): AuditLine[] {
  return out.split('\n').flatMap((l) => {
    const m = /^\((\w+)\) (\S+)(?: \([^)]*\))? -- \[(fail|warn)\] (.*)$/.exec(l.trim());
    return m ? [{ kind: m[1], alg: m[2], level: m[3] as 'fail' | 'warn', text: m[4] }] : [];
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** What OpenSSH each release ships, as `ssh -V` and ssh-audit name it. */
const OPENSSH: Record<Dist, RegExp> = { bookworm: /OpenSSH 9\.2/, trixie: /OpenSSH 10\.0/ };

/**
 * The key exchange an OpenSSH client negotiates with this server, from the client's own debug output
 * (`debug1: kex: algorithm: NAME`); the login itself must succeed too.
 */
function negotiatedKex(stderr: string): string | undefined {
  return /^debug1: kex: algorithm: (\S+)/m.exec(stderr)?.[1];
}

describe.each(DISTS)('a fresh VPS hardened by site.yml (%s)', (dist) => {
  let lab: Lab;
  let h3: LabHost;
  let h4: LabHost;
  let inv: string;

  /**
   * Every inventory of this file: Debian's Docker (the lab reaches only Debian's archive), and the controller
   * on fail2ban's ignore list, as an operator with a fixed address sets it: this file fails logins from the
   * controller on purpose (root, passwords), and five of them would get it banned.
   */
  const inventory = (vars: Record<string, unknown> = {}) =>
    writeInventory(lab, [h3], { vars: { docker_source: 'debian', fail2ban_ignoreip: [lab.gateway], ...vars } });

  beforeAll(async () => {
    lab = await freshHosts([hostFor('h3', dist), hostFor('h4', dist)], { dist });
    [h3, h4] = lab.hosts;
    inv = inventory();
  });

  it('refuses an ssh_allow_from that would shut out this controller, before changing anything', async () => {
    const locked = inventory({ ssh_allow_from: ['192.0.2.0/24'] });
    const r = await shipshapeJson('apply', SITE, locked);
    expect(r.code).not.toBe(0);
    const host = r.report.hosts[h3.name];
    const refused = host.tasks.find((t) => t.status === 'failed');
    expect(refused?.name).toBe('firewall rules');
    expect(refused?.reason).toMatch(/refused before any task of this play ran: .*no rule allows SSH port 22\/tcp from 10\.99\.0\.1/);
    expect(host.tasks.filter((t) => t.status === 'changed')).toEqual([]);
    // the host is exactly as delivered: no user, no sshd drop-in, no ufw, root still gets in
    expect((await hostExec(h3.name, 'id deploy')).code).not.toBe(0);
    expect((await hostExec(h3.name, 'test -e /etc/ssh/sshd_config.d/00-shipshape.conf')).code).not.toBe(0);
    expect((await hostExec(h3.name, 'command -v ufw')).code).not.toBe(0);
    expect((await sshLogin(lab, 'root', h3.addr, 'true')).code).toBe(0);
  });

  it('applies from root + key and reports no failure, even after the controller failed logins (fail2ban never bans it)', async () => {
    // Failed logins from the controller's address just before the first run (a user mistyped, the wrong keys an
    // agent offers), more than fail2ban's maxretry (5) within its findtime: Debian 13's fail2ban starts at install
    // and reads the journal back over findtime, and its packaged jail would ban this address in the middle of the run
    for (let i = 0; i < 6; i++) await sshLogin(lab, 'nosuchuser', h3.addr, 'true', ['-o', 'PubkeyAuthentication=no']);
    // all six in the journal (journald writes them a moment after sshd logs them)
    const failures = async () => ((await onHost(h3.name, 'journalctl -u ssh -o cat --no-pager')).match(/Invalid user nosuchuser from 10\.99\.0\.1 /g) ?? []).length;
    for (let i = 0; i < 20 && (await failures()) < 6; i++) await new Promise((r) => setTimeout(r, 500));
    expect(await failures()).toBe(6);
    const started = Date.now();
    const r = await shipshapeJson('apply', SITE, inv);
    const took = Date.now() - started;
    const host = r.report.hosts[h3.name];
    expect(host.failed, JSON.stringify(host.tasks.filter((t) => t.status === 'failed'), null, 2) + r.stderr.slice(-2000)).toBe(0);
    expect(r.code).toBe(0);
    // a new login from the controller gets in, and fail2ban holds no ban on its address
    expect((await sshLogin(lab, 'deploy', h3.addr, 'true')).code).toBe(0);
    const status = await onHost(h3.name, 'fail2ban-client status sshd');
    expect(status).toMatch(/Currently banned:\s+0\s/);
    expect(status).not.toContain(lab.gateway);
    expect(host.notes?.join('\n')).toMatch(/connected as bootstrap_user root/);
    // in a container every kernel parameter is skipped with the reason, none failed
    // the kernel values are skipped; the judgement of the sysctl.d files' boot order still runs
    const sysctl = host.tasks.filter((t) => t.role === 'sysctl_hardening' && t.name !== 'no later sysctl.d file overrides these settings');
    expect(sysctl.length).toBeGreaterThan(20);
    expect(sysctl.every((t) => t.status === 'skipped' && /read-only in a systemd-nspawn container/.test(t.reason))).toBe(true);
    console.log(`first apply on a fresh host: ${seconds(took)}, ${host.changed} changed, ${host.tasks.filter((t) => t.status === 'skipped').length} skipped`);
  });

  it('refuses root and passwords; the deploy user logs in with its key and has sudo', async () => {
    const root = await sshLogin(lab, 'root', h3.addr, 'true');
    expect(root.code).not.toBe(0);
    expect(root.stderr).toMatch(/Permission denied/);
    const password = ['-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no'];
    for (const user of ['deploy', 'root']) {
      const r = await sshLogin(lab, user, h3.addr, 'true', password);
      expect(r.code).not.toBe(0);
      // the server offers nothing but publickey
      expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
    }
    const deploy = await sshLogin(lab, 'deploy', h3.addr, 'sudo -n true && id -un');
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout.trim()).toBe('deploy');
  });

  it('is judged by the effective sshd configuration (sshd -T), not by the file written', async () => {
    const eff = Object.fromEntries(
      (await onHost(h3.name, 'sshd -T'))
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );
    expect(eff).toMatchObject({
      port: '22',
      permitrootlogin: 'no',
      passwordauthentication: 'no',
      kbdinteractiveauthentication: 'no',
      permitemptypasswords: 'no',
      x11forwarding: 'no',
      allowagentforwarding: 'no',
      maxauthtries: '3',
      logingracetime: '30',
    });
  });

  it('firewall: a port outside the allowed set is closed from outside (IPv4 and IPv6) and open inside', async () => {
    await onHost(h3.name, 'setsid python3 -m http.server 8080 --bind :: </dev/null >/dev/null 2>&1 & sleep 1');
    expect((await onHost(h3.name, 'curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8080/')).trim()).toBe('200');
    expect(await tcpOpen(h3.addr, 8080)).toBe(false);
    expect(await tcpOpen(h3.addr, 22)).toBe(true);
    const v6 = (await onHost(h3.name, "ip -6 -o addr show dev eth0 scope link | awk '{print $4}' | cut -d/ -f1")).trim();
    expect(v6).toMatch(/^fe80:/);
    expect(await tcpOpen(`${v6}%${BRIDGE}`, 8080)).toBe(false);
    expect(await tcpOpen(`${v6}%${BRIDGE}`, 22)).toBe(true);
    const status = await onHost(h3.name, 'ufw status verbose');
    expect(status).toMatch(/Default: deny \(incoming\), allow \(outgoing\)/);
    for (const port of ['22/tcp', '80/tcp', '443/tcp']) {
      expect(status).toMatch(new RegExp(`^${port} +ALLOW IN +Anywhere`, 'm'));
      expect(status).toMatch(new RegExp(`^${port} \\(v6\\) +ALLOW IN +Anywhere \\(v6\\)`, 'm'));
    }
  });

  it('ssh-audit (Debian 2.5): no failure, no warning but the ones it does not know better about', async () => {
    const r = await run('ssh-audit', ['-n', '-b', '-p', '22', h3.addr]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
    const findings = auditFindings(r.stdout);
    expect(r.stdout).toMatch(OPENSSH[dist]);
    expect(findings.filter((f) => f.level === 'fail')).toEqual([]);
    // ssh-audit 2.5 (2023) calls sntrup761x25519 "experimental" and does not know the Terrapin marker; on
    // Debian 13 it does not know mlkem768x25519-sha256 either: OpenSSH 10's default, the hybrid of ML-KEM-768
    // (FIPS 203) and X25519, which newer ssh-audit releases list as recommended. Judged by that, not by 2.5.
    const accepted = ['sntrup761x25519-sha512@openssh.com', 'kex-strict-s-v00@openssh.com', ...(dist === 'trixie' ? ['mlkem768x25519-sha256'] : [])];
    expect(findings.filter((f) => f.level === 'warn' && !accepted.includes(f.alg))).toEqual([]);
    const unknown = findings.filter((f) => /unknown algorithm/.test(f.text)).map((f) => f.alg);
    expect(unknown).toEqual(dist === 'trixie' ? ['mlkem768x25519-sha256', 'kex-strict-s-v00@openssh.com'] : ['kex-strict-s-v00@openssh.com']);
    console.log(`ssh-audit (${dist}): ${findings.map((f) => `[${f.level}] ${f.alg}: ${f.text}`).join('; ')}`);
  });

  it("a login negotiates the strongest key exchange both sides support (Debian 13: post-quantum ML-KEM)", async () => {
    const server = (await onHost(h3.name, 'sshd -T')).match(/^kexalgorithms (.*)$/m)![1].split(',');
    expect(server.filter((k) => /nistp|group14|sha1/.test(k))).toEqual([]);
    // the controller's OpenSSH 9.2: the first of its own preferences that the server offers
    const client = (await run('ssh', ['-G', h3.addr])).stdout.match(/^kexalgorithms (.*)$/m)![1].split(',');
    const best = client.find((k) => server.includes(k));
    const fromController = await sshLogin(lab, 'deploy', h3.addr, 'true', ['-v']);
    expect(fromController.code, fromController.stderr.slice(-1500)).toBe(0);
    expect(negotiatedKex(fromController.stderr)).toBe(best);
    expect(best).toMatch(/^sntrup761x25519/);
    // the host's own client (Debian 13: OpenSSH 10, which speaks ML-KEM): a real login with the deploy key
    await onHost(h3.name, `install -m 600 /dev/null /root/lab-key && cat > /root/lab-key <<'EOF'\n${readFileSync(lab.keyPath, 'utf8')}EOF`);
    const local = await hostExec(h3.name, `ssh -v -i /root/lab-key -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null deploy@${h3.addr} id -un 2>&1; rm -f /root/lab-key`);
    expect(local.stdout, local.stdout.slice(-1500)).toMatch(/^deploy$/m);
    expect(negotiatedKex(local.stdout)).toBe(dist === 'trixie' ? 'mlkem768x25519-sha256' : best);
  });

  it('fail2ban bans a second host that keeps failing SSH logins, and lets it in again when unbanned', async () => {
    // it reads the journal: Debian 13 has no /var/log/auth.log at all (no rsyslog)
    expect(await onHost(h3.name, 'fail2ban-client get sshd journalmatch')).toMatch(/_SYSTEMD_UNIT=ssh(d)?\.service/);
    if (dist === 'trixie') expect((await hostExec(h3.name, 'test -e /var/log/auth.log')).code).not.toBe(0);
    expect(await reachableFrom(h4.name, h3.addr, 22)).toBe(true);
    // an unknown user, no key offered: "Invalid user nosuchuser from 10.99.0.14" in the journal, fail2ban's
    // default filter. `timeout`: a ban that lands mid-handshake drops the packets and ssh would wait forever
    const attempt = `timeout 8 ssh -o BatchMode=yes -o ConnectTimeout=4 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no nosuchuser@${h3.addr} true </dev/null`;
    const bannedNow = async () => (await onHost(h3.name, 'fail2ban-client status sshd')).includes(h4.addr);
    for (let i = 0; i < 5; i++) await nsExec(h4.name, attempt);
    let banned = false;
    for (let i = 0; i < 20 && !banned; i++) {
      banned = await bannedNow();
      if (!banned) await new Promise((r) => setTimeout(r, 500));
    }
    expect(banned).toBe(true);
    expect(await reachableFrom(h4.name, h3.addr, 22)).toBe(false);
    // the controller (on the ignore list) still gets in
    expect((await sshLogin(lab, 'deploy', h3.addr, 'true')).code).toBe(0);
    await onHost(h3.name, `fail2ban-client set sshd unbanip ${h4.addr}`);
    expect(await reachableFrom(h4.name, h3.addr, 22)).toBe(true);
  });

  it('Docker still works on the hardened host (forwarding untouched, containers run)', async () => {
    expect((await onHost(h3.name, 'sysctl -n net.ipv4.ip_forward')).trim()).toBe('1');
    const imported = await sshWithInput(lab, 'deploy', h3.addr, 'docker import - shipshape/busybox:hardening', await busyboxRootfs());
    expect(imported.code, imported.stderr).toBe(0);
    const r = await sshLogin(lab, 'deploy', h3.addr, 'docker run --rm shipshape/busybox:hardening /bin/busybox echo container ok');
    expect(r.stdout.trim(), r.stderr).toBe('container ok');
  });

  it('unattended-upgrade --dry-run succeeds with the security origins in place', async () => {
    const r = await hostExec(h3.name, 'unattended-upgrade --dry-run --debug 2>&1');
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Allowed origins are: .*origin=Debian,codename=${dist}-security,label=Debian-Security`));
    // and the security suite is really configured on the host, with the origin and label the pattern names
    expect(await onHost(h3.name, 'apt-cache policy')).toMatch(new RegExp(`o=Debian,a=[a-z-]+,n=${dist}-security,l=Debian-Security`));
    expect(await onHost(h3.name, 'systemctl is-enabled apt-daily.timer apt-daily-upgrade.timer')).toMatch(/^enabled\nenabled\n$/);
  });

  it('a second apply changes nothing, and check agrees', async () => {
    const started = Date.now();
    const again = await shipshapeJson('apply', SITE, inv);
    const took = Date.now() - started;
    expect(again.code).toBe(0);
    expect(changedTasks(again.report, h3.name)).toEqual([]);
    const check = await shipshapeJson('check', SITE, inv);
    expect(check.code).toBe(0);
    expect(changedTasks(check.report, h3.name)).toEqual([]);
    console.log(`second apply: ${seconds(took)}, 0 changed`);
  });

  it('removes a port opened by hand (drift), keeps a hand-made deny rule unless firewall_purge', async () => {
    await onHost(h3.name, 'ufw allow 8081/tcp >/dev/null && ufw deny from 203.0.113.9 >/dev/null');
    const fixed = await shipshapeJson('apply', SITE, inv, ['-t', 'firewall']);
    const rules = fixed.report.hosts[h3.name].tasks.find((t) => t.name === 'firewall rules')!;
    expect(rules.status).toBe('changed');
    expect(rules.reason).toMatch(/remove undeclared "allow 8081\/tcp"/);
    expect(rules.reason).toMatch(/not declared, kept: "deny from 203.0.113.9"/);
    expect(await onHost(h3.name, 'ufw show added')).not.toMatch(/8081/);
    const purge = inventory({ firewall_purge: true });
    const purged = await shipshapeJson('apply', SITE, purge, ['-t', 'firewall']);
    expect(changedTasks(purged.report, h3.name)).toEqual(['firewall|firewall rules']);
    expect(await onHost(h3.name, 'ufw show added')).not.toMatch(/203\.0\.113\.9/);
  });

  it('with ssh_allow_from set to the controller only, a second host is refused and the controller still gets in', async () => {
    const narrowed = inventory({ ssh_allow_from: [`${lab.gateway}/32`] });
    const r = await shipshapeJson('apply', SITE, narrowed);
    expect(r.code).toBe(0);
    expect(changedTasks(r.report, h3.name)).toEqual(['firewall|firewall rules']);
    // the rule open to anyone, added by the first run, is gone without firewall_purge: the role owns it
    const added = await onHost(h3.name, 'ufw show added');
    expect(added).toContain(`ufw allow from ${lab.gateway} to any port 22 proto tcp comment 'shipshape ssh'`);
    expect(added).not.toMatch(/^ufw allow 22\/tcp/m);
    expect(await reachableFrom(h4.name, h3.addr, 22)).toBe(false);
    expect(await tcpOpen(h3.addr, 22)).toBe(true);
    expect((await sshLogin(lab, 'deploy', h3.addr, 'sudo -n true')).code).toBe(0);
    // firewall_allow is not narrowed with it: HTTP stays open to everyone
    await onHost(h3.name, 'setsid python3 -m http.server 80 --bind :: </dev/null >/dev/null 2>&1 & sleep 1');
    expect(await reachableFrom(h4.name, h3.addr, 80)).toBe(true);
    const again = await shipshapeJson('apply', SITE, narrowed);
    expect(changedTasks(again.report, h3.name)).toEqual([]);
  });

  it.skipIf(!process.env.SHIPSHAPE_E2E_LYNIS)('Lynis hardening index beats dev-sec\'s 71 (set SHIPSHAPE_E2E_LYNIS=1; about a minute)', async () => {
    const out = await onHost(h3.name, 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis >/dev/null 2>&1; lynis audit system --quick --no-colors 2>&1');
    const index = Number(/Hardening index : (\d+)/.exec(out)?.[1]);
    console.log(`Lynis hardening index after site.yml: ${index}`);
    expect(index).toBeGreaterThan(71);
  });
});

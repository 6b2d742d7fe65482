/**
 * Issue 12, end to end: drift as a person causes it. One host per Debian release (h81 Debian 12, h181
 * Debian 13) is provisioned once with the whole site playbook; then a batch of independent changes is made
 * on each by hand, the way a colleague would (a drop-in that sorts first, a line above the Include, a
 * Match block, `ufw allow`, `ufw disable`, an apt.conf.d file, `systemctl mask/stop/disable`, a key, a
 * sudoers file, a removed package, edited files, dockerd restarted with other settings, a later sysctl.d file, the
 * Caddyfile edited and caddy disabled, the backup's cron entry changed, made group-writable (cron ignores
 * it), a second schedule in root's crontab, cron masked, the restic password file opened to everyone).
 * `check` must name every cause and its place, `apply`
 * must fix exactly that, the next `check` must be clean, and the host's managed state must be what it was
 * before the changes. The notify hook (a local HTTP stub) gets one message for the drifted run, none for
 * a clean one.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshHosts, hostExec, PLAYBOOKS, shipshape, shipshapeJson, siteLabVars, stopwatch, writeInventory, type Lab, type LabHost } from './support.js';

const SITE = join(PLAYBOOKS, 'site.yml');

interface Drift {
  what: string;
  why: string;
  where: string;
  fix: string;
}
type Task = { name: string; role: string | null; status: string; reason: string; drift?: Drift[] };

/** Must succeed: a failed command inside the host is a broken test, not a finding. */
async function onHost(name: string, cmd: string): Promise<string> {
  const r = await hostExec(name, cmd);
  if (r.code !== 0) throw new Error(`${name}: \`${cmd.slice(0, 200)}\` exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

const BOB_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobDebugKeyBobDebugKeyBobDebugKeyBobDebugKey0 bob@debug';

/**
 * The scenarios: what a person types, the task that must report it, and where the cause must be named
 * (`outside`: the cause is not in a file shipshape writes).
 */
const SCENARIOS: { id: string; role: string; task: string; where: RegExp; outside: boolean; inject: string }[] = [
  { id: 'drop-in sorting first', role: 'ssh', task: 'sshd hardened settings', where: /^\/etc\/ssh\/sshd_config\.d\/00-aaa\.conf:1$/, outside: true, inject: "printf 'PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/00-aaa.conf" },
  { id: 'line above the Include', role: 'ssh', task: 'sshd hardened settings', where: /^\/etc\/ssh\/sshd_config:1$/, outside: true, inject: "sed -i '1i PermitRootLogin yes' /etc/ssh/sshd_config" },
  { id: 'Match block for the deploy user', role: 'ssh', task: 'sshd hardened settings', where: /^\/etc\/ssh\/sshd_config:\d+ \(in "Match User deploy"\)$/, outside: true, inject: "printf '\\nMatch User deploy\\n    AllowTcpForwarding yes\\n' >> /etc/ssh/sshd_config" },
  { id: 'our sshd drop-in edited', role: 'ssh', task: 'sshd hardened settings', where: /^\/etc\/ssh\/sshd_config\.d\/00-shipshape\.conf$/, outside: false, inject: "sed -i 's/^MaxAuthTries .*/MaxAuthTries 10/' /etc/ssh/sshd_config.d/00-shipshape.conf" },
  { id: 'a port opened while debugging', role: 'firewall', task: 'firewall rules', where: /ufw rules/, outside: true, inject: 'ufw allow 6000 >/dev/null' },
  { id: 'ufw disabled', role: 'firewall', task: 'firewall rules', where: /ENABLED=no/, outside: true, inject: 'ufw disable >/dev/null' },
  { id: 'apt.conf.d/99-local turns upgrades off', role: 'unattended_upgrades', task: 'no other APT file overrides these settings', where: /^\/etc\/apt\/apt\.conf\.d\/99-local:2$/, outside: true, inject: `printf '// while debugging\\nAPT::Periodic::Unattended-Upgrade "0";\\n' > /etc/apt/apt.conf.d/99-local` },
  { id: 'upgrade timer masked', role: 'unattended_upgrades', task: 'upgrades run daily', where: /systemd unit apt-daily-upgrade\.timer/, outside: true, inject: 'systemctl mask apt-daily-upgrade.timer 2>/dev/null' },
  { id: 'a second key for deploy', role: 'deploy_user', task: 'authorized keys of deploy', where: /^\/home\/deploy\/\.ssh\/authorized_keys:2$/, outside: false, inject: `echo '${BOB_KEY}' >> /home/deploy/.ssh/authorized_keys` },
  { id: 'a second sudoers file', role: 'deploy_user', task: 'no passwordless sudo besides the declared', where: /^\/etc\/sudoers\.d\/zz-debug:1$/, outside: true, inject: "echo 'bob ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/zz-debug && chmod 0440 /etc/sudoers.d/zz-debug" },
  { id: 'fail2ban stopped', role: 'fail2ban', task: 'fail2ban running', where: /systemd unit fail2ban\.service/, outside: true, inject: 'systemctl stop fail2ban' },
  { id: 'fail2ban jail edited', role: 'fail2ban', task: 'sshd jail', where: /\/etc\/fail2ban\/jail\.d\/shipshape\.local/, outside: false, inject: "sed -i 's/^maxretry = .*/maxretry = 50/' /etc/fail2ban/jail.d/shipshape.local" },
  { id: 'deploy lost the docker group', role: 'docker', task: 'deploy in the docker group', where: /deploy/, outside: false, inject: 'gpasswd -d deploy docker >/dev/null' },
  { id: 'docker disabled at boot', role: 'docker', task: 'docker running', where: /systemd unit docker\.service/, outside: true, inject: 'systemctl disable docker 2>/dev/null' },
  {
    // changed, restarted, and the file put back without a restart: only docker info shows it
    id: 'dockerd runs other settings than daemon.json',
    role: 'docker',
    task: 'docker runs daemon.json',
    where: /the running dockerd/,
    outside: true,
    inject: "cp -p /etc/docker/daemon.json /root/daemon.json.ok && echo '{\"log-driver\": \"journald\"}' > /etc/docker/daemon.json && systemctl restart docker && cp -p /root/daemon.json.ok /etc/docker/daemon.json",
  },
  { id: 'a later sysctl.d file', role: 'sysctl_hardening', task: 'no later sysctl.d file overrides these settings', where: /^\/etc\/sysctl\.d\/99-zz\.conf:2$/, outside: true, inject: "printf '# while debugging\\nkernel.sysrq = 1\\n' > /etc/sysctl.d/99-zz.conf" },
  { id: 'Caddyfile edited by hand', role: 'caddy', task: 'Caddyfile', where: /^\/etc\/caddy\/Caddyfile$/, outside: false, inject: "printf '# debug\\n' >> /etc/caddy/Caddyfile" },
  { id: 'caddy disabled at boot', role: 'caddy', task: 'caddy enabled and running', where: /systemd unit caddy\.service/, outside: true, inject: 'systemctl disable caddy 2>/dev/null' },
  { id: 'backup schedule changed', role: 'backup', task: 'backup cron entry', where: /^\/etc\/cron\.d\/shipshape-backup:\d+$/, outside: false, inject: "sed -i 's/^17 3 /0 12 /' /etc/cron.d/shipshape-backup" },
  { id: 'backup cron file group-writable (cron ignores it)', role: 'backup', task: 'backup cron entry', where: /^\/etc\/cron\.d\/shipshape-backup$/, outside: false, inject: 'chmod 664 /etc/cron.d/shipshape-backup' },
  { id: "a second backup schedule in root's crontab", role: 'backup', task: 'backup cron entry', where: /^root's crontab:1 \(crontab -l -u root\)$/, outside: true, inject: "echo '30 * * * * /usr/local/sbin/shipshape-backup run' | crontab -" },
  { id: 'cron stopped and masked', role: 'backup', task: 'backup cron entry', where: /^systemd unit cron\.service \(masked, inactive\)$/, outside: true, inject: 'systemctl stop cron && systemctl mask cron 2>/dev/null' },
  { id: 'restic password file readable by everyone', role: 'backup', task: 'restic password file', where: /^\/etc\/shipshape-backup\/restic-password \(mode and owner\)$/, outside: false, inject: 'chmod 644 /etc/shipshape-backup/restic-password' },
  { id: 'integrity tool removed', role: 'os_hardening', task: 'hardening packages', where: /./, outside: false, inject: 'apt-get remove -y -q debsums >/dev/null 2>&1' },
  { id: 'login banner edited', role: 'os_hardening', task: 'login banner /etc/issue.net', where: /\/etc\/issue\.net/, outside: false, inject: "echo 'Welcome! Debian 12, kernel 6.1' > /etc/issue.net" },
];

/**
 * What shipshape manages on the host, judged by effect: sshd as it treats the deploy user, the active
 * firewall, APT as apt reads it, units, groups, keys, sudo, packages, and the managed files' hashes.
 */
const STATE = [
  'sshd -T -C user=deploy,host=10.99.0.1,addr=10.99.0.1 | sort',
  'ufw status verbose',
  "apt-config dump | grep -E '^(APT::Periodic|Unattended-Upgrade::Automatic-Reboot)'",
  'for u in ssh fail2ban docker apt-daily.timer apt-daily-upgrade.timer; do echo "$u $(systemctl is-enabled $u) $(systemctl is-active $u)"; done',
  'id deploy',
  'cat /home/deploy/.ssh/authorized_keys',
  'sudo -l -U deploy | tail -n 2',
  "dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' debsums fail2ban ufw unattended-upgrades docker.io",
  "docker info --format '{{.LoggingDriver}}'",
  'for u in cron caddy; do echo "$u $(systemctl is-enabled $u) $(systemctl is-active $u)"; done',
  "crontab -l 2>/dev/null | grep -v '^#' || true",
  "stat -c '%n %a %U %h' /etc/cron.d/shipshape-backup /etc/shipshape-backup/restic-password",
  "cat /etc/sysctl.d/*.conf | grep -v '^[[:space:]]*#' | grep . || true",
  'sha256sum /etc/cron.d/shipshape-backup /etc/caddy/Caddyfile /etc/shipshape-backup/restic-password',
  'sha256sum /etc/ssh/sshd_config.d/00-shipshape.conf /etc/fail2ban/jail.d/shipshape.local /etc/docker/daemon.json /etc/issue /etc/issue.net /etc/apt/apt.conf.d/20auto-upgrades /etc/apt/apt.conf.d/52shipshape-unattended-upgrades /etc/sudoers.d/90-shipshape-deploy /etc/modprobe.d/shipshape-hardening.conf /etc/login.defs',
].join('; echo ---; ');

/** A webhook receiver on the controller: counts what the check posts. */
function stub(): Promise<{ server: Server; url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push({ method: req.method, title: req.headers.title, json: JSON.parse(body) });
      res.end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/drift`, bodies })));
}

describe('drift on hosts provisioned with site.yml (Debian 12 and 13)', () => {
  let lab: Lab;
  let hosts: LabHost[];
  let inv: string;
  let hook: Awaited<ReturnType<typeof stub>>;
  const before = new Map<string, string>();
  let checkChanged: Record<string, string[]> = {};
  const { timings, timed } = stopwatch();

  beforeAll(async () => {
    const bookworm = await timed('boot h81', () => freshHosts(['h81']));
    const trixie = await timed('boot h181', () => freshHosts(['h181'], { dist: 'trixie' }));
    lab = bookworm;
    hosts = [bookworm.hosts[0], trixie.hosts[0]];
    inv = writeInventory(lab, hosts, {
      vars: {
        ...siteLabVars(lab),
        // backups on: a local restic repository is enough to judge the schedule
        backup_paths: ['/etc/hostname'],
        backup_restic_repository: '/var/backups/restic-drift',
        backup_restic_password: 'drift-e2e-restic-password',
      },
      hostVars: Object.fromEntries(hosts.map((h) => [h.name, { caddy_sites: [{ domain: `${h.name}.lab.test`, respond: `drift test on ${h.name}` }] }])),
    });
    const first = await timed('first apply, both hosts', () => shipshapeJson('apply', SITE, inv));
    if (first.code !== 0) throw new Error(`first apply failed: ${first.stdout.slice(-3000)}\n${first.stderr.slice(-2000)}`);
    hook = await stub();
  }, 1_500_000);

  afterAll(() => {
    hook?.server.close();
    console.log(`drift e2e timings:\n  ${timings.join('\n  ')}`);
  });

  it('a clean host: check exits 0 and the notify hook hears nothing', async () => {
    const r = await timed('clean check with --notify', () => shipshapeJson('check', SITE, inv, ['--notify', hook.url]));
    expect(r.code, r.stdout.slice(-3000)).toBe(0);
    expect(hook.bodies).toEqual([]);
    for (const h of hosts) before.set(h.name, await onHost(h.name, STATE));
  });

  it(`${SCENARIOS.length} changes by hand, ${SCENARIOS.filter((s) => s.outside).length} of them outside the managed files: check exits 2 and names each cause and place; the hook gets one message`, async () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(15);
    expect(SCENARIOS.filter((s) => s.outside).length).toBeGreaterThanOrEqual(5);
    for (const h of hosts) await onHost(h.name, SCENARIOS.map((s) => s.inject).join(' && '));
    const r = await timed('drifted check with --notify', () => shipshapeJson('check', SITE, inv, ['--notify', hook.url]));
    expect(r.code, r.stderr.slice(-2000)).toBe(2);
    for (const h of hosts) {
      const tasks = r.report.hosts[h.name].tasks as Task[];
      for (const s of SCENARIOS) {
        const task = tasks.find((t) => t.role === s.role && t.name === s.task);
        expect(task?.status, `${h.name}: ${s.id}: task "${s.task}"`).toBe('changed');
        const named = task!.drift?.find((d) => s.where.test(d.where));
        expect(named, `${h.name}: ${s.id}: no drift entry names ${s.where} in ${JSON.stringify(task!.drift)}`).toBeTruthy();
        expect(named!.what.length && named!.why.length && named!.fix.length, `${h.name}: ${s.id}`).toBeTruthy();
      }
      checkChanged[h.name] = tasks.filter((t) => t.status === 'changed').map((t) => `${t.role}|${t.name}`);
    }
    // the words, not only JSON: the text output says what, why, where and the fix
    const ssh = (r.report.hosts.h81.tasks as Task[]).find((t) => t.name === 'sshd hardened settings')!;
    expect(ssh.drift!.map((d) => d.what).join('\n')).toMatch(/passwordauthentication "yes" is in effect, not "no"/);
    expect(ssh.drift!.find((d) => /Match User deploy/.test(d.where))!.what).toMatch(/sshd -T for deploy@10\.99\.0\.1 confirms "allowtcpforwarding yes"/);
    const ufw = (r.report.hosts.h81.tasks as Task[]).find((t) => t.name === 'firewall rules')!;
    expect(ufw.drift!.map((d) => d.fix)).toContain('ufw delete allow 6000');
    expect(hook.bodies).toHaveLength(1);
    const msg = hook.bodies[0] as { method: string; title: string; json: { text: string; hosts: Record<string, unknown[]> } };
    expect(msg.method).toBe('POST');
    expect(Object.keys(msg.json.hosts).sort()).toEqual(['h181', 'h81']);
    expect(msg.json.text).toMatch(/00-aaa\.conf:1/);
    expect(msg.title).toMatch(/^shipshape: drift on 2 hosts/);
  });

  it('the text output says what, why, where and the fix', async () => {
    const r = await shipshape(['check', SITE, '-i', inv, '-l', 'h81', '--diff']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/drift: passwordauthentication "yes" is in effect/);
    expect(r.stdout).toMatch(/why: {3}password logins let anyone/);
    expect(r.stdout).toMatch(/where: \/etc\/apt\/apt\.conf\.d\/99-local:2/);
    expect(r.stdout).toMatch(/fix: {3}ufw delete allow 6000/);
    // the override's file as a diff: its line commented out, not our file rewritten
    expect(r.stdout).toMatch(/\+# disabled by shipshape \(it overrode a hardened setting\): PasswordAuthentication yes/);
  });

  it('apply fixes exactly what check reported, at the cause; the next check is clean; nothing else changed', async () => {
    const applied = await timed('apply fixing the drift', () => shipshapeJson('apply', SITE, inv));
    expect(applied.code, applied.stdout.slice(-4000)).toBe(0);
    for (const h of hosts) {
      const changed = (applied.report.hosts[h.name].tasks as Task[]).filter((t) => t.status === 'changed').map((t) => `${t.role}|${t.name}`);
      expect(changed.sort(), h.name).toEqual(checkChanged[h.name].sort());
    }
    const again = await timed('check after apply', () => shipshapeJson('check', SITE, inv, ['--notify', hook.url]));
    expect(again.code, JSON.stringify(Object.values(again.report.hosts).map((x) => x.tasks.filter((t) => t.status !== 'ok' && t.status !== 'skipped')))).toBe(0);
    expect(hook.bodies).toHaveLength(1);
    for (const h of hosts) {
      // fixed at the cause: the colleague's files are still there, the overriding lines commented out
      expect(await onHost(h.name, 'cat /etc/ssh/sshd_config.d/00-aaa.conf')).toMatch(/^# disabled by shipshape .*PasswordAuthentication yes$/m);
      expect(await onHost(h.name, 'cat /etc/apt/apt.conf.d/99-local')).toMatch(/^\/\/ disabled by shipshape .*Unattended-Upgrade "0";$/m);
      expect(await onHost(h.name, 'head -n 1 /etc/ssh/sshd_config')).toMatch(/^# disabled by shipshape .*PermitRootLogin yes/);
      // what a user cares about: the effective values, the firewall, the key, the sudo rule
      expect(await onHost(h.name, 'apt-config dump | grep "^APT::Periodic::Unattended-Upgrade "')).toMatch(/"1";/);
      expect(await onHost(h.name, 'ufw status')).toMatch(/^Status: active/);
      expect(await onHost(h.name, 'ufw status')).not.toMatch(/^6000/m);
      expect(await onHost(h.name, 'sudo -l -U bob 2>&1 || true')).not.toMatch(/NOPASSWD/);
      // cron runs again, the second schedule and the later sysctl.d line are commented out where they were
      expect(await onHost(h.name, 'systemctl is-active cron')).toMatch(/^active/);
      expect(await onHost(h.name, 'crontab -l')).toMatch(/^# disabled by shipshape .*: 30 \* \* \* \* \/usr\/local\/sbin\/shipshape-backup run$/m);
      expect(await onHost(h.name, 'cat /etc/sysctl.d/99-zz.conf')).toMatch(/^# disabled by shipshape .*: kernel\.sysrq = 1$/m);
      // and the managed state as a whole is what it was before anyone touched the host
      expect(await onHost(h.name, STATE), h.name).toBe(before.get(h.name));
    }
  });
});

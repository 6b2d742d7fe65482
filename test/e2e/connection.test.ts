/**
 * How shipshape reaches hosts, on real lab hosts, on Debian 12 and Debian 13:
 * - a host behind a bastion (~/.ssh/config ProxyJump, HostKeyAlias, IdentitiesOnly), the target
 *   refusing any login that does not come from the bastion; connection keys given with -e;
 * - a known_hosts holding only the host's ECDSA key, while the ssh role drops ECDSA host keys;
 * - fail2ban never banning the controller: many runs in a row leave no failed login in the journal,
 *   a missing user is not tried on every run, and even runs that fail logins never get the controller banned;
 * - a host vouched for only by @cert-authority is refused clearly.
 * Hosts h41/h42 (Debian 12) and h141/h142 (Debian 13).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshHosts, hostExec, PLAYBOOKS, shipshape, shipshapeJson, stopwatch, writeInventory, type Lab, type LabHost } from './support.js';

const site = join(PLAYBOOKS, 'site.yml');
const ACCESS = ['-t', 'deploy_user,ssh,fail2ban'];

const RELEASES = [
  { dist: 'bookworm' as const, bastion: 'h41', target: 'h42' },
  { dist: 'trixie' as const, bastion: 'h141', target: 'h142' },
];

/** the lab's known_hosts lines of one host, only of these key types */
function knownLines(lab: Lab, h: LabHost, types: RegExp, as = h.addr): string {
  return readFileSync(lab.knownHostsPath, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${h.addr} `) && types.test(l.split(' ')[1]))
    .map((l) => l.replace(h.addr, as))
    .join('\n') + '\n';
}

/** sshd's journal on the host since a moment (host clock), as fail2ban reads it */
async function sshJournal(h: LabHost, since: string): Promise<string> {
  const r = await hostExec(h.name, `journalctl --no-pager -o cat --since '${since}' _COMM=sshd + _COMM=sshd-session 2>/dev/null; true`);
  return r.stdout;
}

const hostNow = async (h: LabHost) => (await hostExec(h.name, "date '+%Y-%m-%d %H:%M:%S'")).stdout.trim();

describe.each(RELEASES)('connections on $dist', ({ dist, bastion, target }) => {
  let lab: Lab;
  let A: LabHost;
  let B: LabHost;
  /** a HOME of its own: ~/.ssh/config and ~/.ssh/known_hosts of the operator */
  let home: string;
  let env: Record<string, string>;
  const { timings, timed } = stopwatch();

  beforeAll(async () => {
    lab = await freshHosts([bastion, target], { dist });
    [A, B] = lab.hosts;
    home = mkdtempSync(join(tmpdir(), 'ss-e2e-home-'));
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    env = { HOME: home, XDG_STATE_HOME: join(home, 'state'), SSH_AUTH_SOCK: '' };
  });

  afterAll(() => console.log(`connection e2e (${dist}):\n  ${timings.join('\n  ')}`));

  it('reaches a host only through its bastion (ProxyJump, HostKeyAlias, IdentitiesOnly from ~/.ssh/config; user from -e)', async () => {
    // the target accepts logins only from the bastion's address
    const only = await hostExec(B.name, `printf 'AllowUsers *@${A.addr}\\n' > /etc/ssh/sshd_config.d/01-only-bastion.conf && systemctl reload ssh`);
    expect(only.code, only.stderr).toBe(0);
    writeFileSync(
      join(home, '.ssh', 'config'),
      [
        `Host hop`,
        `  HostName ${A.addr}`,
        `  User root`,
        `  IdentityFile ${lab.keyPath}`,
        `Host ${B.name}`,
        `  HostName ${B.addr}`,
        `  ProxyJump hop`,
        `  HostKeyAlias ${B.name}-alias`,
        `  IdentityFile ${lab.keyPath}`,
        `  IdentitiesOnly yes`,
        '',
      ].join('\n'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-jump-'));
    // user: nobody in the inventory; -e ansible_user=root wins, as in Ansible
    writeFileSync(join(dir, 'hosts.yml'), stringify({ all: { hosts: { [B.name]: { user: 'nobody' } } } }));
    // the bastion's key under its address, the target's ONLY under its alias
    writeFileSync(join(dir, 'known_hosts'), knownLines(lab, A, /./) + knownLines(lab, B, /ed25519/, `${B.name}-alias`));
    writeFileSync(
      join(dir, 'play.yml'),
      stringify([{ hosts: 'all', tasks: [{ name: 'marker', copy: { dest: '/root/reached-through-bastion', content: 'yes\n', mode: '0600' } }] }]),
    );
    const r = await timed('apply through the bastion', () => shipshapeJson('apply', join(dir, 'play.yml'), dir, ['-e', 'ansible_user=root'], env));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await hostExec(B.name, 'cat /root/reached-through-bastion')).stdout).toBe('yes\n');
    // and the login came from the bastion: sshd recorded the bastion's address
    expect(await sshJournal(B, '-10 min')).toContain(`Accepted publickey for root from ${A.addr}`);
    // without the bastion the same inventory gets nowhere (the target refuses the controller)
    writeFileSync(join(home, '.ssh', 'config'), `Host ${B.name}\n  HostName ${B.addr}\n  HostKeyAlias ${B.name}-alias\n  IdentityFile ${lab.keyPath}\n`);
    const direct = await shipshapeJson('apply', join(dir, 'play.yml'), dir, ['-e', 'ansible_user=root'], env);
    expect(direct.code).toBe(4);
    writeFileSync(join(home, '.ssh', 'config'), '');
  });

  it('refuses a host vouched for only by @cert-authority, clearly, even with --accept-new-host-keys', async () => {
    const ca = ssh2.utils.generateKeyPairSync('ed25519');
    const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-ca-'));
    writeFileSync(join(dir, 'hosts.yml'), stringify({ all: { hosts: { [A.name]: { host: A.addr, user: 'root', identity_file: lab.keyPath } } } }));
    writeFileSync(join(dir, 'known_hosts'), `@cert-authority 10.99.0.* ${ca.public}\n`);
    writeFileSync(join(dir, 'play.yml'), stringify([{ hosts: 'all', tasks: [{ name: 'nothing', command: 'true' }] }]));
    const r = await shipshapeJson('apply', join(dir, 'play.yml'), dir, ['--accept-new-host-keys'], env);
    expect(r.code).toBe(4);
    expect(r.report.hosts[A.name].error).toMatch(/trusted only through @cert-authority .*cannot verify host certificates/);
    expect(readFileSync(join(home, '.ssh', 'known_hosts'), { encoding: 'utf8', flag: 'a+' })).not.toContain(A.addr);
  });

  it('known_hosts with only the ECDSA key: the ssh role drops ECDSA host keys, the run converges and the next changes nothing', async () => {
    const inventory = writeInventory(lab, [A]);
    writeFileSync(join(inventory, 'known_hosts'), knownLines(lab, A, /^ecdsa-/));
    const started = await hostNow(A);
    // a check on the fresh host twice: deploy does not exist yet; the second check does not try it again
    const c1 = await timed('check on the fresh host', () => shipshapeJson('check', site, inventory, ACCESS, env));
    expect(c1.code, c1.stderr).toBe(2);
    const c2 = await shipshapeJson('check', site, inventory, ACCESS, env);
    expect(c2.code, c2.stderr).toBe(2);
    expect((await sshJournal(A, started)).match(/Invalid user deploy/g) ?? []).toHaveLength(1);

    const first = await timed('first apply', () => shipshapeJson('apply', site, inventory, ACCESS, env));
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.report.hosts[A.name].tasks.find((t) => t.name === 'sshd hardened settings')?.status).toBe('changed');
    // the key the host uses now was recorded through the verified connection
    expect(readFileSync(join(inventory, 'known_hosts'), 'utf8')).toMatch(new RegExp(`^${A.addr.replaceAll('.', '\\.')} ssh-ed25519 `, 'm'));
    const again = await timed('re-apply', () => shipshapeJson('apply', site, inventory, ACCESS, env));
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.report.hosts[A.name].changed).toBe(0);
  });

  it('many runs in a row: no failed login in the journal, fail2ban counts nothing, and its jail ignores the controller', async () => {
    const inventory = writeInventory(lab, [A]);
    const since = await hostNow(A);
    const failedBefore = Number(/Total failed:\s+(\d+)/.exec((await hostExec(A.name, 'fail2ban-client status sshd')).stdout)?.[1]);
    for (let i = 0; i < 4; i++) {
      const r = await timed(`no-op run ${i + 1}`, () => shipshapeJson(i % 2 ? 'check' : 'apply', site, inventory, ACCESS, env));
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const journal = await sshJournal(A, since);
    expect(journal).toMatch(/Accepted publickey for deploy/);
    expect(journal).not.toMatch(/Invalid user|Failed publickey|authentication failure|Connection closed by authenticating user|maximum authentication attempts/i);
    const status = await hostExec(A.name, 'fail2ban-client status sshd');
    expect(Number(/Total failed:\s+(\d+)/.exec(status.stdout)?.[1])).toBe(failedBefore);
    expect((await hostExec(A.name, 'cat /etc/fail2ban/jail.d/shipshape.local')).stdout).toMatch(/^ignoreip = .* 10\.99\.0\.1$/m);
  });

  it('runs that do fail logins (a user the host does not have) never get the controller banned', async () => {
    const inventory = writeInventory(lab, [A]);
    const since = await hostNow(A);
    // each run logs "Invalid user ghost", which fail2ban counts; six runs exceed maxretry (5)
    for (let i = 0; i < 6; i++) {
      const r = await shipshapeJson('check', site, inventory, [...ACCESS, '-e', 'user=ghost'], env);
      expect(r.code).toBe(4);
    }
    // the failures happened (OpenSSH 10's PerSourcePenalties drops some connections on Debian 13 before
    // they get that far), fail2ban saw them and ignored the controller's address: it counts nothing from it
    expect(((await sshJournal(A, since)).match(/Invalid user ghost from 10\.99\.0\.1/g) ?? []).length).toBeGreaterThanOrEqual(3);
    const f2b = await hostExec(A.name, 'cat /var/log/fail2ban.log 2>/dev/null; journalctl -u fail2ban -o cat --no-pager 2>/dev/null; true');
    expect(f2b.stdout).toMatch(/\[sshd\] Ignore 10\.99\.0\.1 by ip/);
    const status = await hostExec(A.name, 'fail2ban-client status sshd');
    expect(status.stdout).toMatch(/Currently banned:\s+0/);
    // sshd's own penalty for failed logins (OpenSSH >= 9.8) lasts seconds; a fail2ban ban would last an hour
    let ok = await shipshapeJson('check', site, inventory, ACCESS, env);
    for (let i = 0; i < 8 && ok.code === 4; i++) {
      await new Promise((r) => setTimeout(r, 10_000));
      ok = await shipshapeJson('check', site, inventory, ACCESS, env);
    }
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });
});

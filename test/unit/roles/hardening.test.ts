import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { modules } from '../../../src/modules/index.js';
import type { RoleDef } from '../../../src/playbook/role.js';
import deployUser from '../../../roles/deploy_user/index.js';
import fail2ban from '../../../roles/fail2ban/index.js';
import firewall, { firewallRules } from '../../../roles/firewall/index.js';
import osHardening from '../../../roles/os_hardening/index.js';
import ssh, { CIPHERS, effectiveKex, HOST_KEY_ALGORITHMS, KEX_REMOVED, MACS } from '../../../roles/ssh/index.js';
import sysctlHardening, { SYSCTL_DEFAULTS, SYSCTL_FILE } from '../../../roles/sysctl_hardening/index.js';
import unattended, { policyFile } from '../../../roles/unattended_upgrades/index.js';
import { modules as withRoleModules, planFor } from '../helpers/plan.js';
import { kexList, RELEASES, SSH_Q_KEX, SSHD_DEFAULT_KEX } from '../fixtures/releases.js';

// what ssh2 (shipshape's SSH client) offers by default, straight from the installed package
const ssh2 = createRequire(import.meta.url)('ssh2/lib/protocol/constants.js') as Record<string, string[]>;

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixfycInH+UUzaXIYKy9nt5u4u6RJfazTQGIGQJ1kVl me@laptop';
const site = { deploy_authorized_keys: [KEY] };

/** Tasks and handlers of a role with these variables (defaults applied, as the engine does). */
function expand(role: RoleDef<any, any>, vars: Record<string, unknown> = {}) {
  const v = role.vars.parse({ ...site, ...vars });
  return [...role.tasks(v), ...(role.handlers?.(v) ?? [])];
}

/** dpkg's answer on a host with fail2ban installed */
const F2B_INSTALLED = { available: true, entries: [{ name: 'fail2ban', arch: 'all', state: 'installed', version: '1.1.0-8' }] };

const ROLES = [deployUser, ssh, firewall, unattended, fail2ban, sysctlHardening, osHardening];

describe('hardening roles', () => {
  it.each(ROLES.map((r) => [r.name, r] as const))('%s: every task names a module and arguments it accepts', (_, role) => {
    for (const t of expand(role)) {
      const mod = modules[t.module] ?? withRoleModules[t.module];
      expect(mod, `${role.name}: ${t.name}`).toBeDefined();
      expect(() => mod.schema.parse(t.args), `${role.name}: ${t.name}`).not.toThrow();
    }
  });

  it('deploy_user: the contract defaults, a key required, and no sudo password without a hash', () => {
    expect(deployUser.vars.parse(site)).toMatchObject({ deploy_user: 'deploy', deploy_sudo: 'nopasswd' });
    expect(deployUser.vars.safeParse({}).success).toBe(false);
    expect(deployUser.vars.safeParse({ ...site, deploy_sudo: 'password' }).error?.issues[0].message).toMatch(/deploy_password_hash/);
    const sudo = expand(deployUser).find((t) => t.module === 'copy')!;
    expect(sudo.args).toMatchObject({ dest: '/etc/sudoers.d/90-shipshape-deploy', mode: '0440', validate: 'visudo -cf %s' });
    expect(sudo.args.content).toContain('deploy ALL=(ALL:ALL) NOPASSWD: ALL');
    expect(expand(deployUser, { deploy_sudo: 'none' }).find((t) => t.name.includes('sudo'))!.args).toEqual({
      path: '/etc/sudoers.d/90-shipshape-deploy',
      state: 'absent',
    });
  });

  it('ssh: keeps at least one algorithm of every kind that shipshape\'s own client (ssh2) speaks', () => {
    const c = ssh2;
    for (const release of RELEASES) {
      expect(effectiveKex(kexList(SSHD_DEFAULT_KEX[release])).filter((k) => c.DEFAULT_KEX.includes(k)), release).not.toEqual([]);
    }
    expect(CIPHERS.filter((k) => c.DEFAULT_CIPHER.includes(k))).not.toEqual([]);
    expect(MACS.filter((k) => c.DEFAULT_MAC.includes(k))).not.toEqual([]);
    expect(HOST_KEY_ALGORITHMS.filter((k) => c.DEFAULT_SERVER_HOST_KEY.includes(k))).not.toEqual([]);
  });

  it('ssh: nothing ssh-audit flags (NIST curves, SHA-1, 64-bit tags, encrypt-and-MAC, 2048-bit groups)', () => {
    const kex = RELEASES.flatMap((r) => effectiveKex(kexList(SSHD_DEFAULT_KEX[r])));
    const all = [...kex, ...CIPHERS, ...MACS, ...HOST_KEY_ALGORITHMS];
    expect(all.filter((a) => /nistp|sha1|umac-64|group14|group1-|cbc|ssh-rsa$|ssh-dss/.test(a))).toEqual([]);
    expect(MACS.every((m) => m.includes('-etm@'))).toBe(true);
  });

  it.each([
    ['debian12', 'sntrup761x25519-sha512@openssh.com', ['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512']],
    ['debian13', 'mlkem768x25519-sha256', ['mlkem768x25519-sha256', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org']],
    ['ubuntu2204', 'curve25519-sha256', ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'sntrup761x25519-sha512@openssh.com', 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512']],
    ['ubuntu2404', 'sntrup761x25519-sha512@openssh.com', ['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512']],
  ] as const)('ssh on %s: the server keeps its own strongest key exchange first (%s)', (release, first, expected) => {
    const kex = effectiveKex(kexList(SSHD_DEFAULT_KEX[release]));
    expect(kex).toEqual(expected);
    expect(kex[0]).toBe(first);
  });

  it('ssh: the removal list names only exchanges every release knows or wildcards (sshd -t never meets an unknown name)', () => {
    const known = (r: (typeof RELEASES)[number]) => SSH_Q_KEX[r].trim().split('\n');
    for (const release of RELEASES) {
      const plain = KEX_REMOVED.filter((k) => !k.includes('*'));
      // Ubuntu 22.04/24.04 do not know the IANA sntrup name: removing it is a no-op there, and sshd
      // accepts unknown names in a removal list (seen: OpenSSH 9.2 with mlkem768x25519-sha256 in one)
      expect(plain.filter((k) => !known(release).includes(k) && k !== 'sntrup761x25519-sha512'), release).toEqual([]);
    }
    const setting = expand(ssh).find((x) => x.module === 'sshd_config')!.args.settings as Record<string, unknown>;
    expect(setting.KexAlgorithms).toBe(`-${KEX_REMOVED.join(',')}`);
  });

  it('ssh: root and passwords off, on the declared port, in a drop-in sshd reads first', () => {
    const t = expand(ssh, { ssh_port: 2222 }).find((x) => x.module === 'sshd_config')!;
    expect(t.args.settings).toMatchObject({
      Port: 2222,
      PermitRootLogin: 'no',
      PasswordAuthentication: false,
      KbdInteractiveAuthentication: false,
      PermitEmptyPasswords: false,
      X11Forwarding: false,
      AllowAgentForwarding: false,
      MaxAuthTries: 3,
    });
  });

  it('firewall: SSH from anywhere by default, only from ssh_allow_from when set, every rule marked as ours', () => {
    const v = firewall.vars.parse({});
    expect(v.firewall_allow).toEqual(['80/tcp', '443/tcp']);
    expect(firewallRules(v)).toEqual([
      { port: '22', proto: 'tcp', comment: 'shipshape ssh' },
      { port: '80', proto: 'tcp', comment: 'shipshape allow' },
      { port: '443', proto: 'tcp', comment: 'shipshape allow' },
    ]);
    const narrowed = firewallRules(firewall.vars.parse({ ssh_port: 2222, ssh_allow_from: ['10.99.0.1/32', '2001:db8::/32'], firewall_allow: [] }));
    expect(narrowed.map((r) => [r.port, 'from_ip' in r ? r.from_ip : 'any'])).toEqual([
      ['2222', '10.99.0.1/32'],
      ['2222', '2001:db8::/32'],
    ]);
    const ufw = expand(firewall).find((t) => t.module === 'ufw')!;
    expect(ufw.args).toMatchObject({ ipv6: true, purge: false, owned_comment: 'shipshape', ssh_port: 22 });
  });

  it('firewall: refuses what is not an address or network, before any host is contacted', () => {
    expect(firewall.vars.safeParse({ ssh_allow_from: ['10.0.0.0/33'] }).success).toBe(false);
    expect(firewall.vars.safeParse({ ssh_allow_from: ['office'] }).success).toBe(false);
    expect(firewall.vars.safeParse({ firewall_allow: ['http'] }).success).toBe(false);
  });

  it('unattended_upgrades: only security origins (the Debian defaults cleared), reboot policy from the variables', () => {
    const text = policyFile(unattended.vars.parse({ unattended_reboot: true, unattended_reboot_time: '03:30' }));
    expect(text).toContain('#clear Unattended-Upgrade::Origins-Pattern;');
    expect(text).toContain('"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";');
    expect(text).toContain('"origin=Ubuntu,archive=${distro_codename}-security,label=Ubuntu";');
    expect(text).not.toContain('label=Debian";');
    expect(text).toContain('Unattended-Upgrade::Automatic-Reboot "true";');
    expect(text).toContain('Unattended-Upgrade::Automatic-Reboot-Time "03:30";');
    expect(unattended.vars.safeParse({ unattended_reboot_time: '4am' }).success).toBe(false);
  });

  it('fail2ban: the sshd jail on the journal and on ssh_port, never banning the controller', () => {
    const jail = (vars: Record<string, unknown>, client?: string) => {
      const task = expand(fail2ban, vars).find((t) => t.module === 'fail2ban_jail')!;
      const plan = planFor('fail2ban_jail', task.args, { file: { exists: false }, packages: F2B_INSTALLED }, {}, false, { port: 22, user: 'deploy', ...(client ? { client } : {}) });
      const write = plan.steps.find((s) => s.kind === 'write') as { content: string };
      return write.content;
    };
    const text = jail({ ssh_port: 2222, fail2ban_ignoreip: ['203.0.113.0/24'] }, '198.51.100.7');
    expect(text).toMatch(/\[sshd\]\nenabled = true\nbackend = systemd\nport = 2222\n/);
    // the address the host sees this run come from (its $SSH_CONNECTION)
    expect(text).toContain('ignoreip = 127.0.0.1/8 ::1 203.0.113.0/24 198.51.100.7\n');
    expect(jail({}, undefined)).toContain('ignoreip = 127.0.0.1/8 ::1\n');
    expect(jail({ fail2ban_ignore_controller: false }, '198.51.100.7')).toContain('ignoreip = 127.0.0.1/8 ::1\n');
    expect(expand(fail2ban).find((t) => t.module === 'apt')!.args.name).toContain('python3-systemd');
  });

  it('fail2ban: the jail is in place before the package, whose install starts the daemon (Debian 13); validated once fail2ban is there', () => {
    const tasks = expand(fail2ban);
    expect(tasks.map((t) => t.module)).toEqual(['file', 'fail2ban_jail', 'apt', 'service']);
    expect(tasks[0].args).toMatchObject({ path: '/etc/fail2ban/jail.d', state: 'directory' });
    const jail = tasks[1];
    const access = { port: 22, user: 'deploy', client: '198.51.100.7' };
    const write = (packages: unknown) => {
      const plan = planFor('fail2ban_jail', jail.args, { file: { exists: false }, packages }, {}, false, access);
      return { plan, step: plan.steps.find((s) => s.kind === 'write') as { content: string; validate?: string } };
    };
    // no fail2ban yet (a fresh host, or removed with its configuration left, dpkg state rc): no fail2ban-client to ask
    for (const packages of [{ available: true, entries: [] }, { available: true, entries: [{ name: 'fail2ban', arch: 'all', state: 'config-files', version: '' }] }]) {
      const { plan, step } = write(packages);
      expect(step.validate).toBeUndefined();
      expect(step.content).toMatch(/^ignoreip = .* 198\.51\.100\.7$/m);
      expect(plan.reason).toMatch(/^create \/etc\/fail2ban\/jail\.d\/shipshape\.local .*before fail2ban is installed/);
    }
    // installed: fail2ban-client checks a copy of its configuration with the new file in it
    const { plan, step } = write(F2B_INSTALLED);
    expect(step.validate).toMatch(/fail2ban-client -c "\$d" -t/);
    expect(plan.reason).toBe('create /etc/fail2ban/jail.d/shipshape.local');
  });

  it('sysctl_hardening: never turns forwarding off (Docker needs it) and lets a key be dropped or changed', () => {
    expect(Object.keys(SYSCTL_DEFAULTS).filter((k) => /forwarding|ip_forward|modules_disabled/.test(k))).toEqual([]);
    const tasks = expand(sysctlHardening, { sysctl_overrides: { 'kernel.sysrq': null, 'net.ipv4.conf.all.rp_filter': 2 } });
    expect(tasks.find((t) => t.args.name === 'kernel.sysrq')).toBeUndefined();
    expect(tasks.find((t) => t.args.name === 'net.ipv4.conf.all.rp_filter')!.args.value).toBe('2');
  });

  it('sysctl_hardening: every key is skipped with the reason in a container, planned on a VM', () => {
    const [first] = expand(sysctlHardening);
    const facts = { file: { exists: false }, runtime: '0' };
    const c = planFor('sysctl', first.args, facts, { container: 'systemd-nspawn' });
    expect(c.skip).toMatch(/read-only in a systemd-nspawn container/);
    expect(planFor('sysctl', first.args, facts).steps.length).toBeGreaterThan(0);
  });

  it('sysctl_hardening: a sysctl.d file applied after ours at boot is drift, fixed in that file; a package file is overridden from /etc', () => {
    const tasks = expand(sysctlHardening);
    const order = tasks.find((t) => t.module === 'sysctl_order')!;
    expect(order.args).toMatchObject({ file: SYSCTL_FILE, settings: { 'kernel.sysrq': '0', 'fs.protected_fifos': '2' } });
    const ours = { path: SYSCTL_FILE, content: 'kernel.sysrq=0\nfs.protected_fifos=2\n' };
    // Debian 12 ships /usr/lib/sysctl.d/99-protect-links.conf (fs.protected_fifos = 1), applied after 90-...: it would win at boot
    const vendor = { path: '/usr/lib/sysctl.d/99-protect-links.conf', content: 'fs.protected_fifos = 1\nfs.protected_hardlinks = 1\n' };
    const zz = { path: '/etc/sysctl.d/99-zz.conf', content: '# debugging\nkernel/sysrq = 1\n' };
    const before = { path: '/etc/sysctl.d/10-early.conf', content: 'kernel.sysrq = 1\n' };
    const p = planFor('sysctl_order', order.args, { files: [before, ours, vendor, { ...vendor, path: '/lib/sysctl.d/99-protect-links.conf' }, zz] });
    expect(p.drift!.map((d) => d.where)).toEqual(['/usr/lib/sysctl.d/99-protect-links.conf:1', '/etc/sysctl.d/99-zz.conf:2']);
    expect(p.steps).toEqual([
      { kind: 'write', path: '/etc/sysctl.d/99-protect-links.conf', content: expect.stringMatching(/^# \/usr\/lib\/sysctl.d\/99-protect-links.conf as shipped.*\n# disabled by shipshape .*: fs.protected_fifos = 1\nfs.protected_hardlinks = 1\n$/), mode: '0644', owner: 'root', group: 'root' },
      { kind: 'write', path: '/etc/sysctl.d/99-zz.conf', content: '# debugging\n# disabled by shipshape (it overrode a hardened setting at boot): kernel/sysrq = 1\n' },
    ]);
    // once /etc holds the file of that name, the package's copy no longer counts
    const fixed = { path: '/etc/sysctl.d/99-protect-links.conf', content: '# disabled by shipshape: fs.protected_fifos = 1\nfs.protected_hardlinks = 1\n' };
    expect(planFor('sysctl_order', order.args, { files: [ours, vendor, fixed] }).steps).toEqual([]);
    // the same value after ours is no override
    expect(planFor('sysctl_order', order.args, { files: [ours, { path: '/etc/sysctl.d/99-zz.conf', content: 'kernel.sysrq=0\n' }] }).steps).toEqual([]);
  });

  it('os_hardening: no password expiry or umask change (they lock out key-only users, break deploys)', () => {
    const tasks = expand(osHardening);
    const text = JSON.stringify(tasks);
    expect(text).not.toMatch(/PASS_MAX_DAYS|UMASK|TMOUT/);
    expect(tasks.find((t) => t.args.dest === '/etc/security/limits.d/90-shipshape-coredump.conf')!.args.content).toContain('* hard core 0');
    expect(expand(osHardening, { os_disable_core_dumps: false }).some((t) => /core/.test(t.name))).toBe(false);
  });
});

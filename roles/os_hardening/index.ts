import { z } from 'zod';
import { defineRole, type RoleTask } from '../../src/playbook/role.js';

const vars = z.object({
  /** shown before console and telnet-style logins (/etc/issue, /etc/issue.net); not an SSH banner */
  os_login_banner: z
    .string()
    .default(
      'Authorized access only. This system is private; activity on it is logged and monitored, and may be used as evidence.\nDisconnect now if you do not agree to these terms.',
    ),
  /** kernel modules nobody needs on a server: USB and FireWire storage, rarely used network protocols */
  os_disabled_modules: z.array(z.string().regex(/^[a-z0-9_-]+$/)).default(['usb-storage', 'firewire-core', 'firewire-ohci', 'dccp', 'sctp', 'rds', 'tipc']),
  /** core dumps can hold secrets (keys, session tokens) of the crashed process */
  os_disable_core_dumps: z.boolean().default(true),
});

type Vars = z.infer<typeof vars>;

const header = (what: string) => `# managed by shipshape (os_hardening role): ${what}`;

/**
 * Cheap, operator-friendly measures from Lynis' and CIS' lists. Deliberately NOT here: a login.defs
 * PASS_MAX_DAYS (an expired password locks key-only accounts out: sshd's PAM account check refuses
 * them), UMASK 027 (files the deploy user writes become unreadable to web servers and containers),
 * TMOUT (kills tmux-less long jobs), auditd and process accounting (not available in containers, noisy),
 * compilers (none installed, and nothing here pulls one in), apt-listbugs (interactive), malware scanners (alerts nobody reads).
 */
export function hardeningTasks(v: Vars): RoleTask[] {
  const tasks: RoleTask[] = [
    {
      // pwquality: strength checks for the passwords that exist (sudo with a password);
      // tmpdir: a private $TMPDIR per user; debsums: verify installed files against the packages.
      // Not needrestart: it depends on binutils, and an assembler and linker have no place here
      name: 'hardening packages',
      module: 'apt',
      args: { name: ['libpam-pwquality', 'libpam-tmpdir', 'debsums'], cache_valid_time: 3600 },
    },
    // only chpasswd/newusers read these; PAM's own hashing (yescrypt on Debian 12) is unaffected
    ...(['SHA_CRYPT_MIN_ROUNDS', 'SHA_CRYPT_MAX_ROUNDS'] as const).map((key): RoleTask => ({
      name: `login.defs ${key}`,
      module: 'lineinfile',
      args: { path: '/etc/login.defs', regexp: `^#?\\s*${key}\\b`, line: `${key} 65536` },
    })),
    ...['/etc/issue', '/etc/issue.net'].map((dest): RoleTask => ({
      name: `login banner ${dest}`,
      module: 'copy',
      args: { dest, mode: '0644', owner: 'root', group: 'root', content: `${v.os_login_banner.trimEnd()}\n` },
    })),
    // kmod creates it; minimal images and containers may lack both
    { name: 'modprobe.d directory', module: 'file', args: { path: '/etc/modprobe.d', state: 'directory', mode: '0755' } },
    {
      name: 'unused kernel modules disabled',
      module: 'copy',
      args: {
        dest: '/etc/modprobe.d/shipshape-hardening.conf',
        mode: '0644',
        content: [header('modules that cannot be loaded'), ...v.os_disabled_modules.map((m) => `install ${m} /bin/false`), ''].join('\n'),
      },
    },
  ];
  if (v.os_disable_core_dumps) {
    tasks.push(
      {
        name: 'no core dumps for login sessions',
        module: 'copy',
        args: { dest: '/etc/security/limits.d/90-shipshape-coredump.conf', mode: '0644', content: `${header('no core dumps')}\n* hard core 0\n* soft core 0\n` },
      },
      {
        // shells started without pam_limits (su without a login, some cron setups)
        name: 'no core dumps for shells',
        module: 'copy',
        args: { dest: '/etc/profile.d/shipshape-coredump.sh', mode: '0644', content: `${header('no core dumps')}\nulimit -c 0\n` },
      },
      { name: 'systemd-coredump drop-in directory', module: 'file', args: { path: '/etc/systemd/coredump.conf.d', state: 'directory', mode: '0755' } },
      {
        // only matters once systemd-coredump is installed; then it neither keeps nor processes dumps
        name: 'no core dumps kept by systemd-coredump',
        module: 'copy',
        args: { dest: '/etc/systemd/coredump.conf.d/90-shipshape.conf', mode: '0644', content: `${header('no core dumps')}\n[Coredump]\nStorage=none\nProcessSizeMax=0\n` },
      },
    );
  }
  return tasks;
}

export default defineRole({
  name: 'os_hardening',
  summary: 'Login banners, no core dumps, unused kernel modules off, password hashing and strength, package integrity tools',
  vars,
  tasks: hardeningTasks,
});

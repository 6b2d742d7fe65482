import { z } from 'zod';
import { isCidr } from '../../src/modules/ufw.js';
import { defineRole } from '../../src/playbook/role.js';

// fail2ban's own time syntax: 600, 10m, 1h, 1d, 1w
const duration = z.union([z.number().int().positive(), z.string().regex(/^\d+[smhdw]?$/, 'a duration like "10m", "1h" or 600 (seconds)')]);

const vars = z.object({
  ssh_port: z.number().int().min(1).max(65535).default(22),
  /** failures within fail2ban_findtime before an address is banned */
  fail2ban_maxretry: z.number().int().min(1).default(5),
  fail2ban_findtime: duration.default('10m'),
  fail2ban_bantime: duration.default('1h'),
  /** addresses never banned (your office, a monitoring host); localhost always is */
  fail2ban_ignoreip: z.array(z.string().refine(isCidr, 'an address or a network in CIDR form')).default([]),
});

type Vars = z.infer<typeof vars>;

export const JAIL = '/etc/fail2ban/jail.d/shipshape.local';

/**
 * Only the sshd jail, reading the journal: Debian 12 has no /var/log/auth.log without rsyslog, and
 * its packaged default (the file backend) makes fail2ban fail to start. Bans go through fail2ban's own
 * iptables chain, not ufw rules, so the firewall role never sees them as undeclared rules.
 */
export function jailFile(v: Vars): string {
  return [
    '# managed by shipshape (fail2ban role)',
    '[DEFAULT]',
    `ignoreip = ${['127.0.0.1/8', '::1', ...v.fail2ban_ignoreip].join(' ')}`,
    `bantime = ${v.fail2ban_bantime}`,
    `findtime = ${v.fail2ban_findtime}`,
    `maxretry = ${v.fail2ban_maxretry}`,
    '',
    '[sshd]',
    'enabled = true',
    'backend = systemd',
    `port = ${v.ssh_port}`,
    '',
  ].join('\n');
}

// fail2ban-client -t checks a whole configuration directory: check a copy with the new file in place
const VALIDATE = `sh -c 'd=$(mktemp -d) && cp -a /etc/fail2ban/. "$d" && cp "$1" "$d/jail.d/shipshape.local" && fail2ban-client -c "$d" -t >/dev/null; r=$?; rm -rf "$d"; exit $r' fail2ban-validate %s`;

export default defineRole({
  name: 'fail2ban',
  summary: 'fail2ban bans addresses that keep failing SSH logins (journal backend, the SSH port of this site)',
  vars,
  tasks: (v) => [
    // python3-systemd is what the journal backend imports; without it fail2ban cannot start
    { name: 'fail2ban installed', module: 'apt', args: { name: ['fail2ban', 'python3-systemd'], cache_valid_time: 3600 } },
    {
      name: 'sshd jail',
      module: 'copy',
      args: { dest: JAIL, mode: '0644', owner: 'root', group: 'root', content: jailFile(v), validate: VALIDATE },
      notify: ['restart fail2ban'],
    },
    { name: 'fail2ban running', module: 'service', args: { name: 'fail2ban', state: 'started', enabled: true, masked: false } },
  ],
  // a restart, not a reload: the package's first start failed (no auth.log) and a failed unit cannot reload
  handlers: () => [{ name: 'restart fail2ban', module: 'service', args: { name: 'fail2ban', state: 'restarted' } }],
});

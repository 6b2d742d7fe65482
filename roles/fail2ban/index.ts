import { z } from 'zod';
import { isCidr } from '../../src/modules/ufw.js';
import { defineRole } from '../../src/playbook/role.js';
import fail2banJail, { duration } from './fail2ban_jail.js';

const vars = z.object({
  ssh_port: z.number().int().min(1).max(65535).default(22),
  /** failures within fail2ban_findtime before an address is banned */
  fail2ban_maxretry: z.number().int().min(1).default(5),
  fail2ban_findtime: duration.default('10m'),
  fail2ban_bantime: duration.default('1h'),
  /** addresses never banned (your office, a monitoring host); localhost always is */
  fail2ban_ignoreip: z.array(z.string().refine(isCidr, 'an address or a network in CIDR form')).default([]),
  /** also never ban the address the run comes from (the controller as the host sees it) */
  fail2ban_ignore_controller: z.boolean().default(true),
});

type Vars = z.infer<typeof vars>;

export const JAIL = '/etc/fail2ban/jail.d/shipshape.local';

// fail2ban-client -t checks a whole configuration directory: check a copy with the new file in place
const VALIDATE = `sh -c 'd=$(mktemp -d) && cp -a /etc/fail2ban/. "$d" && cp "$1" "$d/jail.d/shipshape.local" && fail2ban-client -c "$d" -t >/dev/null; r=$?; rm -rf "$d"; exit $r' fail2ban-validate %s`;

/** the role's own module: its tasks use it, playbooks cannot */
const own = { fail2ban_jail: fail2banJail };

export default defineRole<Vars, typeof own>({
  name: 'fail2ban',
  summary: 'fail2ban bans addresses that keep failing SSH logins (journal backend, the SSH port of this site)',
  vars,
  modules: own,
  tasks: (v) => [
    // The jail comes first, the package after it: Debian 13's fail2ban starts at install with its packaged
    // sshd jail and reads the journal back over findtime, where this run's own earlier failed logins are (an
    // "Invalid user" while the deploy account does not exist yet, each wrong key an agent offers). With this
    // file already in place that first start has the controller in ignoreip. Nothing global is held back
    // meanwhile (no policy-rc.d, no mask), so a run that dies between the two leaves no service unable to start.
    { name: 'fail2ban jail directory', module: 'file', args: { path: '/etc/fail2ban/jail.d', state: 'directory', mode: '0755', owner: 'root', group: 'root' } },
    {
      name: 'sshd jail',
      module: 'fail2ban_jail',
      args: {
        dest: JAIL,
        ssh_port: v.ssh_port,
        maxretry: v.fail2ban_maxretry,
        findtime: v.fail2ban_findtime,
        bantime: v.fail2ban_bantime,
        ignoreip: v.fail2ban_ignoreip,
        ignore_controller: v.fail2ban_ignore_controller,
        validate: VALIDATE,
      },
    },
    // python3-systemd is what the journal backend imports; without it fail2ban cannot start
    { name: 'fail2ban installed', module: 'apt', args: { name: ['fail2ban', 'python3-systemd'], cache_valid_time: 3600 } },
    {
      // Not a handler: a jail changed on a host where fail2ban already runs needs a restart, and a restart
      // notified by a run that then died would be lost, the file being in place. An outcome instead,
      // judged read-only (so check predicts it): running, and started after the jail last changed. A
      // restart, not a reload: a failed unit cannot reload.
      name: 'fail2ban running',
      module: 'service',
      args: { name: 'fail2ban', state: 'started', enabled: true, masked: false, restart_after: [JAIL] },
    },
  ],
});

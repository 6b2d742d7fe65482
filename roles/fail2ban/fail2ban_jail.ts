import { z } from 'zod';
import { defineModule } from '../../src/core/module.js';
import { planFile } from '../../src/modules/copy.js';
import { dpkgPackages, packageStatus } from '../../src/facts/apt.js';
import { fileContent } from '../../src/facts/file.js';

// fail2ban's own time syntax: 600, 10m, 1h, 1d, 1w
export const duration = z.union([z.number().int().positive(), z.string().regex(/^\d+[smhdw]?$/, 'a duration like "10m", "1h" or 600 (seconds)')]);

const schema = z
  .object({
    dest: z.string().startsWith('/'),
    ssh_port: z.number().int().min(1).max(65535),
    maxretry: z.number().int().min(1),
    findtime: duration,
    bantime: duration,
    ignoreip: z.array(z.string()),
    /** also never ban the address this run comes from (as the host sees it) */
    ignore_controller: z.boolean(),
    /** checks the new file (%s) with fail2ban itself; only possible once the fail2ban package is installed */
    validate: z.string().includes('%s'),
  })
  .strict();

export type JailArgs = z.infer<typeof schema>;

/**
 * Only the sshd jail, reading the journal: Debian 12 has no /var/log/auth.log without rsyslog, and
 * its packaged default (the file backend) makes fail2ban fail to start. Bans go through fail2ban's own
 * iptables chain, not ufw rules, so the firewall role never sees them as undeclared rules.
 */
export function jailFile(a: Omit<JailArgs, 'dest' | 'validate' | 'ignore_controller'>, controller?: string): string {
  const ignore = [...new Set(['127.0.0.1/8', '::1', ...a.ignoreip, ...(controller ? [controller] : [])])];
  return [
    '# managed by shipshape (fail2ban role)',
    '[DEFAULT]',
    `ignoreip = ${ignore.join(' ')}`,
    `bantime = ${a.bantime}`,
    `findtime = ${a.findtime}`,
    `maxretry = ${a.maxretry}`,
    '',
    '[sshd]',
    'enabled = true',
    'backend = systemd',
    `port = ${a.ssh_port}`,
    '',
  ].join('\n');
}

/**
 * The jail file, with the controller's own address in `ignoreip`: it is known only once connected
 * (the host's $SSH_CONNECTION, i.e. the address the host sees, behind NAT or a bastion too), so the
 * file is rendered in the plan rather than by the role. A run that trips the jail (a key refused
 * during a bootstrap, a wrong sudo password) then cannot lock its own controller out.
 *
 * The role writes it BEFORE installing fail2ban: Debian 13's package starts its daemon at install, and
 * that daemon reads the journal back over findtime, so it must find this ignoreip already in place.
 * Validating means asking fail2ban whether it accepts its configuration with the new file in it; with
 * no fail2ban installed there is no configuration and no reader to ask (and nothing reads the file
 * until the package's first start, which is then the check: a refused file fails that start, and the
 * role's "fail2ban running" task reports it). So the write is validated exactly when fail2ban is there.
 */
export default defineModule({
  name: 'fail2ban_jail',
  summary: "fail2ban's sshd jail, never banning the controller that runs shipshape",
  schema,
  // fail2ban's package state rides in the play's one dpkg-query (the role's apt task asks it too)
  facts: (a: JailArgs) => ({ file: fileContent(a.dest), packages: dpkgPackages(['fail2ban']) }),
  plan(a: JailArgs, { file, packages }, ctx) {
    const controller = a.ignore_controller ? ctx.access.client : undefined;
    const installed = packageStatus(packages, { name: 'fail2ban' }).installed;
    const wanted = { dest: a.dest, content: jailFile(a, controller), mode: '0644', owner: 'root', group: 'root', backup: false, force: true };
    const plan = planFile(installed ? { ...wanted, validate: a.validate } : wanted, file);
    if (installed || !plan.steps.some((s) => s.kind === 'write')) return plan;
    return { ...plan, reason: `${plan.reason} (before fail2ban is installed: its first start reads it; no fail2ban yet to validate it with)` };
  },
});

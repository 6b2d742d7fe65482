/**
 * Which roles the answers call for, in the one order that never locks the operator out: the
 * deploy user (with the operator's key) exists before SSH stops root logins, SSH is settled before
 * the firewall closes ports, the firewall is up before Docker publishes ports (so they obey it),
 * and Caddy comes last, once 80/443 are open. Backups, when chosen, run after what they back up.
 */
import type { Answers } from './answers.js';

export const SAFE_ORDER = [
  'deploy_user',
  'ssh',
  'firewall',
  'unattended_upgrades',
  'fail2ban',
  'sysctl_hardening',
  'os_hardening',
  'docker',
  'caddy',
  'backup',
] as const;

/** Hardening is always there; the rest as chosen. */
export function siteRoles(a: Pick<Answers, 'docker' | 'caddy_sites' | 'backup'>): string[] {
  const chosen = new Set<string>(SAFE_ORDER.slice(0, 7));
  if (a.docker) chosen.add('docker');
  if (a.caddy_sites.length) chosen.add('caddy');
  if (a.backup) chosen.add('backup');
  return SAFE_ORDER.filter((r) => chosen.has(r));
}

/** One line per capability, as the wizard explains it. */
export const CAPABILITIES = {
  hardening:
    'Hardening (always): a deploy user with your keys and sudo, SSH keys-only without root, a firewall, fail2ban, unattended security updates, kernel and OS hardening',
  docker: 'Docker Engine, with published container ports obeying the firewall',
  caddy: 'Caddy: HTTPS sites with automatic certificates, proxying to your app or serving a directory',
  backup: 'Backups of your data with the backup role',
  reboot: 'Unattended reboots: restart by itself at night when a security update needs it',
} as const;

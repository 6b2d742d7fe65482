/**
 * The wizard's answers: one key per question, named like the inventory variable it becomes, so an
 * answers file reads like the inventory it produces. Role variables (deploy_*, docker_*, caddy_*,
 * ssh_allow_from, firewall_allow, unattended_*) are validated by the roles' own schemas, the same
 * ones a run uses; only the keys that are about reaching the server are defined here.
 */
import { z } from 'zod';

/** an address or DNS name; no user@, no port, no scheme */
const HOST = /^(?:\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;
const ACCOUNT = /^[a-z_][a-z0-9_-]*$/;

export const connectionAnswers = z
  .object({
    /** the host's name in the inventory (what -l and messages use) */
    name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a host name for the inventory, e.g. "web1"').optional(),
    host: z.string().regex(HOST, 'an IP address or DNS name, e.g. "203.0.113.10" (no user@, port or scheme)'),
    port: z.number().int().min(1).max(65535).default(22),
    /** the login a fresh VPS gives: root, or an existing sudo user */
    bootstrap_user: z.string().regex(ACCOUNT, 'a user name, e.g. "root" or "ubuntu"').default('root'),
    identity_file: z.string().min(1).optional(),
    /** non-interactive trust of a host key never seen before: the fingerprint you verified */
    host_key_fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'a SHA256 fingerprint as `ssh-keygen -lf` prints it, e.g. "SHA256:AbC...xyz"').optional(),
    /** sudo password of bootstrap_user when it is not root and has no NOPASSWD: a secret */
    become_password: z.string().min(1).optional(),
    /** Ansible habit: `user` is the login from now on, which is the deploy user */
    user: z.string().optional(),
    docker: z.boolean().default(false),
    backup: z.boolean().default(false),
  })
  .passthrough();

export type ConnectionAnswers = z.infer<typeof connectionAnswers>;

/** Role variables the wizard asks about (and so accepts in an answers file), by role. */
export const ROLE_KEYS: Record<string, readonly string[]> = {
  deploy_user: ['deploy_user', 'deploy_authorized_keys'],
  firewall: ['ssh_allow_from', 'firewall_allow'],
  fail2ban: ['fail2ban_ignoreip'],
  unattended_upgrades: ['unattended_reboot', 'unattended_reboot_time'],
  docker: ['docker_source'],
  caddy: ['caddy_sites', 'caddy_email', 'caddy_source', 'caddy_acme_ca', 'caddy_acme_ca_root'],
  backup: ['backup_paths', 'backup_restic_repository', 'backup_restic_password'],
};

/** Every key an answers file may hold. */
export const ANSWER_KEYS: readonly string[] = [...Object.keys(connectionAnswers.shape), ...new Set(Object.values(ROLE_KEYS).flat())];

/** Keys whose values are secrets: never written to files meant for git, never printed. */
export const SECRET_ANSWERS: readonly string[] = ['become_password', 'backup_restic_password'];

/** The answers a run needs and has no default for, with an example for the error message. */
export const REQUIRED: Record<string, string> = {
  host: 'host: 203.0.113.10',
  deploy_authorized_keys: 'deploy_authorized_keys: ["ssh-ed25519 AAAAC3Nza... you@laptop"]',
};

/** One example line per key, for "missing or invalid" messages. */
export const EXAMPLES: Record<string, string> = {
  ...REQUIRED,
  name: 'name: web1',
  port: 'port: 22',
  bootstrap_user: 'bootstrap_user: root',
  identity_file: 'identity_file: ~/.ssh/id_ed25519',
  host_key_fingerprint: 'host_key_fingerprint: SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
  become_password: 'become_password: "..."   # better: set SHIPSHAPE_BECOME_PASSWORD in the environment',
  user: 'deploy_user: deploy   # `user` is the login from now on: the deploy user',
  docker: 'docker: true',
  backup: 'backup: true',
  backup_paths: 'backup_paths: [/srv/app/data]',
  backup_restic_repository: 'backup_restic_repository: sftp:backup@203.0.113.50:/srv/restic/web1',
  backup_restic_password: 'backup_restic_password: "..."   # better: set SHIPSHAPE_BACKUP_RESTIC_PASSWORD in the environment',
  deploy_user: 'deploy_user: deploy',
  ssh_allow_from: 'ssh_allow_from: [198.51.100.0/24]',
  firewall_allow: 'firewall_allow: ["80/tcp", "443/tcp"]',
  fail2ban_ignoreip: 'fail2ban_ignoreip: [203.0.113.7]',
  unattended_reboot: 'unattended_reboot: false',
  unattended_reboot_time: 'unattended_reboot_time: "04:00"',
  docker_source: 'docker_source: vendor   # or debian',
  caddy_sites: 'caddy_sites: [{ domain: example.com, upstream: "localhost:3000" }]',
  caddy_email: 'caddy_email: ops@example.com',
  caddy_source: 'caddy_source: vendor   # or debian',
  caddy_acme_ca: 'caddy_acme_ca: https://acme-staging-v02.api.letsencrypt.org/directory',
  caddy_acme_ca_root: 'caddy_acme_ca_root: /path/to/ca-root.pem',
};

/** The complete set of answers after defaults: what the project files are written from. */
export interface Answers {
  name: string;
  host: string;
  port: number;
  bootstrap_user: string;
  identity_file?: string;
  host_key_fingerprint?: string;
  become_password?: string;
  deploy_user: string;
  deploy_authorized_keys: string[];
  docker: boolean;
  docker_source: 'vendor' | 'debian';
  caddy_sites: CaddySite[];
  caddy_email?: string;
  caddy_source: 'vendor' | 'debian';
  caddy_acme_ca?: string;
  caddy_acme_ca_root?: string;
  unattended_reboot: boolean;
  unattended_reboot_time: string;
  ssh_allow_from: string[];
  firewall_allow: string[];
  /** addresses fail2ban never bans; by default the controller's, as the server saw it during init */
  fail2ban_ignoreip?: string[];
  backup: boolean;
  backup_paths: string[];
  backup_restic_repository?: string;
  /** a secret: only in the owner-only secrets file */
  backup_restic_password?: string;
}

export interface CaddySite {
  domain: string;
  upstream?: string;
  root?: string;
}

/** A host name for the inventory from its address: the first label of a DNS name, else web1. */
export function defaultName(host: string): string {
  if (/^[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+$/.test(host)) return host.split('.')[0].toLowerCase();
  return 'web1';
}

/** What the wizard proposes before anything is known (a fresh cloud VPS). */
export function baseAnswers(partial: Partial<Answers> = {}): Answers {
  const sites = partial.caddy_sites ?? [];
  return {
    name: partial.name ?? defaultName(partial.host ?? ''),
    host: partial.host ?? '',
    port: partial.port ?? 22,
    bootstrap_user: partial.bootstrap_user ?? 'root',
    deploy_user: partial.deploy_user ?? 'deploy',
    deploy_authorized_keys: partial.deploy_authorized_keys ?? [],
    docker: partial.docker ?? false,
    docker_source: partial.docker_source ?? 'vendor',
    caddy_sites: sites,
    caddy_source: partial.caddy_source ?? 'vendor',
    unattended_reboot: partial.unattended_reboot ?? false,
    unattended_reboot_time: partial.unattended_reboot_time ?? '04:00',
    ssh_allow_from: partial.ssh_allow_from ?? [],
    firewall_allow: partial.firewall_allow ?? (sites.length ? ['80/tcp', '443/tcp'] : []),
    backup: partial.backup ?? false,
    backup_paths: partial.backup_paths ?? [],
    ...pick(partial, ['identity_file', 'host_key_fingerprint', 'become_password', 'caddy_email', 'caddy_acme_ca', 'caddy_acme_ca_root', 'fail2ban_ignoreip', 'backup_restic_repository', 'backup_restic_password']),
  };
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * The backup role refuses directories to back up without an off-site repository and its password (a backup that
 * stays on the server is not a backup). The wizard asks until both are given, and an answers file without them is
 * refused before any host is contacted: the plan would refuse them only after the files are written.
 */
export function backupAnswersMissing(a: { backup?: boolean; backup_paths?: string[]; backup_restic_repository?: string; backup_restic_password?: string }): string[] {
  if (!a.backup || !a.backup_paths?.length) return [];
  return (['backup_restic_repository', 'backup_restic_password'] as const).filter((k) => !a[k]);
}

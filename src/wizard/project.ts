/**
 * Answers <-> the project folder a person commits. Pure: file texts in, file texts out. The files
 * have the shapes the inventory and playbook loaders read, every answer with a comment saying what
 * it does; secrets go to a separate owner-only file that .gitignore names.
 */
import { Document, isMap, isScalar, parse, visit, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { SECRET_ANSWERS, baseAnswers, type Answers } from './answers.js';
import { dirname, relative } from 'node:path/posix';
import { SCHEMA_DIR, SCHEMA_FILES } from '../schema/files.js';
import { siteRoles } from './roles.js';

export const FILES = {
  hosts: 'inventory/hosts.yml',
  groupVars: 'inventory/group_vars/all.yml',
  secrets: 'inventory/group_vars/all/secrets.yml',
  knownHosts: 'inventory/known_hosts',
  playbook: 'playbooks/site.yml',
  gitignore: '.gitignore',
} as const;

/** A file to write: its text and, for secrets, an owner-only mode. */
export interface ProjectFile {
  path: string;
  text: string;
  mode: number;
}

const COMMENTS: Record<string, string> = {
  user: 'the login every run uses from now on: the deploy user, created by the first run',
  bootstrap_user: 'the login the fresh server gives; used only while `user` cannot log in yet',
  identity_file: 'the private key this controller logs in with (its .pub is one of deploy_authorized_keys)',
  port: 'SSH port',
  deploy_user: 'deploy_user role: the unprivileged login user, with sudo',
  deploy_authorized_keys: 'deploy_user role: the only keys that can log in as the deploy user (root login is turned off)',
  ssh_allow_from: 'firewall and ssh roles: networks allowed to reach SSH ([] = from anywhere)',
  firewall_allow: 'firewall role: ports open to everyone besides SSH; everything else incoming is denied',
  fail2ban_ignoreip: "fail2ban role: addresses never banned; init put this controller's address (as the server saw it) here, so the failed logins of a mistyped answer cannot lock you out",
  unattended_reboot: 'unattended_upgrades role: reboot by itself when an update needs it',
  unattended_reboot_time: 'unattended_upgrades role: when such a reboot may happen (host time)',
  docker_source: "docker role: vendor = Docker's own apt repository, debian = the distribution's docker.io",
  caddy_sites: 'caddy role: one HTTPS site per domain, proxied to an upstream or served from a root directory',
  caddy_email: 'caddy role: the ACME account contact (certificate expiry notices)',
  caddy_source: "caddy role: vendor = Caddy's own apt repository, debian = the distribution's package",
  caddy_acme_ca: 'caddy role: the ACME CA directory (unset = Let\'s Encrypt)',
  caddy_acme_ca_root: 'caddy role: the root certificate that CA\'s directory is served with (a private CA)',
  become_password: 'sudo password of the login user; never printed',
  backup_paths: 'backup role: files and directories backed up every night (besides databases)',
  backup_restic_repository: 'backup role: the off-site restic repository the backups go to',
  backup_restic_password: 'backup role: the password of that repository; without it the backups cannot be read',
};

function commented(obj: Record<string, unknown>, header: string): string {
  const doc = new Document(obj);
  doc.commentBefore = header;
  commentKeys(doc.contents as YAMLMap);
  return render(doc);
}

/**
 * Strings a YAML 1.1 reader (Ansible, and the inventory loader's merge-key mode) would take for
 * something else are quoted: "04:00" is 240 in base 60 there, "yes" a boolean, "0644" octal.
 */
const AMBIGUOUS = /^(?:[-+]?[0-9][0-9_:.]*|y|n|yes|no|on|off|true|false|null|~)$/i;

function render(doc: Document): string {
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && AMBIGUOUS.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 });
}

function commentKeys(map: YAMLMap): void {
  for (const pair of map.items as Pair<Scalar, unknown>[]) {
    const key = String(pair.key.value);
    if (COMMENTS[key]) pair.key.commentBefore = ` ${COMMENTS[key]}`;
    if (isMap(pair.value)) commentKeys(pair.value);
  }
}

/** Role variables in the order the roles run, only for the roles the playbook holds. */
function roleVars(a: Answers): Record<string, unknown> {
  const roles = siteRoles(a);
  const v: Record<string, unknown> = { deploy_user: a.deploy_user, deploy_authorized_keys: a.deploy_authorized_keys };
  v.ssh_allow_from = a.ssh_allow_from;
  v.firewall_allow = a.firewall_allow;
  if (a.fail2ban_ignoreip) v.fail2ban_ignoreip = a.fail2ban_ignoreip;
  v.unattended_reboot = a.unattended_reboot;
  if (a.unattended_reboot) v.unattended_reboot_time = a.unattended_reboot_time;
  if (roles.includes('docker')) v.docker_source = a.docker_source;
  if (roles.includes('caddy')) {
    v.caddy_sites = a.caddy_sites.map((s) => ({ domain: s.domain, ...(s.upstream ? { upstream: s.upstream } : { root: s.root }) }));
    v.caddy_source = a.caddy_source;
    if (a.caddy_email) v.caddy_email = a.caddy_email;
    if (a.caddy_acme_ca) v.caddy_acme_ca = a.caddy_acme_ca;
    if (a.caddy_acme_ca_root) v.caddy_acme_ca_root = a.caddy_acme_ca_root;
  }
  if (roles.includes('backup')) {
    v.backup_paths = a.backup_paths;
    if (a.backup_restic_repository) v.backup_restic_repository = a.backup_restic_repository;
  }
  return v;
}

/** Every file the answers make (known_hosts excepted: it holds what the live check verified). */
export function projectFiles(a: Answers, existingGitignore = ''): ProjectFile[] {
  const head = ' Written by `shipshape init`. Edit freely: a re-run of `shipshape init` here reads it back as the defaults.';
  // editors with the YAML language server complete and check each file against its schema (`shipshape schema`)
  const schema = (file: string, which: keyof typeof SCHEMA_FILES) =>
    ` yaml-language-server: $schema=${relative(dirname(file), `${SCHEMA_DIR}/${SCHEMA_FILES[which]}`)}\n`;
  const vars: Record<string, unknown> = { user: a.deploy_user, bootstrap_user: a.bootstrap_user };
  if (a.identity_file) vars.identity_file = a.identity_file;
  const host: Record<string, unknown> = { host: a.host };
  if (a.port !== 22) host.port = a.port;
  const hosts = commented({ all: { vars, hosts: { [a.name]: host } } }, schema(FILES.hosts, 'inventory') + head);

  const groupVars = commented(
    roleVars(a),
    `${schema(FILES.groupVars, 'vars')}${head}\n Role variables for every host; all of them with their defaults: \`shipshape roles NAME\`.` +
      (secretAnswers(a).length ? `\n Secrets are not here: they are in ${FILES.secrets} (owner-only, named by .gitignore).` : ''),
  );

  const roles = siteRoles(a);
  const playbook = new Document([{ name: 'set up the server', hosts: 'all', become: true, roles }]);
  playbook.commentBefore =
    `${schema(FILES.playbook, 'playbook')}${head}\n The roles run in the order that keeps you in: the deploy user exists before SSH stops root logins,\n` +
    ' SSH is hardened before the firewall closes ports, the firewall is up before Docker publishes ports,\n' +
    ' and Caddy comes last, once 80 and 443 are open.\n' +
    ` Re-run: shipshape apply ${FILES.playbook} -i inventory/    Drift: shipshape check ${FILES.playbook} -i inventory/`;

  const files: ProjectFile[] = [
    { path: FILES.hosts, text: hosts, mode: 0o644 },
    { path: FILES.groupVars, text: groupVars, mode: 0o644 },
    { path: FILES.playbook, text: render(playbook), mode: 0o644 },
    { path: FILES.gitignore, text: gitignore(existingGitignore), mode: 0o644 },
  ];
  const secrets = secretAnswers(a);
  if (secrets.length) {
    files.push({
      path: FILES.secrets,
      text: commented(Object.fromEntries(secrets), ' Secrets of this inventory: readable by its owner only, never committed (.gitignore names this file).'),
      mode: 0o600,
    });
  }
  return files;
}

function secretAnswers(a: Answers): [string, unknown][] {
  return SECRET_ANSWERS.filter((k) => a[k as keyof Answers] !== undefined).map((k) => [k, a[k as keyof Answers]]);
}

/** The project's .gitignore: the user's lines kept, the secrets file added once. */
export function gitignore(existing: string): string {
  const lines = existing.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  const need = ['# secrets written by `shipshape init` (owner-only file)', FILES.secrets];
  if (lines.includes(FILES.secrets)) return existing.endsWith('\n') || existing === '' ? existing : `${existing}\n`;
  return [...lines, ...need].join('\n') + '\n';
}

/** The texts of the project files that exist, by FILES path. */
export type ProjectTexts = Partial<Record<string, string>>;

/**
 * The answers an earlier `init` (or the user's edits) left in the folder, as defaults for this run.
 * Anything unreadable is ignored here: the run's own loaders report it with its position.
 */
export function answersFromProject(t: ProjectTexts): Partial<Answers> {
  const out: Partial<Answers> = {};
  const load = (path: string): Record<string, unknown> => {
    try {
      const v = parse(t[path] ?? '');
      return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
    } catch {
      return {};
    }
  };
  const inv = load(FILES.hosts) as { all?: { vars?: Record<string, unknown>; hosts?: Record<string, Record<string, unknown> | null> } };
  const vars = inv.all?.vars ?? {};
  if (typeof vars.bootstrap_user === 'string') out.bootstrap_user = vars.bootstrap_user;
  if (typeof vars.identity_file === 'string') out.identity_file = vars.identity_file;
  const [name, host] = Object.entries(inv.all?.hosts ?? {})[0] ?? [];
  if (name) {
    out.name = name;
    if (typeof host?.host === 'string') out.host = host.host;
    if (typeof host?.port === 'number') out.port = host.port;
  }
  const gv = { ...load(FILES.groupVars), ...load(FILES.secrets) } as Record<string, unknown>;
  for (const k of ['deploy_user', 'docker_source', 'caddy_source', 'caddy_email', 'caddy_acme_ca', 'caddy_acme_ca_root', 'unattended_reboot_time', 'become_password', 'backup_restic_repository', 'backup_restic_password'] as const) {
    if (typeof gv[k] === 'string') (out as Record<string, unknown>)[k] = gv[k];
  }
  if (typeof gv.unattended_reboot === 'boolean') out.unattended_reboot = gv.unattended_reboot;
  for (const k of ['deploy_authorized_keys', 'ssh_allow_from', 'firewall_allow', 'fail2ban_ignoreip', 'backup_paths'] as const) {
    if (Array.isArray(gv[k])) out[k] = (gv[k] as unknown[]).map(String);
  }
  if (Array.isArray(gv.caddy_sites)) out.caddy_sites = gv.caddy_sites as Answers['caddy_sites'];
  const plays = parseSafe(t[FILES.playbook]);
  const roles = Array.isArray(plays) ? plays.flatMap((p: { roles?: unknown[] }) => (Array.isArray(p?.roles) ? p.roles : [])).map((r: unknown) => (typeof r === 'string' ? r : (r as { role?: string })?.role)) : [];
  if (roles.length) {
    out.docker = roles.includes('docker');
    out.backup = roles.includes('backup');
    if (!roles.includes('caddy')) out.caddy_sites = [];
  }
  return out;
}

function parseSafe(text?: string): unknown {
  try {
    return parse(text ?? '');
  } catch {
    return undefined;
  }
}

/** For tests and the equivalent command: the answers as an answers file (secrets left out). */
export function answersFileText(a: Answers): string {
  const b = baseAnswers(a);
  const out: Record<string, unknown> = { name: b.name, host: b.host, port: b.port, bootstrap_user: b.bootstrap_user };
  if (b.identity_file) out.identity_file = b.identity_file;
  if (b.host_key_fingerprint) out.host_key_fingerprint = b.host_key_fingerprint;
  Object.assign(out, { deploy_user: b.deploy_user, deploy_authorized_keys: b.deploy_authorized_keys, docker: b.docker });
  if (b.docker) out.docker_source = b.docker_source;
  out.caddy_sites = b.caddy_sites;
  if (b.caddy_sites.length) {
    out.caddy_source = b.caddy_source;
    for (const k of ['caddy_email', 'caddy_acme_ca', 'caddy_acme_ca_root'] as const) if (b[k]) out[k] = b[k];
  }
  Object.assign(out, { unattended_reboot: b.unattended_reboot, ssh_allow_from: b.ssh_allow_from, firewall_allow: b.firewall_allow });
  if (b.fail2ban_ignoreip) out.fail2ban_ignoreip = b.fail2ban_ignoreip;
  if (b.backup) {
    out.backup = true;
    out.backup_paths = b.backup_paths;
    if (b.backup_restic_repository) out.backup_restic_repository = b.backup_restic_repository;
  }
  return render(new Document(out));
}

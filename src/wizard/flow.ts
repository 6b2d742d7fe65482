/**
 * The wizard's questions, in the order a first run needs them, each answer checked live as it is
 * given (through live.ts: the transport and probes a run uses). A wrong answer is asked again with
 * the reason; nothing is guessed. Without a terminal the same checks run on the answers file, and a
 * failed check stops the command with the reason instead of asking again.
 */
import { addSecret } from '../core/redact.js';
import type { RoleDef } from '../playbook/role.js';
import { connectionAnswers, defaultName, type Answers, type CaddySite } from './answers.js';
import { checkDeployKeys, checkDomain, connect, type Connected, type HostKeySeen } from './live.js';
import { keyBlob, labelKey, offeredKeys } from './keys.js';
import { CAPABILITIES } from './roles.js';
import type { Ui } from './ui.js';

export interface FlowOptions {
  dir: string;
  /** the answers so far: defaults from an earlier run, or the answers file */
  answers: Answers;
  /** undefined without a terminal: answers are taken as they are, failures stop */
  ui?: Ui;
  roles: Record<string, RoleDef>;
  /** non-interactive trust of an unknown host key (like `apply --accept-new-host-keys`) */
  acceptNewHostKeys: boolean;
  say: (text: string) => void;
}

/** A live check failed without a terminal to ask again: the command stops with this reason. */
export class WizardStop extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'WizardStop';
  }
}

const zodCheck = (schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } }, v: unknown): string | true => {
  const r = schema.safeParse(v);
  return r.success ? true : (r.error?.issues[0]?.message ?? 'invalid');
};

/** A role variable checked by the role's own schema (the other variables left at their defaults). */
function roleCheck(roles: Record<string, RoleDef>, role: string, vars: Record<string, unknown>, base: Record<string, unknown> = {}): string | true {
  const def = roles[role];
  if (!def) return true;
  const r = def.vars.safeParse({ ...base, ...vars });
  if (r.success) return true;
  const issue = r.error.issues.find((i) => Object.keys(vars).includes(String(i.path[0]))) ?? r.error.issues[0];
  return issue ? `${issue.path.join('.')}: ${issue.message}` : true;
}

const list = (s: string) => s.split(/[,\s]+/).map((x) => x.trim()).filter(Boolean);

export async function runFlow(o: FlowOptions): Promise<{ answers: Answers; connected: Connected }> {
  const a: Answers = { ...o.answers, caddy_sites: [...o.answers.caddy_sites] };
  const connected = await serverStep(o, a);
  try {
    await deployStep(o, a, connected);
    await capabilitiesStep(o, a, connected);
  } catch (err) {
    await connected.link.close();
    throw err;
  }
  return { answers: a, connected };
}

// ---- the server: address, login, key; then SSH, host key, sudo, OS, disk, live -----------------

async function serverStep(o: FlowOptions, a: Answers): Promise<Connected> {
  const { ui, say } = o;
  let ask = true;
  for (;;) {
    if (ui && ask) {
      a.host = await ui.input({ message: 'Server address (IP or DNS name):', default: a.host || undefined, validate: (v) => zodCheck(connectionAnswers.shape.host, v.trim()) });
      a.host = a.host.trim();
      if (!a.name || a.host !== o.answers.host) a.name = defaultName(a.host);
      a.port = Number(await ui.input({ message: 'SSH port:', default: String(a.port), validate: (v) => zodCheck(connectionAnswers.shape.port, Number(v)) }));
      a.bootstrap_user = await ui.input({
        message: 'Login the server gives you now (a fresh VPS: root; or an existing sudo user):',
        default: a.bootstrap_user,
        validate: (v) => zodCheck(connectionAnswers.shape.bootstrap_user, v.trim()),
      });
      const identity = await ui.input({
        message: 'Private key to log in with (empty: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa):',
        default: a.identity_file ?? '',
      });
      if (identity.trim()) a.identity_file = identity.trim();
      else delete a.identity_file;
      a.deploy_user = await ui.input({
        message: 'Name of the deploy user every later run logs in as (created by the first run):',
        default: a.deploy_user,
        validate: (v) => roleCheck(o.roles, 'deploy_user', { deploy_user: v.trim(), deploy_authorized_keys: ['ssh-ed25519 AAAA'] }),
      });
    }
    say(`Connecting to ${a.bootstrap_user === a.deploy_user ? a.deploy_user : `${a.deploy_user} (else ${a.bootstrap_user})`}@${a.host}:${a.port} ...`);
    const r = await connect(a, o.dir, (k) => trustHostKey(o, a, k));
    if (!r.ok) {
      const pin = r.kind === 'hostkey' && /did not trust/.test(r.reason) ? ': verify it, then pin it in the answers (host_key_fingerprint) or pass --accept-new-host-keys' : '';
      if (!ui) throw new WizardStop(`cannot use ${a.host}:${a.port}: ${r.reason.replace(/^you did not trust/, 'nobody trusted')}${pin}`, r.kind === 'network' || r.kind === 'hostkey' || r.kind === 'auth' ? 4 : 1);
      say(`✗ ${r.reason}`);
      ask = true;
      if (r.kind === 'sudo' && a.bootstrap_user !== 'root') {
        // an existing sudo user without NOPASSWD: its password makes sudo work (kept owner-only, never printed)
        const pw = await ui.password({ message: `sudo password of ${a.bootstrap_user} (empty: answer the questions again):` });
        if (pw) {
          a.become_password = pw;
          addSecret(pw);
          ask = false;
          continue;
        }
      }
      say('  Please answer again.');
      continue;
    }
    say(`✓ logged in as ${r.loggedInAs}; ${r.info.osId} ${r.info.osVersion} (${r.info.arch}${r.info.container !== 'none' ? `, container: ${r.info.container}` : ''}); ${r.diskFreeMb} MB free on /; sudo -n works`);
    for (const n of r.notes) say(`  ${n}`);
    // a run logs in as the deploy user first (refused until it exists), and every mistyped answer is
    // a failed login too: fail2ban, started half-way through the first run, would ban this controller
    if (a.fail2ban_ignoreip === undefined && r.info.client) {
      a.fail2ban_ignoreip = [r.info.client];
      say(`  fail2ban will never ban ${r.info.client} (this controller, as the server sees it): fail2ban_ignoreip`);
    }
    if (r.warnings.length) {
      for (const w of r.warnings) say(`! ${w}`);
      const goOn = ui ? await ui.confirm({ message: 'Continue with this server anyway?', default: false }) : false;
      if (!goOn) {
        await r.link.close();
        if (!ui) throw new WizardStop(`refused: ${r.warnings.join('; ')}`, 1);
        continue;
      }
    }
    return r;
  }
}

async function trustHostKey(o: FlowOptions, a: Answers, k: HostKeySeen): Promise<boolean> {
  o.say(`The server's host key is not known yet: ${k.type} ${k.fingerprint} (${k.where}).`);
  if (!o.ui) {
    if (a.host_key_fingerprint) {
      if (a.host_key_fingerprint !== k.fingerprint) o.say(`✗ it is not the host_key_fingerprint of the answers (${a.host_key_fingerprint}): refused`);
      return a.host_key_fingerprint === k.fingerprint;
    }
    return o.acceptNewHostKeys;
  }
  o.say(`  Compare it with the server's own (e.g. in your provider's console: ssh-keygen -lf /etc/ssh/ssh_host_${k.type.replace(/^ssh-|-sha2-.*$/g, '').replace(/^ecdsa$/, 'ecdsa')}_key.pub).`);
  return o.ui.confirm({ message: `Trust ${k.fingerprint} and record it in inventory/known_hosts?`, default: false });
}

// ---- the deploy user's keys --------------------------------------------------------------------

async function deployStep(o: FlowOptions, a: Answers, c: Connected): Promise<void> {
  const { ui, say } = o;
  for (;;) {
    if (ui) {
      const offered = await offeredKeys(c.spec.identityFile);
      const current = a.deploy_authorized_keys;
      const choices = [
        ...current.filter((l) => !offered.some((k) => keyBlob(k.line) === keyBlob(l))).map((l) => ({ line: l, label: labelKey(l, 'earlier answer') })),
        ...offered,
      ];
      const preferred = current.length ? current.map(keyBlob) : [keyBlob(choices[0]?.line ?? '')];
      let chosen: string[] = [];
      if (choices.length) {
        chosen = await ui.checkbox({
          message: `Public keys that may log in as ${a.deploy_user} (space toggles, enter confirms):`,
          choices: choices.map((k, i) => ({ value: String(i), name: k.label, checked: preferred.includes(keyBlob(k.line)) })),
        }).then((ix) => ix.map((i) => choices[Number(i)].line));
      }
      const extra = await ui.input({
        message: 'Another public key to add (paste the whole line; empty: none):',
        default: '',
        validate: (v) => (!v.trim() || keyBlob(v) ? true : 'a public key line, e.g. "ssh-ed25519 AAAA... you@laptop"'),
      });
      if (extra.trim()) chosen.push(extra.trim());
      a.deploy_authorized_keys = chosen;
    }
    const valid = roleCheck(o.roles, 'deploy_user', { deploy_user: a.deploy_user, deploy_authorized_keys: a.deploy_authorized_keys });
    const r = valid === true ? await checkDeployKeys(c.spec, a.deploy_user, a.deploy_authorized_keys) : { ok: false as const, reason: valid };
    if (r.ok) {
      if (r.note) say(`  ${r.note}`);
      say(`✓ ${a.deploy_authorized_keys.length} key(s) for ${a.deploy_user}, including one this controller logs in with`);
      return;
    }
    if (!ui) throw new WizardStop(`deploy_authorized_keys: ${r.reason}`, 1);
    say(`✗ ${r.reason}\n  Please choose again.`);
  }
}

// ---- what to set up ----------------------------------------------------------------------------

async function capabilitiesStep(o: FlowOptions, a: Answers, c: Connected): Promise<void> {
  const { ui, say } = o;
  say(`\n${CAPABILITIES.hardening}.`);
  if (ui) {
    a.docker = await ui.confirm({ message: `${CAPABILITIES.docker}. Set up Docker?`, default: a.docker });
    if (a.docker) {
      a.docker_source = await ui.select({
        message: 'Install Docker from:',
        choices: [
          { value: 'vendor' as const, name: "Docker's own repository (current Docker Engine)" },
          { value: 'debian' as const, name: "the distribution's docker.io package" },
        ],
        default: a.docker_source,
      });
    }
  }
  await sitesStep(o, a, c);
  if (ui && o.roles.backup) {
    a.backup = await ui.confirm({ message: `${CAPABILITIES.backup}. Set up backups?`, default: a.backup });
    if (a.backup) await backupStep(o, a);
  }
  if (ui) {
    a.unattended_reboot = await ui.confirm({ message: `${CAPABILITIES.reboot}?`, default: a.unattended_reboot });
    if (a.unattended_reboot) {
      a.unattended_reboot_time = await ui.input({
        message: 'Reboot time (HH:MM, server time):',
        default: a.unattended_reboot_time,
        validate: (v) => roleCheck(o.roles, 'unattended_upgrades', { unattended_reboot_time: v.trim() }),
      });
    }
    const from = await ui.input({
      message: 'Networks allowed to reach SSH (addresses or CIDRs, comma-separated; empty: anywhere):',
      default: a.ssh_allow_from.join(', '),
      validate: (v) => roleCheck(o.roles, 'firewall', { ssh_allow_from: list(v) }),
    });
    a.ssh_allow_from = list(from);
    const ports = await ui.input({
      message: 'Ports open to everyone besides SSH (e.g. 80/tcp, 443/tcp; empty: none):',
      default: (a.firewall_allow.length || !a.caddy_sites.length ? a.firewall_allow : ['80/tcp', '443/tcp']).join(', '),
      validate: (v) => roleCheck(o.roles, 'firewall', { firewall_allow: list(v) }),
    });
    a.firewall_allow = list(ports);
  }
  if (a.caddy_sites.length && !['80/tcp', '443/tcp'].every((p) => a.firewall_allow.includes(p))) {
    say('! Caddy needs 80/tcp and 443/tcp open to get certificates: they were added to the open ports');
    a.firewall_allow = [...new Set([...a.firewall_allow, '80/tcp', '443/tcp'])];
  }
}

async function sitesStep(o: FlowOptions, a: Answers, c: Connected): Promise<void> {
  const { ui, say } = o;
  if (ui) {
    const had = a.caddy_sites.map(describeSite).join(', ');
    const want = await ui.confirm({ message: `${CAPABILITIES.caddy}. Set up HTTPS sites${had ? ` (now: ${had})` : ''}?`, default: a.caddy_sites.length > 0 });
    if (!want) {
      a.caddy_sites = [];
      return;
    }
    const keep = a.caddy_sites.length ? await ui.confirm({ message: `Keep ${had} as they are?`, default: true }) : false;
    if (!keep) {
      a.caddy_sites = [];
      do a.caddy_sites.push(await askSite(o, a, c));
      while (await ui.confirm({ message: 'Add another site?', default: false }));
    }
    const email = await ui.input({
      message: 'Email for the certificate authority (expiry notices; empty: none):',
      default: a.caddy_email ?? '',
      validate: (v) => (!v.trim() ? true : roleCheck(o.roles, 'caddy', { caddy_email: v.trim() }, { caddy_sites: [] })),
    });
    if (email.trim()) a.caddy_email = email.trim();
    else delete a.caddy_email;
    a.caddy_source = await ui.select({
      message: 'Install Caddy from:',
      choices: [
        { value: 'vendor' as const, name: "Caddy's own repository (current Caddy 2)" },
        { value: 'debian' as const, name: "the distribution's caddy package" },
      ],
      default: a.caddy_source,
    });
    const ca = await ui.input({
      message: "ACME CA directory URL (empty: Let's Encrypt; e.g. Let's Encrypt staging for tests):",
      default: a.caddy_acme_ca ?? '',
      validate: (v) => (!v.trim() ? true : roleCheck(o.roles, 'caddy', { caddy_acme_ca: v.trim() }, { caddy_sites: [] })),
    });
    if (ca.trim()) {
      a.caddy_acme_ca = ca.trim();
      const root = await ui.input({ message: "That CA directory's root certificate file on this machine (empty: publicly trusted):", default: a.caddy_acme_ca_root ?? '' });
      if (root.trim()) a.caddy_acme_ca_root = root.trim();
      else delete a.caddy_acme_ca_root;
    } else {
      delete a.caddy_acme_ca;
      delete a.caddy_acme_ca_root;
    }
    return;
  }
  // answers file: every domain is looked up, a wrong one is named (the certificate waits for DNS)
  for (const s of a.caddy_sites) {
    const j = await checkDomain(c, s.domain);
    say(j.verdict === 'here' ? `✓ ${j.text}` : `! ${j.text}; the site is set up anyway and its certificate waits until the domain points here`);
  }
}

/** exported for its unit test: the questions of the backup role, asked until the role would accept them */
export async function backupStep(o: FlowOptions, a: Answers): Promise<void> {
  const ui = o.ui!;
  const paths = await ui.input({
    message: 'Directories to back up every night (absolute paths, comma-separated):',
    default: a.backup_paths.join(', '),
    validate: (v) => roleCheck(o.roles, 'backup', { backup_paths: list(v) }),
  });
  a.backup_paths = list(paths);
  const repo = await ui.input({
    message: 'Off-site restic repository (e.g. sftp:user@host:/path, or a path on another disk):',
    default: a.backup_restic_repository ?? '',
    validate: (v) => (v.trim() ? true : 'needed: the backup role sends every backup off-site (a copy that stays on the server is not a backup)'),
  });
  a.backup_restic_repository = repo.trim();
  const keep = a.backup_restic_password ? await ui.confirm({ message: 'Keep the repository password from the secrets file?', default: true }) : false;
  if (keep) return;
  for (;;) {
    const pw = await ui.password({ message: 'Repository password (kept in the owner-only secrets file, never printed):' });
    if (pw) {
      a.backup_restic_password = pw;
      addSecret(pw);
      return;
    }
    o.say('  needed: without it the backups cannot be written or read. Please answer again.');
  }
}

function describeSite(s: CaddySite): string {
  return `${s.domain} → ${s.upstream ?? s.root}`;
}

async function askSite(o: FlowOptions, a: Answers, c: Connected): Promise<CaddySite> {
  const ui = o.ui!;
  for (;;) {
    const domain = (
      await ui.input({
        message: 'Domain of the site (e.g. app.example.com):',
        validate: (v) => roleCheck(o.roles, 'caddy', { caddy_sites: [{ domain: v.trim(), respond: 'x' }] }),
      })
    ).trim().toLowerCase();
    o.say(`Looking up ${domain} from the server ...`);
    const j = await checkDomain(c, domain);
    if (j.verdict !== 'here') {
      o.say(`✗ ${j.text}`);
      const goOn = await ui.confirm({ message: 'Use this domain anyway? (Caddy keeps trying: the certificate comes once the domain points here)', default: false });
      if (!goOn) continue;
    } else o.say(`✓ ${j.text}`);
    const kind = await ui.select({
      message: `What does ${domain} serve?`,
      choices: [
        { value: 'upstream' as const, name: 'an app listening on this server (reverse proxy), e.g. localhost:3000' },
        { value: 'root' as const, name: 'static files from a directory, e.g. /srv/www' },
      ],
    });
    const value = (
      await ui.input({
        message: kind === 'upstream' ? 'Upstream address:' : 'Directory on the server:',
        default: kind === 'upstream' ? 'localhost:3000' : `/srv/www/${domain}`,
        validate: (v) => roleCheck(o.roles, 'caddy', { caddy_sites: [{ domain, [kind]: v.trim() }] }),
      })
    ).trim();
    return { domain, [kind]: value };
  }
}

import { shq } from '../../src/core/quote.js';

/** Where the role puts things on the host; the program (shipshape-backup.sh) reads the same paths. */
export const PROGRAM = '/usr/local/sbin/shipshape-backup';
export const CONF_DIR = '/etc/shipshape-backup';
export const CONF = `${CONF_DIR}/backup.conf`;
/** root-only: database passwords, the ping URL (a token), the repository's credentials */
export const SECRETS = `${CONF_DIR}/secrets`;
export const PASSWORD_FILE = `${CONF_DIR}/restic-password`;
export const SSH_CONFIG = `${CONF_DIR}/ssh_config`;
export const SSH_KEY = `${CONF_DIR}/id_ed25519`;
export const KNOWN_HOSTS = `${CONF_DIR}/known_hosts`;
export const CRON_FILE = '/etc/cron.d/shipshape-backup';
export const LOG = '/var/log/shipshape-backup.log';
/** the name the repository's host key is recorded under, whatever its address and port */
export const HOST_KEY_ALIAS = 'shipshape-backup-repository';
/** cron's own PATH lacks /usr/local/sbin and /sbin: the program and the cron file both say theirs */
export const CRON_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Database {
  container?: string;
  compose_service?: string;
  database: string;
  user: string;
  password?: string;
}

export interface Keep {
  daily: number;
  weekly: number;
  monthly: number;
}

export interface ProgramConfig {
  host: string;
  dir: string;
  keepDays: number;
  paths: string[];
  databases: Database[];
  repository: string;
  keep: Keep;
  pingStyle: 'healthchecks' | 'ntfy';
  sftp?: SftpTarget;
}

export interface SftpTarget {
  user?: string;
  host: string;
  port: number;
  path: string;
}

/**
 * restic's two sftp spellings: `sftp:user@host:/path` (scp-like, port 22) and
 * `sftp://user@host:port//path` (a Hetzner Storage Box: port 23). undefined when not sftp.
 */
export function parseSftp(repo: string): SftpTarget | undefined {
  const url = /^sftp:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/(.*)$/.exec(repo);
  if (url) return { ...(url[1] ? { user: url[1] } : {}), host: url[2].replace(/^\[|\]$/g, ''), port: url[3] ? Number(url[3]) : 22, path: url[4] };
  const scp = /^sftp:(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+):(.+)$/.exec(repo);
  if (scp) return { ...(scp[1] ? { user: scp[1] } : {}), host: scp[2].replace(/^\[|\]$/g, ''), port: 22, path: scp[3] };
  return undefined;
}

/** the file name part every dump of a database gets: stable, so restic and forget see the same path every night */
export function dbTarget(d: Database): { kind: 'container' | 'compose' | 'host'; target: string } {
  if (d.container) return { kind: 'container', target: d.container };
  if (d.compose_service) return { kind: 'compose', target: d.compose_service };
  return { kind: 'host', target: 'host' };
}

const line = (k: string, v: string | number) => `${k}=${typeof v === 'number' ? v : shq(v)}`;

/** backup.conf: sourced by the program; nothing secret (it is shown in --diff). */
export function renderConfig(c: ProgramConfig): string {
  const out = [
    '# managed by shipshape (backup role); read by /usr/local/sbin/shipshape-backup. Secrets are in secrets, not here.',
    line('BACKUP_HOST', c.host),
    line('BACKUP_DIR', c.dir),
    line('KEEP_DAYS', c.keepDays),
    line('REPOSITORY', c.repository),
    line('KEEP_DAILY', c.keep.daily),
    line('KEEP_WEEKLY', c.keep.weekly),
    line('KEEP_MONTHLY', c.keep.monthly),
    line('PING_STYLE', c.pingStyle),
    line('SFTP_COMMAND', c.sftp ? `ssh -F ${SSH_CONFIG} ${HOST_KEY_ALIAS} -s sftp` : ''),
    line('PATH_COUNT', c.paths.length),
    ...c.paths.map((p, i) => line(`PATH_${i + 1}`, p)),
    line('DB_COUNT', c.databases.length),
    ...c.databases.flatMap((d, i) => {
      const { kind, target } = dbTarget(d);
      const n = i + 1;
      return [line(`DB_${n}_KIND`, kind), line(`DB_${n}_TARGET`, target), line(`DB_${n}_NAME`, d.database), line(`DB_${n}_USER`, d.user), line(`DB_${n}_HAS_PASSWORD`, d.password ? 1 : 0)];
    }),
  ];
  return out.join('\n') + '\n';
}

/** secrets: root-only, written with no_log; exported restic variables (s3 keys) and the passwords. */
export function renderSecrets(databases: Database[], pingUrl: string | undefined, env: Record<string, string>): string {
  return [
    '# managed by shipshape (backup role): root-only secrets, never on a command line',
    line('PING_URL', pingUrl ?? ''),
    ...databases.map((d, i) => line(`DB_${i + 1}_PASSWORD`, d.password ?? '')),
    ...Object.entries(env).map(([k, v]) => `export ${line(k, v)}`),
  ].join('\n') + '\n';
}

/** ssh for restic's sftp backend: the host's own key, the repository host's key pinned under one alias. */
export function renderSshConfig(t: SftpTarget, pinned: boolean): string {
  return [
    '# managed by shipshape (backup role): how restic reaches the sftp repository',
    `Host ${HOST_KEY_ALIAS}`,
    `  HostName ${t.host}`,
    `  Port ${t.port}`,
    ...(t.user ? [`  User ${t.user}`] : []),
    `  IdentityFile ${SSH_KEY}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${KNOWN_HOSTS}`,
    `  HostKeyAlias ${HOST_KEY_ALIAS}`,
    // pinned by a variable: nothing else is accepted; otherwise the first contact records it (shown by `backup key`)
    `  StrictHostKeyChecking ${pinned ? 'yes' : 'accept-new'}`,
    '  BatchMode yes',
    '  ServerAliveInterval 60',
    '  ServerAliveCountMax 10',
  ].join('\n') + '\n';
}

export function renderCron(schedule: string, verifySchedule: string | undefined): string {
  const job = (when: string, what: string) => `${when} root ${PROGRAM} ${what} >/dev/null`;
  return [
    `# managed by shipshape (backup role). Log: ${LOG} and the journal (journalctl -t shipshape-backup).`,
    '# stdout goes nowhere, stderr (the reason of a failure) to cron\'s mail',
    'SHELL=/bin/sh',
    `PATH=${CRON_PATH}`,
    job(schedule, 'run'),
    ...(verifySchedule ? [job(verifySchedule, 'verify')] : []),
  ].join('\n') + '\n';
}

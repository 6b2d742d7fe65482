import { z } from 'zod';
import { addSecret, secret } from '../../src/core/redact.js';
import { defineRole, type RoleTask } from '../../src/playbook/role.js';
import {
  CONF,
  CONF_DIR,
  CRON_FILE,
  HOST_KEY_ALIAS,
  KNOWN_HOSTS,
  LOG,
  PASSWORD_FILE,
  PROGRAM,
  SECRETS,
  SSH_CONFIG,
  SSH_KEY,
  parseSftp,
  renderConfig,
  renderCron,
  renderSecrets,
  renderSshConfig,
  type Database,
} from './config.js';
import backupCron from './backup_cron.js';
import { programText } from './program.js';

/** five cron fields or one of cron's @ words */
const CRON_SCHEDULE = /^(@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;
const schedule = z.string().trim().regex(CRON_SCHEDULE, 'a cron schedule: five fields like "17 3 * * *", or @daily');
/** names go into file names and shell words of the program: keep them plain */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const name = (what: string) => z.string().regex(NAME, `${what}: letters, digits, _ . and - only`);

const database = z
  .object({
    /** the container's name (docker ps) */
    container: name('a container name').optional(),
    /** or the Compose service: its running container is looked up by label */
    compose_service: name('a compose service name').optional(),
    database: name('a database name'),
    user: name('a database user').default('postgres'),
    /** only when the container does not trust its local socket; then the program connects over TCP */
    password: z.string().min(1).optional(),
  })
  .strict()
  .refine((d) => !(d.container && d.compose_service), { message: 'give container or compose_service, not both (neither: PostgreSQL on the host)' });

const vars = z.object({
  /** when the backup runs (cron, the host's time zone) */
  backup_schedule: schedule.default('17 3 * * *'),
  /** optional: a scheduled `verify` too, e.g. "45 4 * * 0" (weekly) */
  backup_verify_schedule: schedule.optional(),
  /** days the local copies in backup_dir are kept */
  backup_keep_days: z.number().int().min(1).default(7),
  backup_dir: z.string().regex(/^\/[^\s'"\\]+$/, 'an absolute directory without spaces or quotes').refine((d) => d !== '/', 'not /').default('/var/backups/shipshape'),
  /** files and directories sent off-site as they are (uploads, .env, compose files) */
  backup_paths: z.array(z.string().regex(/^\/[^\n]*$/, 'an absolute path')).default([]),
  /** databases dumped with pg_dump -Fc inside their own container (or on the host), plus the roles */
  backup_postgres: z.array(database).default([]),
  /** restic repository: sftp:user@host:/path, sftp://user@host:23//path (Storage Box), /local/path, s3:... */
  backup_restic_repository: z.string().min(1).optional(),
  /** the repository's password: a secret (root-only file on the host, never shown) */
  backup_restic_password: secret(z.string().min(1)).optional(),
  /** restic's forget policy, per host */
  backup_restic_keep: z
    .object({ daily: z.number().int().min(0).default(7), weekly: z.number().int().min(0).default(4), monthly: z.number().int().min(0).default(6) })
    .strict()
    .default({ daily: 7, weekly: 4, monthly: 6 })
    .refine((k) => k.daily + k.weekly + k.monthly > 0, { message: 'keep at least one snapshot' }),
  /** extra variables for restic (AWS_ACCESS_KEY_ID, ... for s3:), kept with the secrets */
  backup_restic_env: secret(z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name'), z.string())).default({}),
  /** the sftp repository's host key ("ssh-ed25519 AAAA..."); unset: recorded on first contact (shown by `shipshape backup key`) */
  backup_restic_host_key: z.string().regex(/^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/=]+$/, 'a public key line like "ssh-ed25519 AAAA..."').optional(),
  /** the restic host name of this host's snapshots; stable, so forget groups them (default: inventory name) */
  backup_host: z.string().regex(NAME).optional(),
  /** a monitor: healthchecks.io (URL/start, URL, URL/fail) or an ntfy topic URL; a down monitor never fails a backup */
  backup_ping_url: secret(z.string().regex(/^https?:\/\/\S+$/, 'an http(s) URL')).optional(),
  backup_ping_style: z.enum(['healthchecks', 'ntfy']).default('healthchecks'),
});

export type BackupVars = z.infer<typeof vars>;

export const PACKAGES = ['restic', 'curl', 'cron'];

const file = (dest: string, content: string, mode: string, extra: Record<string, unknown> = {}) => ({ dest, content, mode, owner: 'root', group: 'root', ...extra });

/** the role's own modules: its tasks use them, playbooks cannot */
const own = { backup_cron: backupCron };

export default defineRole<BackupVars, typeof own>({
  name: 'backup',
  summary: 'Nightly backups that never lie: pg_dump in the container, checked dumps, restic off-site (sftp), retention, pings; `shipshape backup` lists, verifies, restores',
  vars,
  modules: own,
  tasks: (v): RoleTask<typeof own>[] => {
    // nothing to back up: the role installs nothing (site.yml lists it for every host)
    if (!v.backup_paths.length && !v.backup_postgres.length) return [];
    if (!v.backup_restic_repository || !v.backup_restic_password) {
      throw new Error('backup_paths or backup_postgres is set, so backup_restic_repository and backup_restic_password are needed too: a backup that stays on the server is not a backup');
    }
    const all = v as BackupVars & Record<string, unknown>;
    const host = v.backup_host ?? String(all.inventory_hostname ?? 'localhost');
    const sftp = parseSftp(v.backup_restic_repository);
    if (v.backup_restic_repository.startsWith('sftp:') && !sftp) throw new Error(`backup_restic_repository ${v.backup_restic_repository} is not an sftp repository restic reads: sftp:user@host:/path or sftp://user@host:port//path`);
    const databases = v.backup_postgres as Database[];
    // nested in a list the schema cannot mark: masked in every output like the other secrets
    for (const d of databases) addSecret(d.password);
    const config = renderConfig({
      host,
      dir: v.backup_dir,
      keepDays: v.backup_keep_days,
      paths: v.backup_paths,
      databases,
      repository: v.backup_restic_repository,
      keep: v.backup_restic_keep,
      pingStyle: v.backup_ping_style,
      ...(sftp ? { sftp } : {}),
    });
    const tasks: RoleTask<typeof own>[] = [
      { name: 'restic, curl and cron installed', module: 'apt', args: { name: [...PACKAGES, ...(sftp ? ['openssh-client'] : [])], cache_valid_time: 3600 } },
      { name: CONF_DIR, module: 'file', args: { path: CONF_DIR, state: 'directory', mode: '0700', owner: 'root', group: 'root' } },
      { name: 'backup configuration', module: 'copy', args: file(CONF, config, '0600') },
      {
        name: 'backup secrets (database passwords, ping URL, repository credentials)',
        module: 'copy',
        args: file(SECRETS, renderSecrets(databases, v.backup_ping_url, v.backup_restic_env), '0600'),
        no_log: true,
      },
      { name: 'restic password file', module: 'copy', args: file(PASSWORD_FILE, v.backup_restic_password + '\n', '0600'), no_log: true },
    ];
    if (sftp) {
      tasks.push(
        {
          // made on the host, never copied: `shipshape backup key` shows its public half
          name: 'SSH key of this host for the repository',
          module: 'command',
          args: { argv: ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `shipshape-backup@${host}`, '-f', SSH_KEY], creates: SSH_KEY },
        },
        { name: 'SSH settings for the repository', module: 'copy', args: file(SSH_CONFIG, renderSshConfig(sftp, !!v.backup_restic_host_key), '0600') },
      );
      if (v.backup_restic_host_key) {
        const pinned = `# pinned by backup_restic_host_key (managed by shipshape)\n${HOST_KEY_ALIAS} ${v.backup_restic_host_key}\n`;
        tasks.push({ name: 'repository host key pinned', module: 'copy', args: file(KNOWN_HOSTS, pinned, '0600') });
      }
    }
    tasks.push(
      { name: v.backup_dir, module: 'file', args: { path: v.backup_dir, state: 'directory', mode: '0700', owner: 'root', group: 'root' } },
      { name: 'backup program', module: 'copy', args: file(PROGRAM, programText(), '0755', { validate: 'sh -n %s' }) },
      {
        name: 'backup log rotated',
        module: 'copy',
        args: file('/etc/logrotate.d/shipshape-backup', `${LOG} {\n\tweekly\n\trotate 8\n\tcompress\n\tmissingok\n\tnotifempty\n\tcreate 0600 root root\n}\n`, '0644'),
      },
      // judged as cron runs it: the file cron reads, cron running, no second schedule elsewhere
      { name: 'backup cron entry', module: 'backup_cron', args: { path: CRON_FILE, content: renderCron(v.backup_schedule, v.backup_verify_schedule), program: PROGRAM } },
    );
    return tasks;
  },
});

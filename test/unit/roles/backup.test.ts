import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** a file to source or parse, since a shell reading /dev/stdin may close it early */
const tmpFile = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'ss-backup-')), 'f');
  writeFileSync(f, text);
  return f;
};
import { describe, expect, it } from 'vitest';
import role from '../../../roles/backup/index.js';
import type { AnyRoleTask } from '../../../src/playbook/role.js';
import { CRON_FILE, PROGRAM, parseSftp, renderConfig, renderCron, renderSecrets, renderSshConfig, SECRETS } from '../../../roles/backup/config.js';
import { programText } from '../../../roles/backup/program.js';
import { checkRestoreFlags, hostScript, programArgv } from '../../../src/cli/backup-command.js';

const tasksFor = (vars: Record<string, unknown>) => role.tasks({ inventory_hostname: 'db1', ...vars, ...role.vars.parse(vars) } as never) as AnyRoleTask[];
const configured = {
  backup_postgres: [{ container: 'app-db', database: 'app', user: 'app', password: 'db-secret-1' }],
  backup_paths: ['/srv/app/uploads'],
  backup_restic_repository: 'sftp://u123@u123.your-storagebox.de:23//backups/db1',
  backup_restic_password: 'restic-secret-2',
  backup_ping_url: 'https://hc-ping.com/secret-uuid-3',
};
const SECRET_VALUES = ['db-secret-1', 'restic-secret-2', 'secret-uuid-3'];

describe('backup role', () => {
  it('does nothing until something is to be backed up', () => {
    expect(tasksFor({})).toEqual([]);
  });

  it('refuses a backup without an off-site repository', () => {
    expect(() => tasksFor({ backup_paths: ['/srv'] })).toThrow(/backup_restic_repository and backup_restic_password/);
  });

  it('installs restic, root-only config and secrets, the host key for sftp, the program and the cron entry', () => {
    const tasks = tasksFor(configured);
    const byName = Object.fromEntries(tasks.map((t) => [t.name, t]));
    expect(tasks.map((t) => t.module)).toContain('apt');
    expect((tasks[0].args.name as string[]).sort()).toEqual(['cron', 'curl', 'openssh-client', 'restic']);
    expect(byName['SSH key of this host for the repository'].args).toMatchObject({ creates: '/etc/shipshape-backup/id_ed25519' });
    expect(byName['backup program'].args).toMatchObject({ dest: PROGRAM, mode: '0755', validate: 'sh -n %s' });
    expect(byName['backup cron entry']).toMatchObject({ module: 'backup_cron', args: { path: CRON_FILE, program: PROGRAM } });
    // every secret is only in tasks whose diff and commands are hidden, and those files are 0600
    for (const t of tasks) {
      const text = JSON.stringify(t.args);
      if (SECRET_VALUES.some((s) => text.includes(s))) {
        expect(t.no_log, t.name).toBe(true);
        expect(t.args.mode).toBe('0600');
      }
    }
    for (const v of SECRET_VALUES) expect(JSON.stringify(byName['backup configuration'])).not.toContain(v);
    expect(byName['backup secrets (database passwords, ping URL, repository credentials)'].args.dest).toBe(SECRETS);
  });

  it('pins the repository host key when given', () => {
    const tasks = tasksFor({ ...configured, backup_restic_host_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA' });
    const pinned = tasks.find((t) => t.name === 'repository host key pinned')!;
    expect(pinned.args.content).toContain('shipshape-backup-repository ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA');
    const ssh = tasks.find((t) => t.name === 'SSH settings for the repository')!;
    expect(ssh.args.content).toContain('StrictHostKeyChecking yes');
    expect(tasksFor(configured).find((t) => t.name === 'SSH settings for the repository')!.args.content).toContain('StrictHostKeyChecking accept-new');
  });

  it('validates its variables', () => {
    expect(role.vars.safeParse({ backup_schedule: 'nightly' }).success).toBe(false);
    expect(role.vars.safeParse({ backup_schedule: '@daily' }).success).toBe(true);
    expect(role.vars.safeParse({ backup_postgres: [{ container: 'a', compose_service: 'b', database: 'x' }] }).success).toBe(false);
    expect(role.vars.safeParse({ backup_postgres: [{ container: 'a; rm -rf /', database: 'x' }] }).success).toBe(false);
    expect(role.vars.safeParse({ backup_dir: '/' }).success).toBe(false);
  });
});

describe('rendered files', () => {
  it('parses both sftp spellings of restic', () => {
    expect(parseSftp('sftp:backup@10.0.0.2:/srv/restic')).toEqual({ user: 'backup', host: '10.0.0.2', port: 22, path: '/srv/restic' });
    expect(parseSftp('sftp://u1@u1.your-storagebox.de:23//home/db1')).toEqual({ user: 'u1', host: 'u1.your-storagebox.de', port: 23, path: '/home/db1' });
    expect(parseSftp('/var/restic')).toBeUndefined();
    expect(parseSftp('s3:s3.amazonaws.com/bucket')).toBeUndefined();
  });

  it('quotes every value of the sourced config', () => {
    const text = renderConfig({
      host: 'db1',
      dir: '/var/backups/shipshape',
      keepDays: 7,
      paths: ["/srv/it's here"],
      databases: [{ compose_service: 'postgres', database: 'app', user: 'app' }],
      repository: '/var/restic',
      keep: { daily: 7, weekly: 4, monthly: 6 },
      pingStyle: 'healthchecks',
    });
    expect(text).toContain('DB_1_KIND=compose');
    expect(text).toContain("SFTP_COMMAND=''");
    const out = execFileSync('sh', ['-c', `. "$0"; printf '%s|%s|%s' "$PATH_1" "$DB_1_TARGET" "$KEEP_DAYS"`, tmpFile(text)]).toString();
    expect(out).toBe("/srv/it's here|postgres|7");
  });

  it('keeps secrets in their own file, exported for restic where asked', () => {
    const text = renderSecrets([{ container: 'c', database: 'd', user: 'u', password: "p'w" }], 'https://hc/x', { AWS_ACCESS_KEY_ID: 'k' });
    const out = execFileSync('sh', ['-c', `. "$0"; printf '%s|%s|%s' "$DB_1_PASSWORD" "$PING_URL" "$(sh -c 'echo $AWS_ACCESS_KEY_ID')"`, tmpFile(text)]).toString();
    expect(out).toBe("p'w|https://hc/x|k");
  });

  it('ssh settings pin the repository under one alias, port and key', () => {
    const text = renderSshConfig({ user: 'u1', host: 'box.example', port: 23, path: '/x' }, true);
    expect(text).toMatch(/HostName box\.example\n {2}Port 23\n {2}User u1\n {2}IdentityFile \/etc\/shipshape-backup\/id_ed25519/);
    expect(text).toContain('HostKeyAlias shipshape-backup-repository');
    expect(text).toContain('BatchMode yes');
  });

  it('the cron file has its own PATH and runs the program as root', () => {
    expect(renderCron('17 3 * * *', '45 4 * * 0')).toContain(
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n17 3 * * * root /usr/local/sbin/shipshape-backup run >/dev/null\n45 4 * * 0 root /usr/local/sbin/shipshape-backup verify >/dev/null\n',
    );
  });

  it('restore of a database it does not back up: names the ones it has, no usage text, nothing locked or written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-backup-conf-'));
    const conf = { host: 'db1', dir: join(dir, 'copies'), keepDays: 7, paths: [], repository: '/var/restic', keep: { daily: 7, weekly: 4, monthly: 6 }, pingStyle: 'healthchecks' as const };
    writeFileSync(join(dir, 'backup.conf'), renderConfig({ ...conf, databases: [{ container: 'app-db', database: 'app', user: 'app' }, { compose_service: 'postgres', database: 'shop', user: 'shop' }] }));
    writeFileSync(join(dir, 'secrets'), renderSecrets([], undefined, {}));
    const program = tmpFile(programText().replace('CONF_DIR=/etc/shipshape-backup', `CONF_DIR=${dir}`));
    let err: { status: number; stderr: Buffer } | undefined;
    try {
      execFileSync('sh', [program, 'restore-db', 'ap', '--yes'], { stdio: 'pipe' });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.status).toBe(2);
    expect(err?.stderr.toString()).toBe('shipshape-backup: restore-db: ap is not a database of backup_postgres on this host (app-db/app, postgres/shop)\n');
  });

  it('the program is POSIX sh that dash parses', () => {
    const shell = ['dash', 'sh'].find((s) => {
      try {
        execFileSync('sh', ['-c', `command -v ${s}`]);
        return true;
      } catch {
        return false;
      }
    })!;
    execFileSync(shell, ['-n', tmpFile(programText())]);
    // the password reaches restic only as a file, never as an argument or a variable
    expect(programText()).toContain('export RESTIC_PASSWORD_FILE=');
    expect(programText()).not.toMatch(/RESTIC_PASSWORD=|--password/);
  });
});

describe('shipshape backup', () => {
  it('runs the installed program, restore always with --yes on the host (the question is asked here)', () => {
    expect(programArgv('verify', { inventory: 'i', forks: 1 })).toEqual([PROGRAM, 'verify']);
    expect(programArgv('restore', { inventory: 'i', forks: 1, database: 'app-db/app' })).toEqual([PROGRAM, 'restore-db', 'app-db/app', '--yes']);
    expect(programArgv('restore', { inventory: 'i', forks: 1, target: '/srv/r', paths: '/srv/a, /srv/b', snapshot: 'abcdef12' })).toEqual([
      PROGRAM, 'restore-paths', '--target', '/srv/r', '--yes', '--snapshot', 'abcdef12', '/srv/a', '/srv/b',
    ]);
    expect(hostScript([PROGRAM, 'list'])).toContain('\n/usr/local/sbin/shipshape-backup list 2>&1\n');
  });

  it('refuses unclear restores before contacting anything', () => {
    expect(() => checkRestoreFlags({ inventory: 'i', forks: 1 })).toThrow(/--database NAME/);
    expect(() => checkRestoreFlags({ inventory: 'i', forks: 1, database: 'a', target: '/x' })).toThrow(/not both/);
    expect(() => checkRestoreFlags({ inventory: 'i', forks: 1, target: 'rel' })).toThrow(/absolute/);
    expect(() => checkRestoreFlags({ inventory: 'i', forks: 1, database: 'a', snapshot: 'x;y' })).toThrow(/snapshot id/);
  });
});

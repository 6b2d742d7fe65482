/**
 * Backups end to end, on each release: a database host (Docker, a real PostgreSQL in a container built offline
 * from Debian's packages, with data) and a second lab host as the SFTP repository. What an operator relies on:
 * the job as cron runs it leaves a dump pg_restore reads and a snapshot off-site with the paths; verify restores
 * into scratch and passes, and fails naming the file once the repository is corrupted; a dropped database comes
 * back from off-site; a stopped database or a wrong password never becomes a snapshot and pings the failure with
 * the reason; two runs never overlap; retention locally and off-site; no secret in ps, log, cron file, output.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dist } from '../../scripts/lab/dists.js';
import { loadPostgresImage } from './backup/postgres-image.js';
import { PINGS, PING_PORT, startStub, stopStub } from './backup/ping-stub.js';
import { FIXTURES, freshHosts, hostExec, shipshape, shipshapeJson, stopwatch, writeInventory, type Lab, type LabHost } from './support.js';

const PLAYBOOK = join(FIXTURES, 'backup', 'site.yml');
const SECRETS = { db: 'db-Pass-4417', restic: 'restic-Pass-8265', ping: 'uuid-token-5531' };
const KEEP = { daily: 2, weekly: 2, monthly: 2 };
const PROGRAM = '/usr/local/sbin/shipshape-backup';

/** restic's forget policy (newest first; a snapshot is kept when a rule with budget left sees a new bucket) */
export function keptByPolicy(times: Date[], keep: typeof KEEP): string[] {
  const iso = (d: Date) => {
    const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
    const day = t.getUTCDay() || 7;
    t.setUTCDate(t.getUTCDate() + 4 - day);
    const week = Math.ceil(((t.getTime() - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86_400_000 + 1) / 7);
    return t.getUTCFullYear() * 100 + week;
  };
  const rules = [
    { left: keep.daily, bucket: (d: Date) => d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate(), last: -1 },
    { left: keep.weekly, bucket: iso, last: -1 },
    { left: keep.monthly, bucket: (d: Date) => d.getUTCFullYear() * 100 + d.getUTCMonth() + 1, last: -1 },
  ];
  const kept: string[] = [];
  for (const t of [...times].sort((a, b) => b.getTime() - a.getTime())) {
    let keepIt = false;
    for (const r of rules) {
      if (r.left > 0 && r.bucket(t) !== r.last) {
        keepIt = true;
        r.last = r.bucket(t);
        r.left--;
      }
    }
    if (keepIt) kept.push(t.toISOString().slice(0, 19));
  }
  return kept.sort();
}

const RELEASES: [Dist, string, string][] = [
  ['bookworm', 'h71', 'h72'],
  ['trixie', 'h171', 'h172'],
];

describe.each(RELEASES)('backups on %s: PostgreSQL in a container, an SFTP repository on a second host', (dist, DB, REPO) => {
  let lab: Lab;
  let db: LabHost;
  let repo: LabHost;
  let inv: string;
  let image: string;
  const { timings, timed } = stopwatch();
  const pinned = dist === 'bookworm';

  const on = async (host: string, cmd: string) => {
    const r = await hostExec(host, cmd);
    expect(r.code, `${host}: ${cmd}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };
  const sql = (q: string, database = 'app') => on(DB, `docker exec app-db psql -X -A -t -U app -d ${database} -c "${q}"`);
  /** the ids of the snapshots in the repository, read on the repository host itself */
  const snapshots = async () => (await on(REPO, `ls /srv/restic/${DB}/snapshots 2>/dev/null || true`)).split('\n').filter(Boolean).sort().join(' ');
  const pings = () => on(DB, `cat ${PINGS}`);
  const noSecret = (what: string, text: string) => {
    for (const s of Object.values(SECRETS)) expect(text, `${what} shows a secret`).not.toContain(s);
  };
  /** restic on the database host with the role's own configuration (what the program uses) */
  const restic = (args: string) =>
    on(DB, `. /etc/shipshape-backup/backup.conf; export RESTIC_REPOSITORY="$REPOSITORY" RESTIC_PASSWORD_FILE=/etc/shipshape-backup/restic-password; restic -o "sftp.command=$SFTP_COMMAND" ${args}`);

  /**
   * The job exactly as cron starts it: the command of the cron file, cron's bare environment (not this shell's),
   * no terminal; `ps` sampled all along.
   */
  async function cronRun(extra = '') {
    const r = await hostExec(
      DB,
      [
        `cmd="$(sed -n 's/^[0-9*@][^ ]* .* root //p' /etc/cron.d/shipshape-backup | head -n 1)${extra ? ` ${extra}` : ''}"`,
        ': >/var/tmp/ps.log',
        'setsid env -i HOME=/root LOGNAME=root SHELL=/bin/sh PATH=/usr/bin:/bin sh -c "$cmd" </dev/null >/var/tmp/run.out 2>/var/tmp/run.err & pid=$!',
        'while kill -0 $pid 2>/dev/null; do ps -eww -o args >>/var/tmp/ps.log; sleep 0.05; done',
        'wait $pid; code=$?',
        'echo "exit=$code"; cat /var/tmp/run.err >&2',
      ].join('\n'),
    );
    const code = Number(/exit=(\d+)/.exec(r.stdout)?.[1] ?? -1);
    return { code, stderr: r.stderr, ps: await on(DB, 'cat /var/tmp/ps.log') };
  }

  async function apply(label: string, extra: string[] = []) {
    const r = await timed(label, () => shipshapeJson('apply', PLAYBOOK, inv, ['-D', ...extra]));
    const failed = r.report.hosts[DB].tasks.filter((t) => t.status === 'failed');
    expect(failed, `${label}: ${JSON.stringify(failed, null, 1)}\n${r.stderr.slice(-3000)}`).toEqual([]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    noSecret(`apply --json -D (${label})`, r.stdout + r.stderr);
    return r;
  }

  beforeAll(async () => {
    lab = await timed('boot', () => freshHosts([DB, REPO], { dist }));
    db = lab.hosts.find((h) => h.name === DB)!;
    repo = lab.hosts.find((h) => h.name === REPO)!;
    // the repository side, as a Storage Box is: an SFTP account with a directory (Debian has a user "backup")
    await on(REPO, 'useradd -m -s /bin/sh restic && install -d -o restic -g restic -m 700 /srv/restic /home/restic/.ssh');
    const hostKey = (await on(REPO, 'cat /etc/ssh/ssh_host_ed25519_key.pub')).split(' ').slice(0, 2).join(' ');
    inv = writeInventory(lab, [db], {
      vars: {
        docker_source: 'debian',
        // trixie's docker.io only recommends the docker command
        ...(dist === 'trixie' ? { docker_debian_packages: ['docker.io', 'docker-cli', 'apparmor', 'xz-utils'] } : {}),
        backup_postgres: [{ container: 'app-db', database: 'app', user: 'app', password: SECRETS.db }],
        backup_paths: ['/srv/app'],
        backup_restic_repository: `sftp:restic@${repo.addr}:/srv/restic/${DB}`,
        backup_restic_password: SECRETS.restic,
        backup_restic_keep: KEEP,
        backup_keep_days: 7,
        backup_ping_url: `http://127.0.0.1:${PING_PORT}/ping/${SECRETS.ping}`,
        // Debian 12: pinned by the variable; Debian 13: recorded on first contact and shown by `backup key`
        ...(pinned ? { backup_restic_host_key: hostKey } : {}),
      },
    });
    await apply('first apply');
    image = await timed('postgres image', () => loadPostgresImage(DB, dist));
    await on(DB, `docker run -d --name app-db --restart unless-stopped -e POSTGRES_USER=app -e POSTGRES_PASSWORD=${SECRETS.db} -e POSTGRES_DB=app ${image} >/dev/null`);
    await on(DB, 'for i in $(seq 120); do docker exec app-db psql -X -U app -d app -c "SELECT 1" >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1');
    await sql(
      'CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g;' +
        ' CREATE SCHEMA shop; CREATE TABLE shop.items (id serial, name text); INSERT INTO shop.items (name) SELECT md5(g::text) FROM generate_series(1, 250) g;',
    );
    await on(DB, 'mkdir -p /srv/app/uploads && echo "invoice 42" >/srv/app/uploads/a.txt && head -c 200000 /dev/urandom >/srv/app/uploads/b.bin');
    await on(DB, startStub);
  }, 900_000);

  afterAll(() => {
    console.log(`backup e2e (${dist}) timings:\n  ${timings.join('\n  ')}`);
  });

  it('a second apply changes nothing, and check exits 0', async () => {
    const second = await apply('second apply');
    expect(second.report.hosts[DB].changed, JSON.stringify(second.report.hosts[DB].tasks.filter((t) => t.status === 'changed'))).toBe(0);
    const check = await timed('check', () => shipshape(['check', PLAYBOOK, '-i', inv]));
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it('key: the host made its own key; its public half is printed, the repository host key pinned or recorded', async () => {
    const r = await shipshape(['backup', 'key', '-i', inv]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const pub = await on(DB, 'cat /etc/shipshape-backup/id_ed25519.pub');
    expect(pub).toMatch(new RegExp(`^ssh-ed25519 \\S+ shipshape-backup@${DB}$`));
    expect(r.stdout).toContain(pub);
    expect(await on(DB, 'stat -c %a /etc/shipshape-backup/id_ed25519 /etc/shipshape-backup/restic-password /etc/shipshape-backup/secrets')).toBe('600\n600\n600');
    const fingerprint = (await on(REPO, 'ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1];
    expect(r.stdout).toContain(fingerprint);
    expect(r.stdout).toContain(pinned ? 'pinned by backup_restic_host_key' : 'recorded on first contact');
    // the operator adds it on the repository side
    await on(REPO, `echo '${pub}' >/home/restic/.ssh/authorized_keys && chown restic: /home/restic/.ssh/authorized_keys && chmod 600 /home/restic/.ssh/authorized_keys`);
  });

  it('the job, run as cron runs it: a dump pg_restore reads, a snapshot off-site with the paths, pings, no secret anywhere', async () => {
    const r = await timed('cron run', () => cronRun());
    expect(r.code, r.stderr).toBe(0);
    const list = await on(DB, 'docker exec -i app-db pg_restore --list </var/backups/shipshape/current/pg-app-db-app.dump');
    expect(list).toMatch(/TABLE DATA public orders/);
    expect(list).toMatch(/TABLE DATA shop items/);
    expect(await on(DB, 'grep "^rows" /var/backups/shipshape/current/manifest')).toBe('rows app-db app public.orders 1000 1000\nrows app-db app shop.items 250 250');
    expect((await snapshots()).split(' ')).toHaveLength(1);
    const files = await restic('ls latest');
    expect(files).toContain('/srv/app/uploads/a.txt');
    expect(files).toContain('/var/backups/shipshape/current/pg-app-db-app.dump');
    expect(await pings()).toMatch(new RegExp(`^POST /ping/${SECRETS.ping}/start ${DB}: backup started\nPOST /ping/${SECRETS.ping} ${DB}: backup OK: snapshot [0-9a-f]{8}`));
    // the secrets: not in ps during the run, nor the log, the journal, the cron file
    expect(r.ps).toMatch(/restic|pg_dump/);
    noSecret('ps during a run', r.ps);
    noSecret('the log', await on(DB, 'cat /var/log/shipshape-backup.log'));
    noSecret('the journal', await on(DB, 'journalctl -q -t shipshape-backup --no-pager'));
    expect(await on(DB, 'journalctl -q -t shipshape-backup --no-pager')).toContain('backup OK');
    noSecret('the cron file', await on(DB, 'cat /etc/cron.d/shipshape-backup'));
    expect(await on(DB, 'stat -c %a /var/log/shipshape-backup.log')).toBe('600');
  });

  it('verify restores into a scratch PostgreSQL of the same major on no network, and passes', async () => {
    const r = await timed('verify', () => shipshape(['backup', 'verify', '-i', inv]));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verify OK: snapshot [0-9a-f]{8}.*1 database\(s\) restored .* 4 file\(s\) match their checksums/);
    // nothing left behind
    expect(await on(DB, 'docker ps -a --format "{{.Names}}"')).toBe('app-db');
    expect(await on(DB, 'ls /var/tmp | grep -c shipshape-verify || true')).toBe('0');
    const json = await shipshape(['backup', 'list', '-i', inv, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout).hosts[DB];
    expect(listed.ok).toBe(true);
    expect(listed.output).toMatch(/last run: ok/);
    noSecret('backup list --json', json.stdout);
  });

  it('two runs at once: the second exits at once, and no lock stays', async () => {
    const r = await on(DB, `(${PROGRAM} run >/dev/null 2>&1; echo "a=$?") & sleep 0.3; ${PROGRAM} run >/var/tmp/second.out 2>&1; echo "b=$?"; wait; cat /var/tmp/second.out`);
    expect(r).toMatch(/b=75/);
    expect(r).toMatch(/a=0/);
    expect(r).toContain('another shipshape-backup is running');
    expect(await on(DB, 'flock -n /var/lib/shipshape-backup/lock true && echo free')).toBe('free');
    expect(await on(REPO, `ls /srv/restic/${DB}/locks | wc -l`)).toBe('0');
  });

  it('a stopped database or a wrong password: non-zero, no new snapshot, the failure ping with the reason; the next good run succeeds', async () => {
    const before = await snapshots();
    await on(DB, `: >${PINGS}; docker stop app-db >/dev/null`);
    const stopped = await cronRun();
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('container app-db is not running');
    expect(await snapshots()).toBe(before);
    expect(await pings()).toMatch(new RegExp(`POST /ping/${SECRETS.ping}/fail ${DB}: app-db/app: container app-db is not running`));
    await on(DB, 'docker start app-db >/dev/null; for i in $(seq 120); do docker exec app-db psql -X -U app -d app -c "SELECT 1" >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1');

    const wrong = JSON.stringify([{ container: 'app-db', database: 'app', user: 'app', password: 'not-the-password' }]);
    await apply('apply a wrong password', ['-t', 'backup', '-e', `backup_postgres=${wrong}`]);
    await on(DB, `: >${PINGS}`);
    const refused = await cronRun();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/password authentication failed/);
    expect(await snapshots()).toBe(before);
    expect(await pings()).toMatch(/\/fail .*password authentication failed/);

    await apply('apply the right password', ['-t', 'backup']);
    // and the monitor is down: that never fails a backup
    await on(DB, stopStub);
    const good = await cronRun();
    expect(good.code, good.stderr).toBe(0);
    // a new snapshot (forget keeps one per day: the earlier one of today is gone)
    expect(await snapshots()).not.toBe(before);
    expect(await on(DB, 'tail -n 3 /var/log/shipshape-backup.log')).toContain('could not be sent');
    await on(DB, startStub);
  });

  it('retention: old local copies pruned, newer kept; off-site snapshots of several simulated days match the keep policy', async () => {
    await on(DB, 'cd /var/backups/shipshape && mkdir 2020-01-01T030000Z 2020-01-02T030000Z && touch -d "10 days ago" 2020-01-01T030000Z && touch -d "3 days ago" 2020-01-02T030000Z');
    const existing = JSON.parse(await restic('snapshots --json')) as { time: string }[];
    // newest first: an older snapshot never changes which newer ones the policy keeps
    const now = Date.now();
    const days = [1, 2, 9, 40, 70].map((d) => new Date(Math.floor((now - d * 86_400_000) / 3_600_000) * 3_600_000));
    for (const t of days) {
      const when = t.toISOString().slice(0, 19).replace('T', ' ');
      const r = await timed(`run of ${when}`, () => hostExec(DB, `${PROGRAM} run --time '${when}' >/dev/null`));
      expect(r.code, r.stderr).toBe(0);
    }
    const local = await on(DB, 'ls /var/backups/shipshape');
    expect(local).not.toContain('2020-01-01T030000Z');
    expect(local).toContain('2020-01-02T030000Z');
    const all = [...existing.map((s) => new Date(s.time)), ...days];
    const left = (JSON.parse(await restic('snapshots --json')) as { time: string }[]).map((s) => new Date(s.time).toISOString().slice(0, 19)).sort();
    expect(left).toEqual(keptByPolicy(all, KEEP));
    expect(left.length).toBeLessThan(all.length);
  });

  it('verify fails, naming what differs, once the newest off-site snapshot is corrupted', async () => {
    await on(REPO, `cp -a /srv/restic/${DB} /srv/restic/${DB}.good && python3 -c 'import glob,sys\nfor p in glob.glob(sys.argv[1] + "/data/*/*"):\n  b = bytearray(open(p, "rb").read())\n  for i in range(100, len(b), 512): b[i] ^= 0xff\n  open(p, "wb").write(b)' /srv/restic/${DB}`);
    const r = await timed('verify (corrupted)', () => shipshape(['backup', 'verify', '-i', inv]));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('verify FAILED');
    // restic names the file whose data is damaged, and the checksum comparison names it again
    expect(r.stdout).toMatch(/(\/srv\/app\/uploads\/b\.bin|pg-app-db-app\.dump).*(ciphertext verification failed|differs|missing)/);
    await on(REPO, `rm -rf /srv/restic/${DB} && mv /srv/restic/${DB}.good /srv/restic/${DB}`);
  });

  it('disaster drill: the database dropped and the local copies deleted, restore from off-site brings the rows back', async () => {
    await sql('DROP DATABASE app', 'postgres');
    await on(DB, 'rm -rf /var/backups/shipshape/* /srv/app/uploads');
    // no terminal and no --yes: refused before anything is touched
    const asked = await shipshape(['backup', 'restore', '-i', inv, '--database', 'app-db/app']);
    expect(asked.code).toBe(64);
    expect(asked.stderr).toContain('--yes');
    // a misspelt database: named with the ones there are, and the database is still dropped (nothing restored)
    const typo = await shipshape(['backup', 'restore', '-i', inv, '--database', 'app-db/ap', '--yes']);
    expect(typo.code).toBe(1);
    expect(typo.stdout).toContain('restore-db: app-db/ap is not a database of backup_postgres on this host (app-db/app)');
    expect(typo.stdout).not.toContain('restore-paths');
    expect(await on(DB, `docker exec app-db psql -X -A -t -U app -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'app'"`)).toBe('0');
    const r = await timed('restore database', () => shipshape(['backup', 'restore', '-i', inv, '--database', 'app-db/app', '--yes']));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await sql('SELECT count(*) FROM orders')).toBe('1000');
    expect(await sql('SELECT count(*) FROM shop.items')).toBe('250');
    const files = await shipshape(['backup', 'restore', '-i', inv, '--target', '/srv/restored', '--paths', '/srv/app', '--yes']);
    expect(files.code, files.stdout + files.stderr).toBe(0);
    expect(await on(DB, 'cat /srv/restored/srv/app/uploads/a.txt')).toBe('invoice 42');
  });
});

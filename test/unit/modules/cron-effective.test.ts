/**
 * Cron as cron will run it: which tables cron reads (against what Debian's cron did on lab hosts,
 * test/unit/fixtures/cron-oracle.json), the probe's output parsed, and the drift judged for the
 * backup's cron entry: cron stopped or masked, a second schedule in a user's crontab or another
 * cron.d file, the entry's own file ignored, edited, or its environment changed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { cronState, parseCronState, type CronState, type CronTable } from '../../../src/facts/cron-tables.js';
import { sysctlFiles } from '../../../src/facts/sysctl-files.js';
import { cronJobs, crlfLines, ignoredBecause, judgeCron } from '../../../src/modules/cron-effective.js';
import { renderCron, CRON_FILE, PROGRAM } from '../../../roles/backup/config.js';
import { planFor } from '../helpers/plan.js';

interface OracleFile { name: string; owner: string; mode: string; links: number; content: string; ran: boolean }
const oracle = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cron-oracle.json'), 'utf8')) as { files: OracleFile[] };

const table = (path: string, content: string, o: Partial<CronTable> = {}): CronTable => ({ path, kind: 'system', owner: 'root', mode: '644', links: 1, type: 'regular file', content, ...o });
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('which cron.d files cron reads (as Debian 12 and 13 cron did)', () => {
  it.each(oracle.files.map((f) => [f.name, f] as const))('%s', (_n, f) => {
    const t = table(`/etc/cron.d/${f.name}`, f.content, { owner: f.owner, mode: f.mode, links: f.links });
    // a job that ran with a bad PATH was read all right: reading is what is judged here
    const read = f.ran || f.name === 'pathov';
    expect(ignoredBecause(t) === undefined, ignoredBecause(t)).toBe(read);
  });

  it('a spool crontab must be its user\'s and 0600', () => {
    const spool = (o: Partial<CronTable>) => table('/var/spool/cron/crontabs/bob', '* * * * * true\n', { kind: 'user', user: 'bob', owner: 'bob', mode: '600', ...o });
    expect(ignoredBecause(spool({}))).toBeUndefined();
    expect(ignoredBecause(spool({ owner: 'root' }))).toMatch(/WRONG FILE OWNER/);
    expect(ignoredBecause(spool({ mode: '644' }))).toMatch(/INSECURE MODE/);
  });

  it('a carriage return stays in the command', () => {
    expect(crlfLines('SHELL=/bin/sh\r\n* * * * * root x\r\nok\n')).toEqual([1, 2]);
    expect(cronJobs(table('/etc/cron.d/x', 'PATH=/a\r\n*/5 * * * * root run it\r\n'))).toEqual([
      { path: '/etc/cron.d/x', line: 2, schedule: '*/5 * * * *', user: 'root', command: 'run it', env: { PATH: '/a' } },
    ]);
  });
});

/** A probe run here, through the same batch script a host gets. */
function probeLocally<T>(p: Probe<T>): T {
  const nonce = newNonce();
  const batch = { probes: [p] };
  const r = spawnSync('sh', ['-c', renderBatch(batch, nonce)], { encoding: 'utf8' });
  const section = parseBatch(r.stdout, batch, nonce).probes.get(p.id)!;
  return p.parse(section.stdout, section.code);
}

describe('the cron probe', () => {
  it('run on this machine, names only files that exist, with their exact contents', () => {
    for (const t of probeLocally(cronState).tables) {
      expect(existsSync(t.path), t.path).toBe(true);
      if (t.kind === 'system') expect(t.content).toBe(readFileSync(t.path, 'utf8'));
    }
    for (const f of probeLocally(sysctlFiles)) expect(f.content, f.path).toBe(readFileSync(f.path, 'utf8'));
  });

  it('parses the service state and every table, contents exact (base64: no forged lines, CR and missing newline kept)', () => {
    const out = [
      'ActiveState=inactive',
      'UnitFileState=masked',
      `T root 644 1 regular_file ${b64('a\r\nb')} /etc/cron.d/x`,
      `T bob 600 1 regular_file ${b64('T root 644 1 regular_file  /etc/cron.d/forged\n')} /var/spool/cron/crontabs/bob`,
      `T root 644 1 regular_file  /etc/cron.d/empty`,
    ].join('\n');
    const s = parseCronState(out);
    expect(s.service).toEqual({ enabled: 'masked', active: 'inactive' });
    expect(s.tables.map((t) => t.path)).toEqual(['/etc/cron.d/x', '/var/spool/cron/crontabs/bob', '/etc/cron.d/empty']);
    expect(s.tables[0].content).toBe('a\r\nb');
    expect(s.tables[1]).toMatchObject({ kind: 'user', user: 'bob', owner: 'bob' });
    expect(parseCronState('').service).toBeUndefined();
  });
});

const OURS = renderCron('17 3 * * *', undefined);
const running = { enabled: 'enabled', active: 'active' };
const args = { path: CRON_FILE, content: OURS, program: PROGRAM };
const plan = (state: CronState) => planFor('backup_cron', args, { cron: state });

describe('backup_cron: the backup entry as cron will run it', () => {
  it('as declared, cron running, nothing else runs the program: no change, and says so', () => {
    const p = plan({ service: running, tables: [table('/etc/crontab', 'SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n'), table(CRON_FILE, OURS)] });
    expect(p.steps).toEqual([]);
    expect(p.reason).toMatch(/read by cron as declared, cron is running/);
  });

  it('cron masked and stopped: unmasked, enabled and started, with the unit as the place', () => {
    const p = plan({ service: { enabled: 'masked', active: 'inactive' }, tables: [table(CRON_FILE, OURS)] });
    expect(p.steps).toEqual([{ kind: 'run', argv: ['systemctl', 'unmask', 'cron.service'] }, { kind: 'run', argv: ['systemctl', 'enable', '--now', 'cron.service'] }]);
    expect(p.drift).toEqual([expect.objectContaining({ what: 'cron.service is masked and inactive', where: 'systemd unit cron.service (masked, inactive)' })]);
  });

  it("a second schedule in root's crontab: that line is commented out through crontab(1), the header not fed back", () => {
    const spool = '# DO NOT EDIT THIS FILE - edit the master and reinstall.\n# (- installed on Sat Nov 28 21:00:00 2026)\n# (Cron version -- $Id: crontab.c,v 2.13 1994/01/17 03:20:37 vixie Exp $)\nMAILTO=me\n0 12 * * * /usr/local/sbin/shipshape-backup run\n5 * * * * other\n';
    const p = plan({ service: running, tables: [table(CRON_FILE, OURS), table('/var/spool/cron/crontabs/root', spool, { kind: 'user', user: 'root', mode: '600' })] });
    expect(p.drift).toHaveLength(1);
    expect(p.drift![0]).toMatchObject({ where: "root's crontab:2 (crontab -l -u root)", what: expect.stringContaining('"0 12 * * * /usr/local/sbin/shipshape-backup run" as root') });
    expect(p.steps).toEqual([
      { kind: 'run', argv: ['crontab', '-u', 'root', '-'], input: 'MAILTO=me\n# disabled by shipshape (it ran the backup program (shipshape-backup) a second time): 0 12 * * * /usr/local/sbin/shipshape-backup run\n5 * * * * other\n' },
    ]);
  });

  it('another cron.d file running it is commented out in place; a file cron ignores is not a second schedule', () => {
    const p = plan({
      service: running,
      tables: [table(CRON_FILE, OURS), table('/etc/cron.d/old-backup', '30 1 * * * root shipshape-backup run\n'), table('/etc/cron.d/gw', '30 1 * * * root shipshape-backup run\n', { mode: '664' })],
    });
    expect(p.drift!.map((d) => d.where)).toEqual(['/etc/cron.d/old-backup:1']);
    expect(p.steps).toEqual([{ kind: 'write', path: '/etc/cron.d/old-backup', content: expect.stringMatching(/^# disabled by shipshape .*: 30 1 \* \* \* root shipshape-backup run\n$/) }]);
  });

  it.each([
    ['group-writable', { mode: '664' }, OURS, /cron ignores \/etc\/cron\.d\/shipshape-backup: its mode is 0664/],
    ['owned by someone else', { owner: 'bob' }, OURS, /WRONG FILE OWNER/],
    ['no final newline', {}, OURS.replace(/\n$/, ''), /Missing newline before EOF/],
    ['CRLF', {}, OURS.replace(/\n/g, '\r\n'), /end in a carriage return/],
    ['schedule changed', {}, OURS.replace('17 3 * * *', '0 12 * * *'), /runs at "0 12 \* \* \*" as root, declared "17 3 \* \* \*"/],
    ['PATH changed', {}, OURS.replace(/^PATH=.*$/m, 'PATH=/tmp'), /PATH="\/tmp" for "\/usr\/local\/sbin\/shipshape-backup run >\/dev\/null"/],
    ['MAILTO silenced', {}, OURS.replace('SHELL=/bin/sh', 'SHELL=/bin/sh\nMAILTO=""'), /MAILTO="" for/],
    ['the job line removed', {}, OURS.replace(/^17 .*\n/m, ''), /no line of \/etc\/cron\.d\/shipshape-backup runs/],
  ] as const)('our file %s: rewritten, with what cron makes of it', (_n, attrs, content, what) => {
    const p = plan({ service: running, tables: [table(CRON_FILE, content, attrs)] });
    expect(p.steps).toEqual([{ kind: 'write', path: CRON_FILE, content: OURS, mode: '0644', owner: 'root', group: 'root' }]);
    expect(p.drift!.map((d) => d.what).join('\n')).toMatch(what);
    expect(p.drift!.every((d) => d.where.startsWith(CRON_FILE))).toBe(true);
  });

  it('missing: written', () => {
    const p = plan({ service: running, tables: [] });
    expect(p.drift).toEqual([expect.objectContaining({ what: `${CRON_FILE} is missing`, where: CRON_FILE })]);
  });

  it('judgeCron without a service answer (no systemctl) or without cron installed judges the tables only', () => {
    expect(judgeCron({ tables: [] }, { path: CRON_FILE, label: 'x', same: () => true }).steps).toEqual([]);
    expect(judgeCron({ service: { enabled: '', active: 'inactive' }, tables: [] }, { path: CRON_FILE, label: 'x', same: () => true }).steps).toEqual([]);
  });
});

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/core/module.js';
import { renderStep } from '../../../src/core/step.js';
import cron from '../../../src/modules/cron.js';
import { debian12, sshAccess } from '../helpers/plan.js';

function plan(args: unknown, facts: Record<string, unknown>, check = false): Plan {
  const a = cron.schema.parse(args);
  // the cron service and the other tables, unless a test gives them: running, nothing else
  if ('cron' in cron.facts(a) && !('cron' in facts)) facts = { ...facts, cron: { service: { enabled: 'enabled', active: 'active' }, tables: [] } };
  expect(Object.keys(facts).sort()).toEqual(Object.keys(cron.facts(a)).sort());
  return cron.plan(a, facts as never, { host: debian12, access: sshAccess, check });
}
const ok = (content: string) => ({ crontab: { status: 'ok', content } });
const none = { crontab: { status: 'none', content: '' } };
/** The crontab a plan installs (the stdin of `crontab -u USER -`). */
const installed = (p: Plan) => {
  const s = p.steps[0];
  return s?.kind === 'run' && s.argv.join(' ').endsWith(' -') ? s.input : undefined;
};

const backup = { name: 'backup', minute: 0, hour: 3, job: '/usr/local/bin/backup.sh' };
const HEADER = '# m h  dom mon dow   command\n';

describe('cron module: user crontabs', () => {
  it('adds a job to an empty crontab through crontab -u USER -', () => {
    const p = plan(backup, none);
    expect(p.steps).toEqual([{ kind: 'run', argv: ['crontab', '-u', 'root', '-'], input: '#shipshape: backup\n0 3 * * * /usr/local/bin/backup.sh\n' }]);
    expect(p.reason).toBe(`root's crontab: add cron job "backup"`);
    expect(p.diff).toEqual([{ subject: 'crontab of root', before: '', after: '#shipshape: backup\n0 3 * * * /usr/local/bin/backup.sh\n' }]);
  });

  it.each([
    ['the job is there', backup, `${HEADER}#shipshape: backup\n0 3 * * * /usr/local/bin/backup.sh\n`, `cron job "backup" is already in root's crontab as wanted`],
    ['an Ansible-written entry matches (no marker churn)', backup, `#Ansible: backup\n0 3 * * * /usr/local/bin/backup.sh\n`, `cron job "backup" is already in root's crontab as wanted`],
    ['the job is disabled as wanted', { ...backup, disabled: true }, `#shipshape: backup\n#0 3 * * * /usr/local/bin/backup.sh\n`, `cron job "backup" is already in root's crontab as wanted`],
    ['an absent job is not there', { name: 'backup', state: 'absent' }, `${HEADER}@reboot /bin/true\n`, `cron job "backup" is not in root's crontab`],
    ['a variable has the value, quoted or not', { name: 'PATH', env: true, job: '/usr/bin:/bin' }, `PATH=/usr/bin:/bin\n${HEADER}`, `variable PATH is already in root's crontab as wanted`],
    ['an absent variable is not set', { name: 'MAILTO', env: true, state: 'absent' }, HEADER, `variable MAILTO is not in root's crontab`],
  ])('does nothing when %s, and says why', (_, args, content, reason) => {
    const p = plan(args, ok(content));
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe(reason);
  });

  it('updates a changed schedule in place, keeping an #Ansible: marker', () => {
    const p = plan({ ...backup, hour: 4 }, ok(`${HEADER}#Ansible: backup\n0 3 * * * /usr/local/bin/backup.sh\n@reboot /bin/true\n`));
    expect(installed(p)).toBe(`${HEADER}#Ansible: backup\n0 4 * * * /usr/local/bin/backup.sh\n@reboot /bin/true\n`);
    expect(p.reason).toBe(`root's crontab: update cron job "backup": 0 3 * * * /usr/local/bin/backup.sh -> 0 4 * * * /usr/local/bin/backup.sh`);
  });

  it('removes duplicate entries of one name, from either tool', () => {
    const p = plan(backup, ok(`#Ansible: backup\n0 3 * * * /usr/local/bin/backup.sh\n#shipshape: backup\n0 3 * * * /usr/local/bin/backup.sh\n`));
    expect(installed(p)).toBe(`#Ansible: backup\n0 3 * * * /usr/local/bin/backup.sh\n`);
    expect(p.reason).toBe(`root's crontab: remove 1 duplicate cron job "backup" entry`);
  });

  it('names an identical hand-written job line instead of adding a second one', () => {
    const p = plan(backup, ok(`${HEADER}0 3 * * * /usr/local/bin/backup.sh\n`));
    expect(installed(p)).toBe(`${HEADER}#shipshape: backup\n0 3 * * * /usr/local/bin/backup.sh\n`);
  });

  it('writes @special times and disabled jobs', () => {
    expect(installed(plan({ name: 'warm', special_time: 'reboot', job: '/bin/warm' }, none))).toBe('#shipshape: warm\n@reboot /bin/warm\n');
    expect(installed(plan({ ...backup, disabled: true }, none))).toBe('#shipshape: backup\n#0 3 * * * /usr/local/bin/backup.sh\n');
  });

  it('removes a job, and the whole crontab when nothing is left', () => {
    const both = `#shipshape: backup\n0 3 * * * /usr/local/bin/backup.sh\n#shipshape: warm\n@reboot /bin/warm\n`;
    const p = plan({ name: 'backup', state: 'absent' }, ok(both));
    expect(installed(p)).toBe('#shipshape: warm\n@reboot /bin/warm\n');
    expect(p.reason).toBe(`root's crontab: remove cron job "backup"`);
    const q = plan({ name: 'warm', state: 'absent' }, ok('#shipshape: warm\n@reboot /bin/warm\n'));
    expect(q.steps).toEqual([{ kind: 'run', argv: ['crontab', '-u', 'root', '-r'] }]);
  });

  it('puts a new variable first, and replaces a different value', () => {
    expect(installed(plan({ name: 'MAILTO', env: true, job: 'ops@example.com' }, ok(`${HEADER}@reboot /bin/true\n`)))).toBe(
      `MAILTO="ops@example.com"\n${HEADER}@reboot /bin/true\n`,
    );
    const p = plan({ name: 'MAILTO', env: true, job: 'ops@example.com' }, ok(`MAILTO=root\n`));
    expect(installed(p)).toBe(`MAILTO="ops@example.com"\n`);
    expect(p.reason).toBe(`root's crontab: set variable MAILTO: root -> "ops@example.com"`);
  });

  it('plans on a fresh host where cron or the user is not there yet (check)', () => {
    for (const status of ['no-cron', 'unknown-user']) {
      const p = plan({ ...backup, user: 'deploy' }, { crontab: { status, content: '' } }, true);
      expect(p.fail).toBeUndefined();
      expect(p.steps[0]).toMatchObject({ argv: ['crontab', '-u', 'deploy', '-'] });
    }
  });

  it('fails when crontab refuses to answer, with a hint for privileges', () => {
    const p = plan({ ...backup, user: 'deploy' }, { crontab: { status: 'error', content: '', error: 'must be privileged to use -u' } });
    expect(p.steps).toEqual([]);
    expect(p.fail).toBe(`cannot read deploy's crontab: must be privileged to use -u (run the task with become: true)`);
  });

  it('passes a hostile job through sh to crontab byte for byte', () => {
    const job = `echo "$(date +\\%s)" 'it'"'"'s' \`id\` > /tmp/x; rm -rf "$HOME"/tmp`;
    const p = plan({ name: "it's $(x)", job }, none);
    const s = p.steps[0];
    if (s.kind !== 'run') throw new Error('run step expected');
    // the same rendering with cat in crontab's place shows exactly what crontab would read
    const r = spawnSync('sh', ['-c', renderStep({ ...s, argv: ['cat'] })], { encoding: 'utf8' });
    expect(r.stdout).toBe(`#shipshape: it's $(x)\n* * * * * ${job}\n`);
  });
});

describe('cron module: /etc/cron.d files', () => {
  const file = (content: string, extra = {}) => ({ file: { exists: true, type: 'file', mode: '644', owner: 'root', group: 'root', size: content.length, content, ...extra } });

  it('writes a cron.d file with the user field, root-owned 0644', () => {
    const p = plan({ ...backup, cron_file: 'backup', user: 'backup' }, { file: { exists: false } });
    expect(p.steps).toEqual([
      { kind: 'write', path: '/etc/cron.d/backup', content: '#shipshape: backup\n0 3 * * * backup /usr/local/bin/backup.sh\n', mode: '0644', owner: 'root', group: 'root' },
    ]);
    expect(p.reason).toBe('/etc/cron.d/backup: add cron job "backup"');
  });

  it('does nothing when the file has the job, and says why', () => {
    const p = plan({ ...backup, cron_file: 'backup' }, file('#shipshape: backup\n0 3 * * * root /usr/local/bin/backup.sh\n'));
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('cron job "backup" is already in /etc/cron.d/backup as wanted');
  });

  it('rewrites a file cron would skip for its mode', () => {
    const p = plan({ ...backup, cron_file: 'backup' }, file('#shipshape: backup\n0 3 * * * root /usr/local/bin/backup.sh\n', { mode: '664' }));
    expect(p.steps[0]).toMatchObject({ kind: 'write', mode: '0644' });
    expect(p.reason).toMatch(/fix mode and owner of \/etc\/cron.d\/backup \(was 664 root:root\)/);
  });

  it('removes the file when its last job goes', () => {
    const p = plan({ name: 'backup', cron_file: 'backup', state: 'absent' }, file('#shipshape: backup\n0 3 * * * root /usr/local/bin/backup.sh\n'));
    expect(p.steps).toEqual([{ kind: 'run', argv: ['rm', '-f', '--', '/etc/cron.d/backup'] }]);
    expect(p.reason).toBe('/etc/cron.d/backup: remove cron job "backup" (nothing left: file removed)');
  });

  it('does nothing for an absent job in a missing file, and says why', () => {
    const p = plan({ name: 'backup', cron_file: 'backup', state: 'absent' }, { file: { exists: false } });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('cron job "backup" is not in /etc/cron.d/backup');
  });
});

describe('cron module: arguments', () => {
  it.each([
    [{ name: 'x' }, /job is required/],
    [{ name: 'x', job: 'a', special_time: 'daily', hour: 3 }, /either special_time/],
    [{ name: 'x', job: 'a', cron_file: 'app.cron' }, /cron ignores/],
    [{ name: 'x', job: 'a\nb' }, /single line/],
    [{ name: 'x', job: 'a', minute: '0 5' }, /one word/],
    [{ name: 'A B', job: 'x', env: true }, /variable name/],
  ])('refuses %j', (args, message) => {
    expect(() => cron.schema.parse(args)).toThrow(message);
  });

  it('reads YAML numbers as cron fields', () => {
    expect(cron.schema.parse({ name: 'x', job: 'a', minute: 0, hour: 5 })).toMatchObject({ minute: '0', hour: '5', day: '*' });
  });
});

describe('cron module: the job as cron will run it', () => {
  const T = (path: string, content: string, o: Record<string, unknown> = {}) => ({ path, kind: 'system', owner: 'root', mode: '644', links: 1, type: 'regular file', content, ...o });
  const running = { enabled: 'enabled', active: 'active' };
  const line = '#shipshape: backup\n0 3 * * * /usr/local/bin/backup.sh\n';

  it('cron masked: the job is in place but would never run; unmasked, enabled and started', () => {
    const p = plan(backup, { ...ok(line), cron: { service: { enabled: 'masked', active: 'inactive' }, tables: [] } });
    expect(p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind))).toEqual(['systemctl unmask cron.service', 'systemctl enable --now cron.service']);
    expect(p.drift![0].where).toBe('systemd unit cron.service (masked, inactive)');
  });

  it('the same job in another table is a twin: commented out there, ours kept', () => {
    const p = plan(backup, { ...ok(line), cron: { service: running, tables: [T('/etc/cron.d/legacy', '0 4 * * * root /usr/local/bin/backup.sh\n')] } });
    expect(p.drift!.map((d) => d.where)).toEqual(['/etc/cron.d/legacy:1']);
    expect(p.steps).toEqual([{ kind: 'write', path: '/etc/cron.d/legacy', content: expect.stringMatching(/^# disabled by shipshape \(it ran cron job "backup" a second time\): 0 4/) }]);
  });

  it('a cron.d file without its final newline or with CRLF is rewritten: cron would ignore it or keep the \\r', () => {
    const cronFile = { ...backup, cron_file: 'backup' };
    const body = '#shipshape: backup\n0 3 * * * root /usr/local/bin/backup.sh\n';
    for (const content of [body.replace(/\n$/, ''), body.replace(/\n/g, '\r\n')]) {
      const file = { file: { exists: true, type: 'file', mode: '644', owner: 'root', group: 'root', content } };
      const p = plan(cronFile, { ...file, cron: { service: running, tables: [T('/etc/cron.d/backup', content)] } });
      expect(p.steps).toEqual([{ kind: 'write', path: '/etc/cron.d/backup', content: body, mode: '0644', owner: 'root', group: 'root' }]);
      expect(p.drift![0]).toMatchObject({ where: '/etc/cron.d/backup', what: expect.stringMatching(/Missing newline|carriage return/) });
    }
  });

  it("a user's spool crontab cron ignores (mode 0644) is installed again through crontab(1)", () => {
    const p = plan(backup, { ...ok(line), cron: { service: running, tables: [T('/var/spool/cron/crontabs/root', line, { kind: 'user', user: 'root', mode: '644' })] } });
    expect(installed(p)).toBe(line);
    expect(p.drift![0].what).toMatch(/cron ignores \/var\/spool\/cron\/crontabs\/root: its mode is 0644/);
  });
});

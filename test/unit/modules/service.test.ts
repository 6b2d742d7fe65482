import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/core/module.js';
import { parseSystemctlShow } from '../../../src/facts/systemd.js';
import service, { parseStartedSince } from '../../../src/modules/service.js';
import { parseSshSocket } from '../../../src/facts/ssh-socket.js';
import { debian12, sshAccess } from '../helpers/plan.js';

function plan(args: unknown, facts: Record<string, unknown>, check = false, willWrite?: string[]): Plan {
  const a = service.schema.parse(args);
  expect(Object.keys(facts).sort()).toEqual(Object.keys(service.facts(a)).sort());
  return service.plan(a, facts as never, { host: debian12, access: sshAccess, check, ...(willWrite ? { willWrite: new Set(willWrite) } : {}) });
}
const argv = (p: Plan) => p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind));

/** A unit as `systemctl show` reports it, through the real parser. */
const unit = (id: string, load: string, active: string, sub: string, file: string, reload = 'no') =>
  parseSystemctlShow(`Id=${id}\nLoadState=${load}\nActiveState=${active}\nSubState=${sub}\nUnitFileState=${file}\nNeedDaemonReload=${reload}\n`, 0);

const running = unit('nginx.service', 'loaded', 'active', 'running', 'enabled');
const stopped = unit('nginx.service', 'loaded', 'inactive', 'dead', 'disabled');
const failed = unit('nginx.service', 'loaded', 'failed', 'failed', 'enabled');
const missing = unit('nginx.service', 'not-found', 'inactive', 'dead', '');
const masked = unit('nginx.service', 'masked', 'inactive', 'dead', 'masked');
const staticUnit = unit('systemd-journald.service', 'loaded', 'active', 'running', 'static');
const changedOnDisk = unit('nginx.service', 'loaded', 'active', 'running', 'enabled', 'yes');

describe('service module plans', () => {
  it.each([
    ['starts and enables a stopped, disabled unit', { state: 'started', enabled: true }, stopped, ['systemctl enable nginx.service', 'systemctl start nginx'], 'enable nginx.service; start nginx'],
    ['starts a failed unit', { state: 'started' }, failed, ['systemctl start nginx'], 'start nginx'],
    ['stops and disables a running unit', { state: 'stopped', enabled: false }, running, ['systemctl disable nginx.service', 'systemctl stop nginx'], 'disable nginx.service; stop nginx'],
    ['always restarts a running unit', { state: 'restarted' }, running, ['systemctl restart nginx'], 'restart nginx'],
    ['always reloads a running unit', { state: 'reloaded' }, running, ['systemctl reload nginx'], 'reload nginx'],
    ['starts a stopped unit asked to restart', { state: 'restarted' }, stopped, ['systemctl start nginx'], 'start nginx (it was not running)'],
    ['starts a stopped unit asked to reload', { state: 'reloaded' }, stopped, ['systemctl start nginx'], 'start nginx (it was not running)'],
    ['reloads systemd first when the unit file changed', { state: 'restarted', daemon_reload: true }, changedOnDisk, ['systemctl daemon-reload', 'systemctl restart nginx'], 'reload systemd (unit files changed); restart nginx'],
    ['unmasks, enables and starts a masked unit', { state: 'started', enabled: true, masked: false }, masked, ['systemctl unmask nginx.service', 'systemctl enable nginx.service', 'systemctl start nginx'], 'unmask nginx.service; enable nginx.service; start nginx'],
    ['masks and stops a running unit', { state: 'stopped', masked: true }, running, ['systemctl mask nginx.service', 'systemctl stop nginx'], 'mask nginx.service; stop nginx'],
  ])('%s', (_, args, u, steps, reason) => {
    const p = plan({ name: 'nginx', ...args }, { unit: u });
    expect(argv(p)).toEqual(steps);
    expect(p.reason).toBe(reason);
  });

  it.each([
    ['a running, enabled unit', { state: 'started', enabled: true }, running, 'nginx needs nothing: enabled, active (running)'],
    ['a stopped, disabled unit', { state: 'stopped', enabled: false }, stopped, 'nginx needs nothing: disabled, stopped (inactive)'],
    ['a failed unit asked to stay stopped', { state: 'stopped' }, failed, 'nginx needs nothing: stopped (failed)'],
    ['a unit not installed, asked to be stopped and disabled', { state: 'stopped', enabled: false }, missing, 'nginx needs nothing: not installed'],
    ['a masked unit asked to stay masked and stopped', { state: 'stopped', masked: true, enabled: false }, masked, 'nginx needs nothing: masked, stopped (inactive)'],
    ['a static unit asked to be enabled', { enabled: true, state: 'started' }, staticUnit, 'nginx needs nothing: static (nothing to enable or disable), active (running)'],
    ['daemon_reload with nothing changed on disk', { daemon_reload: true, state: 'started' }, running, 'nginx needs nothing: unit files up to date, active (running)'],
  ])('does nothing for %s, and says why', (_, args, u, reason) => {
    const p = plan({ name: 'nginx', ...args }, { unit: u });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe(reason);
  });

  it('plans enable and start for a unit an earlier task installs (check on a fresh host)', () => {
    const p = plan({ name: 'nginx', state: 'started', enabled: true }, { unit: missing }, true);
    expect(p.fail).toBeUndefined();
    expect(argv(p)).toEqual(['systemctl enable nginx.service', 'systemctl start nginx']);
    expect(p.reason).toBe('enable nginx.service (not installed yet); start nginx (not installed yet)');
    expect(p.diff).toEqual([{ subject: 'service nginx', before: 'inactive, not installed\n', after: 'active, enabled\n' }]);
  });

  it('enables an alias by its unit name, which systemctl enable requires', () => {
    const ssh = unit('ssh.service', 'loaded', 'active', 'running', 'disabled');
    const socket = parseSshSocket('Id=ssh.socket\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\n', 0);
    expect(argv(plan({ name: 'sshd', enabled: true }, { unit: ssh, socket }))).toEqual(['systemctl enable ssh.service']);
  });

  it('shows state changes as a diff, and none for a restart', () => {
    expect(plan({ name: 'nginx', state: 'started' }, { unit: stopped }).diff).toEqual([
      { subject: 'service nginx', before: 'inactive, disabled\n', after: 'active, disabled\n' },
    ]);
    expect(plan({ name: 'nginx', state: 'restarted' }, { unit: running }).diff).toBeUndefined();
  });

  it('fails on a masked unit asked to run or be enabled, pointing at masked: false', () => {
    expect(plan({ name: 'nginx', state: 'started' }, { unit: masked }).fail).toMatch(/masked.*masked: false/);
    expect(plan({ name: 'nginx', enabled: true }, { unit: masked }).fail).toMatch(/masked: false/);
  });

  it('fails where systemd does not run, with systemctl\'s reason', () => {
    const none = parseSystemctlShow("System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n", 1);
    const p = plan({ name: 'nginx', state: 'started' }, { unit: none });
    expect(p.steps).toEqual([]);
    expect(p.fail).toMatch(/not been booted with systemd.*systemd units only/);
  });

  it('refuses contradictions and empty tasks in the schema', () => {
    expect(() => service.schema.parse({ name: 'nginx' })).toThrow(/at least one of/);
    expect(() => service.schema.parse({ name: 'nginx', masked: true, state: 'started' })).toThrow(/masked unit/);
    expect(() => service.schema.parse({ name: 'nginx; reboot', state: 'started' })).toThrow(/unit name/);
    expect(() => service.schema.parse({ name: 'nginx', state: 'running' })).toThrow();
  });
});

describe('service drift', () => {
  it('a unit masked by hand, with masked: false declared: unmask, enable, start, each a difference with its fix', () => {
    const p = plan({ name: 'nginx', state: 'started', enabled: true, masked: false }, { unit: masked });
    expect(argv(p)).toEqual(['systemctl unmask nginx.service', 'systemctl enable nginx.service', 'systemctl start nginx']);
    expect(p.drift?.map((d) => d.what)).toEqual(['nginx.service is masked', 'nginx.service is masked', 'nginx.service is inactive (dead)']);
    expect(p.drift?.[0]).toMatchObject({ fix: 'systemctl unmask nginx.service', where: expect.stringMatching(/systemctl mask/) });
  });

  it('a stopped unit says what, why and the command', () => {
    const p = plan({ name: 'nginx', state: 'started' }, { unit: failed });
    expect(p.drift).toEqual([{ what: 'nginx.service is failed (failed)', why: expect.stringMatching(/declared running/), where: 'systemd unit nginx.service', fix: 'systemctl start nginx' }]);
  });

  it('handlers (restarted) are actions, not drift: the plan leaves the wording to the engine', () => {
    expect(plan({ name: 'nginx', state: 'restarted' }, { unit: running }).drift).toBeUndefined();
  });
});

describe('service restart_after: started after its files last changed', () => {
  // the facts as systemctl show (ActiveEnterTimestamp, --timestamp=unix --value) and stat -c '%Y %n' print them
  const since = (started: number, mtime: number) => ({ since: `@${started}\n`, mtime0: `${mtime} /etc/fail2ban/jail.d/shipshape.local\n` });
  const args = { name: 'nginx', state: 'started', restart_after: ['/etc/fail2ban/jail.d/shipshape.local'] };

  it('restarts a unit that started before the file changed, naming the file as the cause', () => {
    const p = plan(args, { unit: running, ...since(1000, 2000) });
    expect(argv(p)).toEqual(['systemctl restart nginx']);
    expect(p.drift?.[0]).toMatchObject({ where: '/etc/fail2ban/jail.d/shipshape.local', fix: 'systemctl restart nginx' });
  });

  it('leaves a unit alone that started after (or in the same second as) the change', () => {
    expect(argv(plan(args, { unit: running, ...since(2000, 2000) }))).toEqual([]);
    expect(argv(plan(args, { unit: running, ...since(3000, 2000) }))).toEqual([]);
  });

  it("check predicts the restart an earlier task's rewrite of the file will cause", () => {
    expect(argv(plan(args, { unit: running, ...since(3000, 2000) }, true, ['/etc/fail2ban/jail.d/shipshape.local']))).toEqual(['systemctl restart nginx']);
    expect(argv(plan(args, { unit: running, ...since(3000, 2000) }, true, ['/etc/other']))).toEqual([]);
  });

  it('a stopped unit is started, once: starting reads the file anyway', () => {
    expect(argv(plan(args, { unit: stopped, since: '\n', mtime0: '5 /etc/fail2ban/jail.d/shipshape.local\n' }))).toEqual(['systemctl start nginx']);
  });
});

describe('parseStartedSince', () => {
  it('reads the start time and the newest of the files, the first one on a tie', () => {
    expect(parseStartedSince('@1700000000\n', ['1700000100 /a\n', '', '1700000100 /b\n', '1600000000 /c\n'])).toEqual({ started: 1700000000, changed: { path: '/a', mtime: 1700000100 } });
  });
  it('a unit that never started (empty value) has no start time; missing files print nothing', () => {
    expect(parseStartedSince('\n', ['', ''])).toEqual({});
  });
});

import { probeLocally } from '../helpers/probe.js';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import { parseSystemctlShow, unitBatcher, unitStarted, unitState, UNIT_NAME } from '../../../src/facts/systemd.js';

// `systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload -- NAME` on Debian 12
const recorded = {
  sshRunning: 'Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nNeedDaemonReload=no\n',
  /** asked as sshd: the alias resolves to ssh.service */
  sshdAlias: 'Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nNeedDaemonReload=no\n',
  notFound: 'Id=nginx.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nNeedDaemonReload=no\n',
  masked: 'Id=apache2.service\nLoadState=masked\nActiveState=inactive\nSubState=dead\nUnitFileState=masked\nNeedDaemonReload=no\n',
  failed: 'Id=app.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\nNeedDaemonReload=yes\n',
  staticUnit: 'Id=systemd-journald.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=static\nNeedDaemonReload=no\n',
  /** a container or chroot whose PID 1 is not systemd: exit 1, the reason on stderr (folded into stdout) */
  noSystemd: "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n",
};

describe('systemctl show', () => {
  it('parses a running, enabled unit', () => {
    expect(parseSystemctlShow(recorded.sshRunning, 0)).toEqual({
      available: true,
      id: 'ssh.service',
      loadState: 'loaded',
      activeState: 'active',
      subState: 'running',
      unitFileState: 'enabled',
      needDaemonReload: false,
    });
  });

  it('parses a unit that is not installed: exit 0, LoadState=not-found, no unit file state', () => {
    expect(parseSystemctlShow(recorded.notFound, 0)).toMatchObject({ available: true, loadState: 'not-found', unitFileState: '' });
  });

  it('parses masked, failed and static units, and a pending daemon-reload', () => {
    expect(parseSystemctlShow(recorded.masked, 0)).toMatchObject({ loadState: 'masked', unitFileState: 'masked' });
    expect(parseSystemctlShow(recorded.failed, 0)).toMatchObject({ activeState: 'failed', needDaemonReload: true });
    expect(parseSystemctlShow(recorded.staticUnit, 0)).toMatchObject({ unitFileState: 'static' });
  });

  it('reports systemctl failing (no systemd as PID 1) with its reason', () => {
    expect(parseSystemctlShow(recorded.noSystemd, 1)).toEqual({
      available: false,
      error: "System has not been booted with systemd as init system (PID 1). Can't operate.; Failed to connect to bus: Host is down",
    });
    expect(parseSystemctlShow('', 127)).toEqual({ available: false, error: 'systemctl show exited with 127' });
  });

  it('names the question by unit and quotes it', () => {
    expect(unitState('nginx').id).toBe('systemd-unit:nginx');
    expect(unitState('getty@tty1.service').script).toContain('-- getty@tty1.service');
    expect(unitState("a'b").script).toContain(`'a'\\''b'`);
  });

  it('answers on this machine, with or without systemd as PID 1', () => {
    const s = probeLocally(unitState('ssh'));
    if (s.available) expect(s.loadState).toMatch(/^(loaded|not-found|masked)$/);
    else expect(s.error).toBeTruthy();
  });

  it.each(['nginx', 'nginx.service', 'getty@tty1.service', 'dev-sda1.mount', 'system-systemd\\x2dcryptsetup.slice'])('accepts unit name %s', (n) =>
    expect(UNIT_NAME.test(n)).toBe(true),
  );
  it.each(['', 'a b', 'x;reboot', '$(id)'])('refuses unit name %j', (n) => expect(UNIT_NAME.test(n)).toBe(false));
});

describe('one systemctl show for unit states and start times', () => {
  // recorded on Debian 12: `systemctl show -p Id,...,NeedDaemonReload,ActiveEnterTimestamp --timestamp=unix -- ssh fail2ban nope`
  const both = [
    'Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nActiveEnterTimestamp=@1795912118\nNeedDaemonReload=no\n',
    'Id=fail2ban.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nActiveEnterTimestamp=@1795912470\nNeedDaemonReload=no\n',
    'Id=nope.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nActiveEnterTimestamp=\nNeedDaemonReload=no\n',
  ].join('\n');
  const keys = ['ssh', 'started:fail2ban', 'fail2ban', 'started:nope'];

  it('asks each unit once, for the start time only when a probe wants it', () => {
    expect(unitBatcher.script(keys)).toBe(
      "systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,ActiveEnterTimestamp --timestamp=unix -- ssh fail2ban nope 2>&1",
    );
    expect(unitBatcher.script(['ssh'])).toBe('systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload -- ssh 2>&1');
    expect(unitStarted('fail2ban').batch).toEqual({ batcher: unitBatcher, key: 'started:fail2ban' });
  });

  it("hands each probe what its own script prints (the start time as --value prints it: '@SECONDS', or empty)", () => {
    const out = unitBatcher.split(both, 0, keys);
    expect(out[0]).toEqual({ stdout: recorded.sshRunning, code: 0 });
    expect(out[1]).toEqual({ stdout: '@1795912470\n', code: 0 });
    expect(parseSystemctlShow(out[2].stdout, out[2].code)).toMatchObject({ id: 'fail2ban.service', activeState: 'active' });
    expect(out[3]).toEqual({ stdout: '\n', code: 0 });
  });

  it('systemctl failing leaves start times empty and unit states unavailable', () => {
    const out = unitBatcher.split(recorded.noSystemd, 1, keys);
    expect(out[1]).toEqual({ stdout: '', code: 1 });
    expect(parseSystemctlShow(out[0].stdout, out[0].code)).toMatchObject({ available: false });
  });
});

import { describe, expect, it } from 'vitest';
import { effectiveSettings } from '../../../src/facts/sshd.js';
import { renderSettings } from '../../../src/modules/sshd_config.js';
import { parseSshSocket, SSH_SOCKET_DROPIN, socketDropIn } from '../../../src/facts/ssh-socket.js';
import { reloadSshd } from '../../../src/modules/ssh-reload.js';
import { planFor } from '../helpers/plan.js';
import { SSH_UNITS_SHOW } from '../fixtures/releases.js';

/** ssh.socket as Debian ships it (disabled, inactive): sshd listens itself */
const NO_SOCKET = parseSshSocket(`${SSH_UNITS_SHOW.debian12.socket}--- shipshape ssh.socket drop-in ---\n`, 0);

// Debian 12's sshd_config, trimmed to what matters: the Include comes first, so drop-ins win
const debianMain = `Include /etc/ssh/sshd_config.d/*.conf
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server`;

const main = { path: '/etc/ssh/sshd_config', content: debianMain };
const PATH = '/etc/ssh/sshd_config.d/00-shipshape.conf';

describe('sshd_config', () => {
  it('renders booleans as yes/no, lists comma-joined, repeatable keywords one line each', () => {
    expect(renderSettings({ PasswordAuthentication: false, Ciphers: ['a', 'b'], HostKey: ['/k1', '/k2'], MaxAuthTries: 3 })).toEqual([
      'PasswordAuthentication no',
      'Ciphers a,b',
      'HostKey /k1',
      'HostKey /k2',
      'MaxAuthTries 3',
    ]);
  });

  it('writes a validated drop-in and reloads sshd, guarded as access-critical', () => {
    const p = planFor('sshd_config', { settings: { PermitRootLogin: 'no', X11Forwarding: false } }, { sshd: { files: [main] }, socket: NO_SOCKET });
    expect(p.steps[0]).toMatchObject({ kind: 'write', path: PATH, mode: '0644' });
    expect(p.steps[0].kind === 'write' && p.steps[0].validate).toMatch(/sshd -t/);
    expect(p.steps.at(-1)).toEqual(reloadSshd('ssh'));
    expect(p.accessCritical).toBeTruthy();
    // X11Forwarding yes in the main file comes after the Include: ours is read first and wins
    expect(p.fail).toBeUndefined();
  });

  it('neutralises a drop-in that sorts before ours (drift at its cause), with a diff and a validated write', () => {
    const ours = { path: PATH, content: '# managed by shipshape: edits here are reported as drift and replaced\nPasswordAuthentication no\n' };
    const cloud = { path: '/etc/ssh/sshd_config.d/00-aaa.conf', content: '# debugging\nPasswordAuthentication yes' };
    const p = planFor('sshd_config', { settings: { PasswordAuthentication: false } }, { sshd: { files: [main, cloud, ours] }, socket: NO_SOCKET });
    expect(p.fail).toBeUndefined();
    // our file is right: only the overriding line is touched, not our file again
    expect(p.steps.filter((s) => s.kind === 'write').map((s) => s.kind === 'write' && s.path)).toEqual(['/etc/ssh/sshd_config.d/00-aaa.conf']);
    const w = p.steps[0];
    expect(w.kind === 'write' && w.content).toBe('# debugging\n# disabled by shipshape (it overrode a hardened setting): PasswordAuthentication yes\n');
    expect(w.kind === 'write' && w.validate).toMatch(/sshd -t/);
    expect(p.drift).toEqual([
      expect.objectContaining({ what: 'passwordauthentication "yes" is in effect, not "no" as declared', where: '/etc/ssh/sshd_config.d/00-aaa.conf:2' }),
    ]);
    expect(p.drift![0].why).toMatch(/password logins/);
    expect(p.diff).toEqual([{ subject: '/etc/ssh/sshd_config.d/00-aaa.conf', before: cloud.content + '\n', after: expect.stringContaining('# disabled by shipshape') }]);
    expect(p.guard?.paths).toEqual(['/etc/ssh/sshd_config.d/00-aaa.conf']);
    // 50-cloud-init.conf sorts after 00-shipshape.conf: no conflict
    const later = { path: '/etc/ssh/sshd_config.d/50-cloud-init.conf', content: 'PasswordAuthentication yes' };
    const files = [main, later, { path: PATH, content: 'PasswordAuthentication no' }];
    expect(effectiveSettings(files).get('passwordauthentication')).toMatchObject({ value: 'no', file: PATH });
  });

  it('a line above the Include in sshd_config and a Match block are drift; the same value earlier is not', () => {
    const ours = { path: PATH, content: '# managed by shipshape: edits here are reported as drift and replaced\nPermitRootLogin no\nX11Forwarding no\nMaxAuthTries 3\n' };
    const edited = { path: '/etc/ssh/sshd_config', content: `PermitRootLogin yes\nMaxAuthTries 3\n${debianMain}\nMatch User deploy\n    X11Forwarding yes\n` };
    const settings = { PermitRootLogin: 'no', X11Forwarding: false, MaxAuthTries: 3 };
    const effective = { user: 'deploy', addr: '10.99.0.1', settings: { permitrootlogin: ['yes'], x11forwarding: ['yes'], maxauthtries: ['3'] } };
    const p = planFor('sshd_config', { settings }, { sshd: { files: [edited, ours], effective }, socket: NO_SOCKET });
    expect(p.drift!.map((d) => d.where)).toEqual(['/etc/ssh/sshd_config:1', '/etc/ssh/sshd_config:11 (in "Match User deploy")']);
    expect(p.drift![1].what).toMatch(/sshd -T for deploy@10.99.0.1 confirms "x11forwarding yes"/);
    const w = p.steps[0];
    expect(w.kind === 'write' && w.path).toBe('/etc/ssh/sshd_config');
    expect(w.kind === 'write' && w.validate).toBe('sshd -t -f %s');
    const after = (w.kind === 'write' && w.content) || '';
    expect(after.split('\n')[0]).toMatch(/^# disabled by shipshape .*PermitRootLogin yes$/);
    expect(after.split('\n')[1]).toBe('MaxAuthTries 3');
    expect(after).toMatch(/\n# disabled by shipshape .*X11Forwarding yes\n$/);
  });

  it('an sshd -T disagreement no file explains is drift of its own: sshd -T is the place, apply reloads sshd', () => {
    const ours = { path: PATH, content: '# managed by shipshape: edits here are reported as drift and replaced\nMaxAuthTries 3\n' };
    const sshd = { files: [main, ours], effective: { user: 'deploy', addr: '10.99.0.1', settings: { maxauthtries: ['6'] } } };
    const p = planFor('sshd_config', { settings: { MaxAuthTries: 3 } }, { sshd, socket: NO_SOCKET });
    expect(p.drift).toEqual([
      {
        what: `sshd -T for deploy@10.99.0.1 says "maxauthtries 6", declared "3" in ${PATH}`,
        why: expect.stringMatching(/^more guesses per connection: and no line of the files sshd reads/),
        where: 'not explained by any file sshd reads; sshd -T says "maxauthtries 6"',
        fix: expect.stringMatching(/^apply reloads sshd \(ssh\); if `sshd -T -C user=deploy,host=10.99.0.1,addr=10.99.0.1 \| grep -i \^maxauthtries` still says "6"/),
      },
    ]);
    expect(p.steps).toEqual([reloadSshd('ssh')]);
    expect(p.accessCritical).toBeTruthy();
    // an Include the probe followed explains it: then it is an overriding line, commented out at its cause
    const extra = { path: '/etc/ssh/extra/a.conf', content: 'MaxAuthTries 6' };
    const explained = planFor('sshd_config', { settings: { MaxAuthTries: 3 } }, { sshd: { ...sshd, files: [{ path: main.path, content: `Include /etc/ssh/extra/*.conf\n${main.content}` }, ours, extra] }, socket: NO_SOCKET });
    expect(explained.drift![0].where).toBe('/etc/ssh/extra/a.conf:1');
    sshd.effective.settings.maxauthtries = ['3'];
    expect(planFor('sshd_config', { settings: { MaxAuthTries: 3 } }, { sshd, socket: NO_SOCKET }).reason).toMatch(/agrees/);
  });

  it('socket-activated sshd (Ubuntu 22.10+): a Port change regenerates and restarts ssh.socket; the guard follows the port', () => {
    const p = planFor('sshd_config', { settings: { Port: 2222 } }, { sshd: { files: [main] }, socket: NO_SOCKET });
    const socket = p.steps.find((s) => s.kind === 'sh');
    expect(socket?.kind === 'sh' && socket.script).toBe(
      "if systemctl is-active --quiet ssh.socket; then systemctl daemon-reload && systemctl restart ssh.socket; fi",
    );
    expect(p.guard).toMatchObject({ port: 2222 });
    expect(p.guard?.restore).toContain('restart ssh.socket');
    // other settings do not touch the socket
    expect(planFor('sshd_config', { settings: { MaxAuthTries: 3 } }, { sshd: { files: [main] }, socket: NO_SOCKET }).steps.some((s) => s.kind === 'sh' && /restart ssh\.socket/.test(s.script))).toBe(false);
  });

  it('socket-activated sshd (Ubuntu 24.04): the socket listens where Port says, through a drop-in that wins; then a no-op', () => {
    const show = `${SSH_UNITS_SHOW.ubuntu2404.socket}--- shipshape ssh.socket drop-in ---\n`;
    const socket = parseSshSocket(show, 0);
    const ours = { path: PATH, content: '# managed by shipshape: edits here are reported as drift and replaced\nPort 2222\n' };
    const p = planFor('sshd_config', { settings: { Port: 2222 } }, { sshd: { files: [main] }, socket });
    const dropIn = p.steps.find((s) => s.kind === 'write' && s.path === SSH_SOCKET_DROPIN);
    expect(dropIn?.kind === 'write' && dropIn.content).toBe(
      '# managed by shipshape: ssh.socket starts sshd (socket activation), so it listens where sshd_config says (Port)\n[Socket]\nListenStream=\nListenStream=2222\n',
    );
    // written before the socket restarts, snapshotted by the guard, which restarts the socket on revert
    const kinds = p.steps.map((s) => (s.kind === 'write' ? `write ${s.path}` : s.kind === 'run' ? s.argv.join(' ') : 'sh'));
    expect(kinds.indexOf(`write ${SSH_SOCKET_DROPIN}`)).toBeLessThan(kinds.indexOf('sh'));
    expect(p.guard?.paths).toContain(SSH_SOCKET_DROPIN);
    expect(p.guard).toMatchObject({ port: 2222 });
    expect(p.reason).toMatch(/ssh\.socket \(sshd is socket-activated\) listens on port 2222/);
    // the sshd file already as declared, but the socket still on 22 (say, Ubuntu's upgrade left addresses.conf in /etc): the drop-in alone
    const only = planFor('sshd_config', { settings: { Port: 2222 } }, { sshd: { files: [main, ours] }, socket });
    expect(only.steps.filter((s) => s.kind === 'write').map((s) => s.kind === 'write' && s.path)).toEqual([SSH_SOCKET_DROPIN]);
    // both in place: nothing to do, and the reason says where the socket listens
    const done = parseSshSocket(show.replace('[::]:22', '[::]:2222') + socketDropIn([2222]) + '--- shipshape ssh.socket drop-in ---\n', 0);
    const noop = planFor('sshd_config', { settings: { Port: 2222 } }, { sshd: { files: [main, ours] }, socket: done });
    expect(noop.steps).toEqual([]);
    expect(noop.reason).toMatch(/ssh\.socket listens on \[::\]:2222 \(Stream\) \(socket activation\)/);
    // an edited drop-in is drift, named at its file
    const edited = parseSshSocket(show + socketDropIn([22]) + '--- shipshape ssh.socket drop-in ---\n', 0);
    const fix = planFor('sshd_config', { settings: { Port: 2222 } }, { sshd: { files: [main, ours] }, socket: edited });
    expect(fix.drift?.map((d) => d.where)).toEqual([SSH_SOCKET_DROPIN]);
  });

  it('is a no-op when the drop-in is as declared', () => {
    const files = [main, { path: PATH, content: '# managed by shipshape: edits here are reported as drift and replaced\nMaxAuthTries 3\n' }];
    const p = planFor('sshd_config', { settings: { MaxAuthTries: 3 } }, { sshd: { files }, socket: NO_SOCKET });
    expect(p.steps).toEqual([]);
    expect(p.reason).toMatch(/every setting in it is in effect/);
  });

  it('an override two Includes down is drift at its own file and line, commented out there', () => {
    const ours = { path: PATH, content: '# managed by shipshape: edits here are reported as drift and replaced\nPasswordAuthentication no\n' };
    const hook = { path: '/etc/ssh/sshd_config.d/00-aaa-site.conf', content: 'Include /etc/ssh/site/*.conf\n' };
    const deep = { path: '/etc/ssh/site/10-debug.conf', content: '# temporary\nPasswordAuthentication yes\n' };
    const p = planFor('sshd_config', { settings: { PasswordAuthentication: false } }, { sshd: { files: [main, hook, ours, deep] }, socket: NO_SOCKET });
    expect(p.drift!.map((d) => d.where)).toEqual(['/etc/ssh/site/10-debug.conf:2']);
    expect(p.steps[0]).toMatchObject({ kind: 'write', path: '/etc/ssh/site/10-debug.conf', content: '# temporary\n# disabled by shipshape (it overrode a hardened setting): PasswordAuthentication yes\n' });
    expect(p.steps.at(-1)).toEqual(reloadSshd('ssh'));
  });

  describe('a running sshd older than its configuration (edited without a reload, or a reload that failed)', () => {
    const ours = { path: PATH, content: '# managed by shipshape: edits here are reported as drift and replaced\nPasswordAuthentication no\n' };
    const files = [main, ours];
    const effective = { user: 'deploy', addr: '10.99.0.1', settings: { passwordauthentication: ['no'] } };
    // microseconds: sshd (pid 45) read its configuration at 10:00:00 UTC
    const loadedAt = Date.UTC(2026, 10, 29, 10, 0, 0) * 1000;
    const running = (changed: { path: string; at: number }[]) => ({ pid: 45, loadedAt, changed });
    const plan = (sshd: object) => planFor('sshd_config', { settings: { PasswordAuthentication: false } }, { sshd: { files, effective, ...sshd }, socket: NO_SOCKET });

    it('nothing changed since sshd read it: no-op', () => {
      const p = plan({ running: running([{ path: main.path, at: loadedAt - 5e6 }, { path: PATH, at: loadedAt - 1 }, { path: '/etc/ssh/sshd_config.d', at: loadedAt - 1 }]) });
      expect(p.steps).toEqual([]);
    });

    it('sshd_config changed after: drift naming the file and both times; apply reloads sshd, guarded', () => {
      const p = plan({ running: running([{ path: main.path, at: loadedAt + 90e6 }, { path: PATH, at: loadedAt - 1 }]) });
      expect(p.drift).toEqual([
        {
          what: 'the running sshd (pid 45) last read its configuration at 2026-11-29 10:00:00 UTC; /etc/ssh/sshd_config changed after that (2026-11-29 10:01:30 UTC)',
          why: expect.stringMatching(/^sshd decides logins by the settings it read then, not by the files/),
          where: '/etc/ssh/sshd_config',
          fix: expect.stringMatching(/^reload sshd \(apply runs `if systemctl is-active --quiet ssh\.socket; then if systemctl is-active --quiet ssh; then sshd -t && systemctl restart ssh; fi; else systemctl reload-or-restart ssh; fi`, guarded\)$/),
        },
      ]);
      expect(p.steps).toEqual([reloadSshd('ssh')]);
      expect(p.accessCritical).toBeTruthy();
      expect(p.reason).toMatch(/^reload sshd: the running sshd \(pid 45\)/);
    });

    it('a drop-in removed (its directory changed) counts; a file sshd does not read does not', () => {
      expect(plan({ running: running([{ path: '/etc/ssh/sshd_config.d', at: loadedAt + 1 }]) }).drift![0].where).toBe('/etc/ssh/sshd_config.d');
      // a file changed in it says more: the directory is not named beside it
      expect(plan({ running: running([{ path: PATH, at: loadedAt + 1 }, { path: '/etc/ssh/sshd_config.d', at: loadedAt + 1 }]) }).drift![0].where).toBe(PATH);
      // a drop-in in a directory no Include names: sshd never reads it
      const unread = { path: '/etc/ssh/other.d/x.conf', content: 'PasswordAuthentication yes\n' };
      const p = planFor('sshd_config', { settings: { PasswordAuthentication: false } }, { sshd: { files: [...files, unread], effective, running: running([{ path: unread.path, at: loadedAt + 1 }]) }, socket: NO_SOCKET });
      expect(p.steps).toEqual([]);
    });

    it('a configuration sshd now refuses: the reason the old settings stay is in the drift', () => {
      const p = plan({ effective: undefined, refused: '/etc/ssh/sshd_config line 3: Bad configuration option: Frobnicate\n/etc/ssh/sshd_config: terminating, 1 bad configuration options', running: running([{ path: main.path, at: loadedAt + 1 }]) });
      expect(p.drift![0].why).toMatch(/sshd refuses the configuration as it is now \(\/etc\/ssh\/sshd_config: terminating, 1 bad configuration options\), so a reload fails/);
    });

    it('beside other drift: reported too, and the same one reload fixes both', () => {
      const cloud = { path: '/etc/ssh/sshd_config.d/00-aaa.conf', content: 'PasswordAuthentication yes\n' };
      const p = planFor('sshd_config', { settings: { PasswordAuthentication: false } }, { sshd: { files: [main, cloud, ours], effective, running: running([{ path: cloud.path, at: loadedAt + 1 }]) }, socket: NO_SOCKET });
      expect(p.drift!.map((d) => d.where)).toEqual(['/etc/ssh/sshd_config.d/00-aaa.conf:1', '/etc/ssh/sshd_config.d/00-aaa.conf']);
      expect(p.steps.filter((s) => s.kind === 'sh')).toEqual([reloadSshd('ssh')]);
    });
  });
});

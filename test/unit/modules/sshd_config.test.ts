import { describe, expect, it } from 'vitest';
import { effectiveSettings } from '../../../src/facts/sshd.js';
import { renderSettings } from '../../../src/modules/sshd_config.js';
import { planFor } from '../helpers/plan.js';

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
    const p = planFor('sshd_config', { settings: { PermitRootLogin: 'no', X11Forwarding: false } }, { sshd: { files: [main] } });
    expect(p.steps[0]).toMatchObject({ kind: 'write', path: PATH, mode: '0644' });
    expect(p.steps[0].kind === 'write' && p.steps[0].validate).toMatch(/sshd -t/);
    expect(p.steps.at(-1)).toEqual({ kind: 'run', argv: ['systemctl', 'reload-or-restart', 'ssh'] });
    expect(p.accessCritical).toBeTruthy();
    // X11Forwarding yes in the main file comes after the Include: ours is read first and wins
    expect(p.fail).toBeUndefined();
  });

  it('refuses when an earlier drop-in would silently beat a setting (Ubuntu cloud images: 50-cloud-init.conf)', () => {
    const cloud = { path: '/etc/ssh/sshd_config.d/00-aaa-cloud.conf', content: 'PasswordAuthentication yes' };
    const p = planFor('sshd_config', { settings: { PasswordAuthentication: false } }, { sshd: { files: [main, cloud] } });
    expect(p.fail).toMatch(/passwordauthentication "yes" from \/etc\/ssh\/sshd_config.d\/00-aaa-cloud.conf:1/);
    expect(p.steps).toEqual([]);
    // 50-cloud-init.conf sorts after 00-shipshape.conf: no conflict
    const later = { path: '/etc/ssh/sshd_config.d/50-cloud-init.conf', content: 'PasswordAuthentication yes' };
    const files = [main, later, { path: PATH, content: 'PasswordAuthentication no' }];
    expect(effectiveSettings(files).get('passwordauthentication')).toMatchObject({ value: 'no', file: PATH });
  });

  it('socket-activated sshd (Ubuntu 22.10+): a Port change regenerates and restarts ssh.socket; the guard follows the port', () => {
    const p = planFor('sshd_config', { settings: { Port: 2222 } }, { sshd: { files: [main] } });
    const socket = p.steps.find((s) => s.kind === 'sh');
    expect(socket?.kind === 'sh' && socket.script).toBe(
      "if systemctl is-active --quiet ssh.socket; then systemctl daemon-reload && systemctl restart ssh.socket; fi",
    );
    expect(p.guard).toMatchObject({ port: 2222 });
    expect(p.guard?.restore).toContain('restart ssh.socket');
    // other settings do not touch the socket
    expect(planFor('sshd_config', { settings: { MaxAuthTries: 3 } }, { sshd: { files: [main] } }).steps.some((s) => s.kind === 'sh')).toBe(false);
  });

  it('is a no-op when the drop-in is as declared', () => {
    const files = [main, { path: PATH, content: '# managed by shipshape: edits here are reported as drift and replaced\nMaxAuthTries 3\n' }];
    const p = planFor('sshd_config', { settings: { MaxAuthTries: 3 } }, { sshd: { files } });
    expect(p.steps).toEqual([]);
    expect(p.reason).toMatch(/every setting in it is in effect/);
  });
});

import { probe } from '../core/probe.js';
import { fileDump, parseSizedDump } from './dump.js';
import { parseSystemctlShow, unitProps, type UnitState } from './systemd.js';

/**
 * The SSH server's socket unit on Debian and Ubuntu. Ubuntu 24.04 (and 22.10 on) starts sshd from it by
 * default: ssh.socket is enabled and listening, ssh.service is disabled and started by the first connection.
 * Debian ships the same unit, disabled; an operator may turn it on the same way.
 */
export const SSH_SOCKET = 'ssh.socket';

/**
 * shipshape's drop-in for the socket: where it listens follows sshd_config's Port. It sorts after
 * addresses.conf, the name both Ubuntu's sshd-socket-generator (in /run) and the 22.10-23.10 upgrade
 * migration (in /etc, which would hide the generator's) use, and it resets ListenStream first, so it decides.
 */
export const SSH_SOCKET_DROPIN = '/etc/systemd/system/ssh.socket.d/shipshape-listen.conf';

export interface SshSocket {
  unit: UnitState;
  /** what the socket listens on as systemd reports it, e.g. ["[::]:22 (Stream)"] */
  listen: string[];
  /** SSH_SOCKET_DROPIN's content, undefined when there is none */
  dropIn?: string;
}

/**
 * sshd is socket-activated when its socket is enabled (it listens from boot) or listening now: then the
 * socket, not ssh.service, is what must be enabled and running, and what listens on sshd_config's Port.
 */
export function socketActivated(s: SshSocket | undefined): boolean {
  if (!s?.unit.available || s.unit.loadState !== 'loaded') return false;
  return ['enabled', 'enabled-runtime'].includes(s.unit.unitFileState ?? '') || ['active', 'activating', 'reloading'].includes(s.unit.activeState ?? '');
}

const MARK = '--- shipshape ssh.socket drop-in ---';

const SHOW = ['Id', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'NeedDaemonReload', 'Listen'];

export const sshSocket = probe<SshSocket>(
  'ssh-socket',
  `systemctl show -p ${SHOW.join(',')} -- ${SSH_SOCKET} 2>&1; r=$?\necho '${MARK}'\ncat ${SSH_SOCKET_DROPIN} 2>/dev/null && echo '${MARK}'\nexit $r`,
  parseSshSocket,
  {
    compose: {
      // the unit from the play's one systemctl show, the drop-in from its one file dump
      parts: [unitProps(SSH_SOCKET, SHOW), fileDump([SSH_SOCKET_DROPIN])],
      join: ([show, dump]) => {
        const [dropIn] = parseSizedDump(dump.stdout);
        return { stdout: `${show.stdout}${MARK}\n${dropIn ? `${dropIn.content}${MARK}\n` : ''}`, code: show.code };
      },
    },
  },
);

export function parseSshSocket(stdout: string, exitCode: number): SshSocket {
  const [show, rest] = splitOnce(stdout, `${MARK}\n`);
  const unit = parseSystemctlShow(show, exitCode);
  // Listen= repeats, one line per address
  const listen = show.split('\n').flatMap((l) => (l.startsWith('Listen=') && l.length > 7 ? [l.slice(7)] : []));
  const end = rest.lastIndexOf(`${MARK}\n`);
  return { unit, listen, ...(end >= 0 ? { dropIn: rest.slice(0, end) } : {}) };
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)];
}

/** The drop-in that makes the socket listen on these ports (every address, IPv4 and IPv6, as the stock unit's ListenStream=22). */
export function socketDropIn(ports: number[]): string {
  return [
    '# managed by shipshape: ssh.socket starts sshd (socket activation), so it listens where sshd_config says (Port)',
    '[Socket]',
    'ListenStream=',
    ...ports.map((p) => `ListenStream=${p}`),
    '',
  ].join('\n');
}

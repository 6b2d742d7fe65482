import { probe, type Batcher } from '../core/probe.js';
import { shJoin, shq } from '../core/quote.js';

/** What `systemctl show` says about one unit; `available: false` when systemctl itself could not answer. */
export interface UnitState {
  available: boolean;
  /** why systemctl could not answer (no systemd as PID 1, no bus, no systemctl) */
  error?: string;
  /** the canonical name, e.g. ssh.service for the alias sshd */
  id?: string;
  /** loaded | not-found | masked | bad-setting | error */
  loadState?: string;
  /** active | reloading | inactive | failed | activating | deactivating */
  activeState?: string;
  subState?: string;
  /** enabled | disabled | static | masked | indirect | ... ; empty for a unit with no unit file */
  unitFileState?: string;
  /** the unit's files changed on disk since systemd loaded them */
  needDaemonReload?: boolean;
}

const PROPS = ['Id', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'NeedDaemonReload'];

/**
 * systemd unit names: letters, digits and ":-_.\@" (systemd.unit(5)); anything else cannot name a unit
 * and is refused before it reaches a shell.
 */
export const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+$/;

/**
 * `systemctl show` answers for units that do not exist too (LoadState=not-found, exit 0), so a non-zero
 * exit means systemctl itself failed; stderr is folded in to say why (the batch discards stderr).
 */
export function unitState(name: string) {
  return probe<UnitState>(
    `systemd-unit:${name}`,
    `systemctl show -p ${PROPS.join(',')} -- ${shq(name)} 2>&1`,
    parseSystemctlShow,
    { batch: { batcher: unitBatcher, key: name } },
  );
}

/**
 * Every unit of a play in one `systemctl show`: it answers unit after unit in the order asked, a blank
 * line between them. When systemctl itself fails, every unit gets its message.
 */
export const unitBatcher: Batcher = {
  id: 'systemd-units',
  script: (names) => `systemctl show -p ${PROPS.join(',')} -- ${shJoin(names)} 2>&1`,
  split(stdout, code, names) {
    const blocks = stdout.replace(/\n+$/, '').split(/\n\n+/);
    if (code !== 0 || blocks.length !== names.length) return names.map(() => ({ stdout, code: code || 1 }));
    return blocks.map((b) => ({ stdout: `${b}\n`, code: 0 }));
  },
};

export function parseSystemctlShow(stdout: string, exitCode: number): UnitState {
  const props = new Map<string, string>();
  const other: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) props.set(m[1], m[2]);
    else if (line.trim()) other.push(line.trim());
  }
  if (exitCode !== 0 || !props.has('LoadState')) {
    return { available: false, error: other.join('; ') || `systemctl show exited with ${exitCode}` };
  }
  return {
    available: true,
    id: props.get('Id') || undefined,
    loadState: props.get('LoadState'),
    activeState: props.get('ActiveState'),
    subState: props.get('SubState'),
    unitFileState: props.get('UnitFileState') ?? '',
    needDaemonReload: props.get('NeedDaemonReload') === 'yes',
  };
}

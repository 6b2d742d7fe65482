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

/** The key of a unit's "when did it last start" question in the unit batch (unitStarted). */
const STARTED = 'started:';

/**
 * When the unit last entered the active state: `@SECONDS` (empty when it never did), as
 * `systemctl show -p ActiveEnterTimestamp --timestamp=unix --value` prints it. Read in the play's one
 * `systemctl show` with every other unit question.
 */
export function unitStarted(name: string) {
  return probe<string>(
    `systemd-started:${name}`,
    `systemctl show -p ActiveEnterTimestamp --timestamp=unix --value -- ${shq(name)} 2>/dev/null`,
    (out) => out,
    { batch: { batcher: unitBatcher, key: `${STARTED}${name}` } },
  );
}

/**
 * Some properties of a unit, as `systemctl show -p PROPS -- NAME 2>&1` prints them (a property that repeats,
 * like a socket's Listen, on as many lines): read in the play's one `systemctl show` with every other unit
 * question. No timestamp property: the batch may print those as unix times.
 */
export function unitProps(name: string, props: string[]) {
  return probe<string>(`systemd-props:${props.join(',')}:${name}`, `systemctl show -p ${props.join(',')} -- ${shq(name)} 2>&1`, (out) => out, {
    batch: { batcher: unitBatcher, key: `${SHOW}${props.join(',')}:${name}` },
  });
}

/** The key of a unitProps question: "show:PROPS:NAME" (property names hold no ':'). */
const SHOW = 'show:';

const unitOf = (key: string) => (key.startsWith(STARTED) ? key.slice(STARTED.length) : key.startsWith(SHOW) ? key.slice(key.indexOf(':', SHOW.length) + 1) : key);
const propsOf = (key: string) =>
  key.startsWith(STARTED) ? ['ActiveEnterTimestamp'] : key.startsWith(SHOW) ? key.slice(SHOW.length, key.indexOf(':', SHOW.length)).split(',') : PROPS;

/**
 * Every unit of a play in one `systemctl show` for the union of the properties asked: it answers unit after
 * unit in the order asked, a blank line between them. Each key gets its unit's lines of the properties its
 * own probe asks for (unitState's PROPS, unitStarted's timestamp, unitProps' list). When systemctl itself
 * fails, every unit gets its message.
 */
export const unitBatcher: Batcher = {
  id: 'systemd-units',
  // systemctl waits on systemd, which marshals every property of each unit: about 4 ms, then 1.5 a unit
  cost: (keys) => 4 + 1.5 * new Set(keys.map(unitOf)).size,
  script(keys) {
    const units = [...new Set(keys.map(unitOf))];
    // PROPS always: every unit then prints a block, even one asked only for a property it lacks
    const props = [...new Set([...PROPS, ...keys.flatMap(propsOf)])];
    // unix timestamps only change how timestamp properties print: only unitStarted asks for one
    const unix = keys.some((k) => k.startsWith(STARTED)) ? ' --timestamp=unix' : '';
    return `systemctl show -p ${props.join(',')}${unix} -- ${shJoin(units)} 2>&1`;
  },
  split(stdout, code, keys) {
    const units = [...new Set(keys.map(unitOf))];
    const blocks = stdout.replace(/\n+$/, '').split(/\n\n+/);
    const failed = code !== 0 || blocks.length !== units.length;
    return keys.map((key) => {
      if (key.startsWith(STARTED)) {
        if (failed) return { stdout: '', code: code || 1 };
        const line = blocks[units.indexOf(unitOf(key))].split('\n').find((l) => l.startsWith('ActiveEnterTimestamp='));
        return { stdout: `${line === undefined ? '' : line.slice('ActiveEnterTimestamp='.length)}\n`, code: 0 };
      }
      if (failed) return { stdout, code: code || 1 };
      const want = new Set(propsOf(key));
      const own = blocks[units.indexOf(unitOf(key))].split('\n').filter((l) => want.has(l.slice(0, l.indexOf('='))));
      return { stdout: `${own.join('\n')}\n`, code: 0 };
    });
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

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

/**
 * A question answered on the host from some properties of a unit (a path made from its User= and Environment=,
 * say), asked in the play's one `systemctl show` instead of a `systemctl show` of its own: `then` runs in that
 * section's shell right after it, with the unit's lines of the show in $__ss_unit (every property the batch asked,
 * one a line, as `systemctl show -p PROPS` prints them; empty when systemctl failed) and prints its answer.
 * `alone` is the probe's own script: its own `systemctl show -p PROPS` and the same reading of it. `then` runs
 * where the batch runs (beside the other probes): it must need nothing set before it, and print no line
 * "@@then N" (its own lines are plain "Key=value" ones).
 */
export function unitThen(id: string, name: string, props: string[], alone: string, then: string) {
  return probe<string>(id, alone, (out) => out, { batch: { batcher: unitBatcher, key: `${THEN}${props.join(',')}:${name}\n${then}` } });
}

/** The key of a unitThen question: "then:PROPS:NAME", a newline, the script (unit names hold no newline). */
const THEN = 'then:';
const THEN_MARK = '@@then ';

/** "show:PROPS:NAME" or "then:PROPS:NAME\nSCRIPT" -> [PROPS, NAME] */
const listed = (key: string, kind: string): [string, string] => {
  const head = kind === THEN ? key.slice(0, key.indexOf('\n')) : key;
  const at = head.indexOf(':', kind.length);
  return [head.slice(kind.length, at), head.slice(at + 1)];
};
const kindOf = (key: string) => [STARTED, SHOW, THEN].find((k) => key.startsWith(k));
const unitOf = (key: string) => {
  const kind = kindOf(key);
  return kind === STARTED ? key.slice(STARTED.length) : kind ? listed(key, kind)[1] : key;
};
const propsOf = (key: string) => {
  const kind = kindOf(key);
  return kind === STARTED ? ['ActiveEnterTimestamp'] : kind ? listed(key, kind)[0].split(',') : PROPS;
};

/**
 * Every unit of a play in one `systemctl show` for the union of the properties asked: it answers unit after
 * unit in the order asked, a blank line between them. Each key gets its unit's lines of the properties its
 * own probe asks for (unitState's PROPS, unitStarted's timestamp, unitProps' list). When systemctl itself
 * fails, every unit gets its message.
 */
export const unitBatcher: Batcher = {
  id: 'systemd-units',
  // systemctl waits on systemd, which marshals every property of each unit: about 4 ms, then 1.5 a unit
  // a unitThen question reads its lines with builtins and may run a program (Caddy's: stat): about 1.5 ms
  cost: (keys) => 4 + 1.5 * new Set(keys.map(unitOf)).size + 1.5 * keys.filter((k) => k.startsWith(THEN)).length,
  script(keys) {
    const units = [...new Set(keys.map(unitOf))];
    // PROPS always: every unit then prints a block, even one asked only for a property it lacks
    const props = [...new Set([...PROPS, ...keys.flatMap(propsOf)])];
    // unix timestamps only change how timestamp properties print: only unitStarted asks for one
    const unix = keys.some((k) => k.startsWith(STARTED)) ? ' --timestamp=unix' : '';
    const show = `systemctl show -p ${props.join(',')}${unix} -- ${shJoin(units)} 2>&1`;
    const thens = keys.filter((k) => k.startsWith(THEN));
    if (thens.length === 0) return show;
    // the show kept in a variable (its one process still), printed, then each question on its unit's lines:
    // the block of the unit's place (blocks end at a blank line), none when systemctl failed; the section
    // ends with systemctl's own exit code
    return [
      `__ss_su=$(${show}); __ss_src=$?`,
      `printf '%s\\n' "$__ss_su"`,
      "__ss_nl='",
      "'",
      ...thens.flatMap((k, i) => [
        `printf '${THEN_MARK}%s\\n' ${i}`,
        '__ss_unit=; __ss_n=0; __ss_b=',
        `[ "$__ss_src" -eq 0 ] && while IFS= read -r __ss_l; do`,
        `  if [ -z "$__ss_l" ]; then [ -n "$__ss_b" ] && __ss_n=$((__ss_n + 1)); __ss_b=; continue; fi`,
        `  __ss_b=1; [ "$__ss_n" -eq ${units.indexOf(unitOf(k))} ] || continue`,
        `  case $__ss_l in ${propsOf(k).map((p) => `${p}=*`).join('|')}) __ss_unit="$__ss_unit$__ss_l$__ss_nl";; esac`,
        'done <<__SS_UNITS__',
        '$__ss_su',
        '__SS_UNITS__',
        k.slice(k.indexOf('\n') + 1),
      ]),
      '__ss_exit() { return "$1"; }; __ss_exit "$__ss_src"',
    ].join('\n');
  },
  split(stdout, code, keys) {
    const units = [...new Set(keys.map(unitOf))];
    const thens = keys.filter((k) => k.startsWith(THEN));
    // each unitThen question's answer after its mark, in key order; systemctl's text before the first
    const marks = thens.map((_k, i) => stdout.indexOf(`\n${THEN_MARK}${i}\n`));
    const answers = new Map(thens.map((k, i) => [k, marks[i] < 0 ? undefined : stdout.slice(marks[i] + THEN_MARK.length + String(i).length + 2, i + 1 < thens.length && marks[i + 1] >= 0 ? marks[i + 1] + 1 : undefined)]));
    if (thens.length > 0 && marks[0] >= 0) stdout = stdout.slice(0, marks[0] + 1);
    const blocks = stdout.replace(/\n+$/, '').split(/\n\n+/);
    const failed = code !== 0 || blocks.length !== units.length;
    return keys.map((key) => {
      if (key.startsWith(THEN)) {
        const a = answers.get(key);
        return a === undefined ? { stdout: '', code: code || 1 } : { stdout: a, code: 0 };
      }
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

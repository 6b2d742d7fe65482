import { randomBytes } from 'node:crypto';
import { backgroundLane, costOf, type LaneSection } from './lanes.js';
import { answerOf, leafProbes, type Batcher, type Probe } from './probe.js';
import { renderStep, type Step } from './step.js';

/**
 * One round trip: a script that optionally applies one task's steps and then runs a batch of probes,
 * each section fenced by markers carrying a per-run nonce, so no output can forge a boundary.
 */
export interface Batch {
  apply?: { id: string; steps: Step[] };
  probes: Probe[];
}

export interface SectionOutput {
  stdout: string;
  code: number;
}

export interface BatchOutput {
  /** undefined when the batch had no apply section */
  apply?: SectionOutput;
  probes: Map<string, SectionOutput>;
  /** the host stopped before every section ran (connection lost, shell killed) */
  incomplete: boolean;
  /** what reading the facts cost on the host, measured by the script itself (undefined: no probes, or /proc lacks it) */
  factScript?: FactScriptStats;
}

/**
 * The host-side cost of a batch's probes: wall time from /proc/uptime (10 ms resolution) and the pids the
 * host allocated meanwhile (the last pid of /proc/loadavg: processes and threads the probes started). Both are
 * read with shell builtins, so measuring starts nothing. The counter covers every pid of the host's pid
 * namespace: exact in a container (the lab's hosts, LXC/OpenVZ VPS), an upper bound on a VM where other
 * processes (cron, daemons) start pids during the same milliseconds.
 */
export interface FactScriptStats {
  ms: number;
  processes: number;
}

const HEADER = [
  'export LC_ALL=C LANG=C DEBIAN_FRONTEND=noninteractive',
  'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'umask 022',
  'cd /',
].join('\n');

export function newNonce(): string {
  return randomBytes(8).toString('hex');
}

export function renderBatch(whole: Batch, nonce: string): string {
  // a composed probe runs as its parts
  const batch = { ...whole, probes: leafProbes(whole.probes) };
  const out = [HEADER];
  const begin = (kind: string, id: string) => `printf '%s\\n' ${sq(`@@ss:${nonce}:begin:${kind}:${id}`)}`;
  const end = (kind: string, id: string) => `printf '\\n%s:%s\\n' ${sq(`@@ss:${nonce}:end:${kind}:${id}`)} "$__ss_rc"`;
  if (batch.apply) {
    const { steps } = batch.apply;
    out.push(begin('apply', '0'));
    // set -e inside a subshell: the first failing step ends the task, not the script
    out.push(`(\nset -e\n${steps.map(renderStep).join('\n')}\n) </dev/null 2>&1; __ss_rc=$?`);
    out.push(end('apply', '0'));
    // a failed task leaves the host as it is; probes after it would describe a state we do not continue from
    out.push('[ "$__ss_rc" -eq 0 ] || exit 0');
  }
  if (batch.probes.length === 0) return out.join('\n') + '\n';
  out.push(`{ read __ss_x __ss_x __ss_x __ss_x __ss_p0 __ss_x < ${LAST_PID}; read __ss_t0 __ss_x < /proc/uptime; } 2>/dev/null`);
  // one command per batcher for all its keys (one stat for every path, one systemctl for every unit...), then
  // each probe of its own; markers carry the probe's index, not its id: ids may hold any character a path can
  const parts: Omit<Section, 'background'>[] = [
    ...batchGroups(batch.probes).map((g, i) => ({ kind: 'batch' as const, id: String(i), body: `{\n${g.batcher.script(g.keys)}\n}`, cost: costOf(g.batcher.cost?.(g.keys)), movable: true })),
    ...batch.probes.flatMap((p, i) =>
      p.batch
        ? []
        : // a subshell costs a process: only for scripts that may exit, cd or leave variables behind
          [{ kind: 'probe' as const, id: String(i), body: p.inline ? `{\n${p.script}\n}` : `(\n${p.script}\n)`, cost: costOf(p.cost), movable: !p.operatorCode }],
    ),
  ];
  // each lane keeps the sections' own order
  const lanes = backgroundLane(parts);
  const sections: Section[] = parts.map((x, i) => ({ ...x, background: lanes[i] }));
  const background = sections.filter((x) => x.background);
  const inLine = (x: Section) => [begin(x.kind, x.id), `${x.body} </dev/null 2>/dev/null; __ss_rc=$?`, end(x.kind, x.id)];
  const own = sections.filter((x) => !x.background).flatMap(inLine);
  out.push(...(background.length ? twoLanes(background.flatMap(inLine), own) : own));
  out.push(`{ read __ss_x __ss_x __ss_x __ss_x __ss_p1 __ss_x < ${LAST_PID}; read __ss_t1 __ss_x < /proc/uptime; } 2>/dev/null`);
  out.push(begin('stats', '0'));
  out.push(`printf '%s %s %s %s' "$__ss_p0" "$__ss_p1" "$__ss_t0" "$__ss_t1"; __ss_rc=0`);
  out.push(end('stats', '0'));
  return out.join('\n') + '\n';
}

/**
 * Background sections (issue 15): a pipeline of two shells, the background lane on its left and the rest on its
 * right, both at once (lanes.ts chooses them). The left one writes its sections into the pipe; the right one runs
 * the others straight to the script's output, and then its last command, `cat`, prints what the pipe holds
 * (dash execs a group's last command in the group's own fork). parseBatch finds sections by their markers, in any
 * order. Two processes in all, whatever the number of background sections, and nothing on disk: no file a
 * killed run leaves behind, none a local user could plant or link (issue 7). A pipe holds 64 KiB: a background
 * lane that prints more waits there until the foreground is done, slower but the same answers.
 * No redirection on the right-hand group: dash would then fork once more for its `cat`.
 */
function twoLanes(background: string[], own: string[]): string[] {
  return ['{', ...background, '} </dev/null 2>/dev/null | {', ...own, 'cat', '}'];
}

/** One section of the probe part: a batcher's for all its keys, or a probe's own. */
interface Section extends LaneSection {
  kind: 'batch' | 'probe';
  id: string;
  /** `{ ... }` in the batch's shell, or `( ... )` */
  body: string;
  /** runs in the background lane (lanes.ts) */
  background: boolean;
}

/**
 * The 5th field of /proc/loadavg is the last pid of the reader's pid namespace (as ns_last_pid), and unlike
 * /proc/sys/kernel/ns_last_pid it answers dash's byte-at-a-time `read`.
 */
const LAST_PID = '/proc/loadavg';

interface BatchGroup {
  batcher: Batcher;
  keys: string[];
}

/** Batched probes by batcher, in first-asked order, each key once. */
function batchGroups(probes: Probe[]): BatchGroup[] {
  const groups = new Map<string, BatchGroup>();
  for (const p of probes) {
    if (!p.batch) continue;
    const g = groups.get(p.batch.batcher.id) ?? { batcher: p.batch.batcher, keys: [] };
    groups.set(p.batch.batcher.id, g);
    if (!g.keys.includes(p.batch.key)) g.keys.push(p.batch.key);
  }
  return [...groups.values()];
}

/** "pid0 pid1 uptime0 uptime1" -> cost; uptime has two decimals (centiseconds). */
export function parseFactStats(text: string): FactScriptStats | undefined {
  const [p0, p1, t0, t1] = text.trim().split(' ');
  const cs = (t: string | undefined) => (t && /^\d+\.\d\d$/.test(t) ? Number(t.replace('.', '')) : NaN);
  const processes = Number(p1) - Number(p0);
  const ms = (cs(t1) - cs(t0)) * 10;
  // a pid counter that wrapped (pid_max) says nothing about this script
  if (!Number.isInteger(processes) || processes < 0 || !Number.isFinite(ms) || ms < 0) return undefined;
  return { ms, processes };
}

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function parseBatch(stdout: string, whole: Batch, nonce: string): BatchOutput {
  const batch = { ...whole, probes: leafProbes(whole.probes) };
  const sections = new Map<string, SectionOutput>();
  const prefix = `@@ss:${nonce}:`;
  let pos = 0;
  for (;;) {
    const b = stdout.indexOf(`${prefix}begin:`, pos);
    if (b < 0) break;
    const lineEnd = stdout.indexOf('\n', b);
    if (lineEnd < 0) break;
    const key = stdout.slice(b + prefix.length + 'begin:'.length, lineEnd);
    const endMarker = `\n${prefix}end:${key}:`;
    const e = stdout.indexOf(endMarker, lineEnd);
    if (e < 0) break;
    const rcEnd = stdout.indexOf('\n', e + endMarker.length);
    const code = Number(stdout.slice(e + endMarker.length, rcEnd < 0 ? undefined : rcEnd));
    sections.set(key, { stdout: stdout.slice(lineEnd + 1, e), code });
    pos = rcEnd < 0 ? stdout.length : rcEnd;
  }
  const probes = new Map<string, SectionOutput>();
  batchGroups(batch.probes).forEach((g, i) => {
    const s = sections.get(`batch:${i}`);
    if (!s) return;
    const outs = g.batcher.split(s.stdout, s.code, g.keys);
    for (const p of batch.probes) {
      const at = p.batch?.batcher.id === g.batcher.id ? g.keys.indexOf(p.batch.key) : -1;
      if (at >= 0 && outs[at]) probes.set(p.id, outs[at]);
    }
  });
  batch.probes.forEach((p, i) => {
    const s = sections.get(`probe:${i}`);
    if (s && !p.batch) probes.set(p.id, s);
  });
  for (const p of whole.probes) {
    const a = p.compose ? answerOf(p, probes) : undefined;
    if (a) probes.set(p.id, a);
  }
  const stats = sections.get('stats:0');
  const factScript = stats ? parseFactStats(stats.stdout) : undefined;
  const apply = batch.apply ? sections.get('apply:0') : undefined;
  const applyFailed = apply !== undefined && apply.code !== 0;
  const incomplete = (batch.apply !== undefined && apply === undefined) || (!applyFailed && [...batch.probes, ...whole.probes].some((p) => !probes.has(p.id)));
  return { ...(batch.apply ? { apply } : {}), probes, incomplete, ...(factScript ? { factScript } : {}) };
}

/** Probes several tasks share (same id) run once. */
export function uniqueProbes(probes: Iterable<Probe>): Probe[] {
  const seen = new Map<string, Probe>();
  for (const p of probes) if (!seen.has(p.id)) seen.set(p.id, p);
  return [...seen.values()];
}

// The bench's output: one markdown table per host count, shipshape beside Ansible, and verdict lines.
import { DIST_LABEL, type Dist } from '../lab/dists.js';
import type { Summary } from './measure.js';
import type { ScriptProcessCount } from './script-processes.js';
import type { SimPoint } from './simulate.js';
import { breakdownLine, type Breakdown } from './stats.js';
import type { ToolResult } from './tools.js';

export interface Reference {
  /** `shipshape --version`: Node start and loading the CLI, no host contacted */
  cliStartS: number;
  /** one OpenSSH login as deploy running `sudo -n true` (no connection sharing) */
  sshLoginSudoS: number;
}

export interface Round {
  hosts: string[];
  dist: Dist;
  loadavgBefore: number[];
  /** runs per no-op and check measurement, per tool */
  repeat: { shipshape: number; ansible: number };
  shipshape: ToolResult;
  ansible?: ToolResult;
  reference?: Reference;
  /** shipshape's own account of its no-op re-runs and checks (--json stats) */
  breakdown?: { noop: Breakdown; check: Breakdown };
  /** whose the fact script's pids are: one traced no-op on the first host, after the timed runs */
  scriptProcesses?: ScriptProcessCount;
  /** wall seconds each part of the round took, bench overhead (booting hosts) included */
  durationsS: Record<string, number>;
}

const secs = (s: number) => (Number.isNaN(s) ? '–' : s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`);
const mb = (kb: number) => (Number.isNaN(kb) || kb === 0 ? '–' : `${Math.round(kb / 1024)} MB`);
const ratio = (a: number, b: number) => (a > 0 && b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(a / b < 10 ? 2 : 1)}×` : '–');

const hostsLabel = (r: Round) => `${r.hosts.length} host${r.hosts.length > 1 ? 's' : ''}`;

export function roundTable(r: Round): string {
  const s = r.shipshape.summary;
  const a = r.ansible?.summary;
  const rows: [string, (x: Summary) => number, (n: number) => string][] = [
    ['wall', (x) => x.wallS, secs],
    ['controller CPU', (x) => x.cpuS, secs],
    ['peak RSS, largest process', (x) => x.maxRssKb, mb],
    ['peak RSS, all controller processes summed', (x) => x.peakRssSumKb, mb],
  ];
  const runs = a ? `median of ${r.repeat.shipshape} / ${r.repeat.ansible}` : `median of ${r.repeat.shipshape}`;
  const phases: [string, keyof ToolResult['summary']][] = [
    ['first run', 'first'],
    [`no-op re-run (${runs})`, 'noop'],
    [`check (${runs})`, 'check'],
  ];
  const lines = [
    `| ${hostsLabel(r)} (${r.hosts[0]}${r.hosts.length > 1 ? `..${r.hosts.at(-1)}` : ''}), ${DIST_LABEL[r.dist]} | shipshape |${a ? ' Ansible | Ansible ÷ shipshape |' : ''}`,
    `| --- | ---: |${a ? ' ---: | ---: |' : ''}`,
  ];
  for (const [phase, key] of phases) {
    for (const [metric, get, fmt] of rows) {
      const sv = get(s[key]);
      const cells = a ? ` ${fmt(get(a[key]))} | ${ratio(get(a[key]), sv)} |` : '';
      lines.push(`| ${phase}: ${metric} | ${fmt(sv)} |${cells}`);
    }
  }
  return lines.join('\n');
}

export function verdictLines(r: Round, plays: number): string[] {
  const n = `${hostsLabel(r)}, ${r.dist}`;
  const s = r.shipshape.summary;
  const a = r.ansible?.summary;
  const out: string[] = [];
  if (a) {
    out.push(`${n}: no-op re-run ${secs(s.noop.wallS)} vs Ansible ${secs(a.noop.wallS)}: shipshape ${ratio(a.noop.wallS, s.noop.wallS)} faster`);
    out.push(
      `${n}: first run ${secs(s.first.wallS)} vs Ansible ${secs(a.first.wallS)}: ratio ${(s.first.wallS / a.first.wallS).toFixed(2)} (shipshape ${ratio(a.first.wallS, s.first.wallS)} faster)`,
    );
    out.push(
      `${n}: peak RSS (first run) ${mb(s.first.maxRssKb)} vs Ansible ${mb(a.first.maxRssKb)} for the largest process; ` +
        `${mb(s.first.peakRssSumKb)} vs ${mb(a.first.peakRssSumKb)} for all controller processes summed`,
    );
  } else {
    out.push(`${n}: shipshape first run ${secs(s.first.wallS)}, no-op ${secs(s.noop.wallS)}, check ${secs(s.check.wallS)}, peak RSS ${mb(s.first.maxRssKb)} (Ansible skipped)`);
  }
  if (r.breakdown) {
    out.push(`${n}: shipshape no-op, per host: ${breakdownLine(r.breakdown.noop, plays)}`);
    out.push(`${n}: shipshape check, per host: ${breakdownLine(r.breakdown.check, plays)}`);
  }
  if (r.scriptProcesses) out.push(`${n}: ${scriptProcessesLine(r.scriptProcesses)}`);
  if (r.reference && r.hosts.length === 1) {
    const rest = s.noop.wallS - r.reference.cliStartS - r.reference.sshLoginSudoS;
    out.push(
      `${n}: shipshape no-op ${secs(s.noop.wallS)} ≈ CLI start ${secs(r.reference.cliStartS)} + one OpenSSH login with sudo ${secs(r.reference.sshLoginSudoS)}` +
        ` + ${secs(Math.max(0, rest))} for reading the facts and everything else`,
    );
  }
  return out;
}

/** The controller simulation: wall, CPU per entry and memory as the inventory grows over the same hosts. */
export function simulationTable(points: SimPoint[], dist: Dist): string {
  const lines = [
    `| shipshape check, N inventory entries over ${Math.max(...points.map((p) => p.hosts))} lab hosts, ${DIST_LABEL[dist]} | wall | controller CPU | CPU per entry | peak RSS, largest process | peak RSS, summed | round trips per entry |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const p of points) {
    const t = p.breakdown.roundTrips;
    lines.push(
      `| ${p.entries} (median of ${p.runs.length}) | ${secs(p.summary.wallS)} | ${secs(p.summary.cpuS)} | ${(p.cpuPerEntryS * 1000).toFixed(0)} ms | ` +
        `${mb(p.summary.maxRssKb)} | ${mb(p.summary.peakRssSumKb)} | ${t === undefined ? 'n/a' : t.min === t.max ? t.min : `${t.min}-${t.max}`} |`,
    );
  }
  return lines.join('\n');
}

/** CPU an extra entry costs between consecutive points: flat means the controller scales linearly. */
export function simulationVerdict(points: SimPoint[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    const perExtra = (b.summary.cpuS - a.summary.cpuS) / (b.entries - a.entries);
    out.push(`simulation: ${a.entries} -> ${b.entries} entries: ${(perExtra * 1000).toFixed(0)} ms controller CPU per extra entry, peak RSS ${mb(a.summary.maxRssKb)} -> ${mb(b.summary.maxRssKb)}`);
  }
  return out;
}

/** The traced no-op's pids: the script's own processes (what it ran), then those other processes created answering it. */
export function scriptProcessesLine(c: ScriptProcessCount): string {
  const counts = new Map<string, number>();
  for (const cmd of c.commands) counts.set(cmd, (counts.get(cmd) ?? 0) + 1);
  const ran = [...counts].map(([cmd, k]) => (k > 1 ? `${cmd} x${k}` : cmd)).join(', ');
  const others = Object.entries(c.others).map(([who, k]) => `${k} by ${who}`);
  const traced = c.own + Object.values(c.others).reduce((a, b) => a + b, 0);
  const allocated = c.allocated === undefined ? '' : `; the script counted ${c.allocated} pids allocated on the host, ${c.allocated - traced} of them outside the traced processes`;
  return (
    `fact script's processes (one no-op on ${c.host} under strace, not timed): ${c.own} its own` +
    `${c.ownThreads ? ` (${c.ownThreads} of them threads)` : ''} (${ran})` +
    `${others.length ? `, ${others.join(', ')} answering it` : ', none created by others'}${allocated}`
  );
}

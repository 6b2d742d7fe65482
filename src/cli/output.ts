import type { HostReport, TaskResult } from '../core/result.js';
import type { EngineEvent } from '../engine/types.js';
import type { HostRunReport } from '../engine/host-run.js';
import type { RunReport } from '../engine/run.js';
import { unifiedDiff } from './diff-text.js';
import { paint } from './paint.js';

export interface OutputOptions {
  check: boolean;
  diff: boolean;
  /** show ok/skipped tasks too, not only changes and failures */
  verbose: boolean;
  color: boolean;
}

const WORD: Record<TaskResult['status'], string> = { ok: 'ok', changed: 'changed', failed: 'FAILED', skipped: 'skipped' };

/** One line per task result that matters, naming the host first so interleaved hosts stay readable. */
export function formatResult(host: string, r: TaskResult, o: OutputOptions): string[] {
  if (!o.verbose && (r.status === 'ok' || r.status === 'skipped')) return [];
  const c = paint(o.color);
  const status = o.check && r.status === 'changed' ? 'would change' : WORD[r.status];
  const colour = r.status === 'failed' ? c.red : r.status === 'changed' ? c.yellow : r.status === 'skipped' ? c.dim : c.green;
  const where = r.role ? `${r.role} | ${r.name}` : r.name;
  const lines = [`${c.bold(host)} ${colour(status.padEnd(12))} ${where}: ${r.reason}`];
  if (r.accessCritical && r.status !== 'ok') lines.push(`    ${c.yellow('access-critical:')} ${r.accessCritical}`);
  // check explains every difference; apply repeats the explanation only when asked (a first run changes everything)
  if (r.status === 'changed' && (o.check || o.diff || o.verbose)) lines.push(...driftLines(r, c));
  if (r.status === 'failed' && r.output) lines.push(...r.output.split('\n').map((l) => `    ${c.red('|')} ${l}`));
  if (o.diff) for (const d of r.diff) lines.push(...unifiedDiff(d).split('\n').map((l) => `    ${diffColour(c, l)}`));
  return lines;
}

/** Each difference in words: what, why it matters, where the cause lives, and the fix (apply's, or the command). */
function driftLines(r: TaskResult, c: ReturnType<typeof paint>): string[] {
  return (r.drift ?? []).flatMap((d) => [
    `    ${c.yellow('drift:')} ${d.what}`,
    `      why:   ${d.why}`,
    `      where: ${d.where}`,
    `      fix:   ${d.fix}`,
  ]);
}

function diffColour(c: ReturnType<typeof paint>, l: string): string {
  if (l.startsWith('+') && !l.startsWith('+++')) return c.green(l);
  if (l.startsWith('-') && !l.startsWith('---')) return c.red(l);
  return l;
}

export function formatEvent(e: EngineEvent, o: OutputOptions): string[] {
  if (e.type === 'task-done') return formatResult(e.host, e.result, o);
  if (e.type !== 'host-done') return [];
  const c = paint(o.color);
  const lines = (e.report.notes ?? []).map((n) => `${c.bold(e.host)} ${c.yellow('NOTE'.padEnd(12))} ${n}`);
  if (e.report.error) {
    const word = e.report.unreachable ? 'UNREACHABLE' : 'STOPPED';
    lines.push(`${c.bold(e.host)} ${c.red(word.padEnd(12))} ${e.report.error.split('\n').join('\n    ')}`);
  }
  return lines;
}

/** The closing table: one line per host, like Ansible's recap, plus what to do next. */
export function formatRecap(report: RunReport, o: OutputOptions): string[] {
  const c = paint(o.color);
  const hosts = Object.values(report.hosts);
  const width = Math.max(4, ...hosts.map((h) => h.host.length));
  const lines = ['', c.bold(o.check ? 'CHECK RECAP (nothing was changed)' : 'RECAP')];
  for (const h of hosts) lines.push(recapLine(h, width, o.check, c));
  const changed = hosts.reduce((n, h) => n + h.changed, 0);
  if (o.check && changed > 0) lines.push('', `${changed} change(s) pending; run \`shipshape apply\` with the same arguments to make them${o.diff ? '' : ' (add --diff to see them)'}.`);
  if (hosts.some((h) => h.unreachable)) {
    // check changes nothing anywhere: what it cannot say is whether the unreachable hosts drifted
    const next = o.check
      ? 'Unreachable hosts were not read: whether they drifted is unknown (exit 4, even where others drifted); fix the connection (see the message above) and re-run check.'
      : 'Unreachable hosts were not changed; fix the connection (see the message above) and re-run: hosts already done will report no change.';
    lines.push('', next);
  }
  return lines;
}

function recapLine(h: HostReport, width: number, check: boolean, c: ReturnType<typeof paint>): string {
  const changedWord = check ? 'would_change' : 'changed';
  const parts = [
    c.green(`ok=${h.ok}`),
    (h.changed ? c.yellow : (s: string) => s)(`${changedWord}=${h.changed}`),
    (h.failed ? c.red : (s: string) => s)(`failed=${h.failed}`),
    `skipped=${h.skipped}`,
    (h.unreachable ? c.red : (s: string) => s)(`unreachable=${h.unreachable ? 1 : 0}`),
  ];
  return `${h.host.padEnd(width)}  ${parts.join('  ')}`;
}

/** What the whole run cost on the controller (`stats` at the top of --json). */
export interface RunStats {
  /** ms from the process's start until the run started connecting (CLI start, loading, expansion) */
  startMs: number;
  /** the controller process's peak resident memory, MB */
  peakRssMb: number;
}

/** The --json document: the contract scripts rely on. */
export function toJson(report: RunReport, stats?: RunStats): string {
  const parts: string[] = [];
  writeJson(report, stats, (s) => parts.push(s));
  return parts.join('');
}

/**
 * The same document, written host by host: at 100 hosts the whole text at once (and the objects it is
 * made from) was the run's last peak of memory; one host's part at a time is ~30 KB. The text is the
 * one JSON.stringify(document, null, 2) gives.
 */
export function writeJson(report: RunReport, stats: RunStats | undefined, write: (text: string) => void): void {
  const names = Object.keys(report.hosts);
  const indent = (text: string) => text.replace(/\n/g, '\n    ');
  if (names.length === 0) return write(JSON.stringify({ ...(stats ? { stats } : {}), hosts: {} }, null, 2));
  write(`{\n${stats ? `  "stats": ${JSON.stringify(stats, null, 2).replace(/\n/g, '\n  ')},\n` : ''}  "hosts": {\n`);
  names.forEach((name, i) => write(`    ${JSON.stringify(name)}: ${indent(JSON.stringify(hostJson(report.hosts[name]), null, 2))}${i < names.length - 1 ? ',' : ''}\n`));
  write('  }\n}');
}

function hostJson(h: HostReport): unknown {
  return {
    ok: h.ok,
    changed: h.changed,
    failed: h.failed,
    skipped: h.skipped,
    unreachable: h.unreachable,
    ...(h.error ? { error: h.error } : {}),
    ...(h.notes?.length ? { notes: h.notes } : {}),
    ...((h as HostRunReport).moved ? { moved: (h as HostRunReport).moved } : {}),
    tasks: h.tasks.map((t) => ({
      name: t.name,
      role: t.role ?? null,
      module: t.module,
      status: t.status,
      reason: t.reason,
      diff: t.diff,
      ...(t.drift?.length ? { drift: t.drift } : {}),
      ...(t.accessCritical ? { access_critical: t.accessCritical } : {}),
      ...(t.output ? { output: t.output } : {}),
      duration_ms: t.durationMs,
    })),
    ...(h.stats ? { stats: h.stats } : {}),
  };
}

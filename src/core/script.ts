import { randomBytes } from 'node:crypto';
import type { Probe } from './probe.js';
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

export function renderBatch(batch: Batch, nonce: string): string {
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
  // markers carry the probe's index, not its id: ids may hold any character a path can
  batch.probes.forEach((p, i) => {
    out.push(begin('probe', String(i)));
    out.push(`(\n${p.script}\n) </dev/null 2>/dev/null; __ss_rc=$?`);
    out.push(end('probe', String(i)));
  });
  return out.join('\n') + '\n';
}

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function parseBatch(stdout: string, batch: Batch, nonce: string): BatchOutput {
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
  batch.probes.forEach((p, i) => {
    const s = sections.get(`probe:${i}`);
    if (s) probes.set(p.id, s);
  });
  const apply = batch.apply ? sections.get('apply:0') : undefined;
  const applyFailed = apply !== undefined && apply.code !== 0;
  const incomplete = (batch.apply !== undefined && apply === undefined) || (!applyFailed && probes.size < batch.probes.length);
  return { ...(batch.apply ? { apply } : {}), probes, incomplete };
}

/** Probes several tasks share (same id) run once. */
export function uniqueProbes(probes: Iterable<Probe>): Probe[] {
  const seen = new Map<string, Probe>();
  for (const p of probes) if (!seen.has(p.id)) seen.set(p.id, p);
  return [...seen.values()];
}

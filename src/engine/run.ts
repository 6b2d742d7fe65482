import type { HostReport } from '../core/result.js';
import type { ConnectionSpec, Transport } from '../transport/types.js';
import { runHost } from './host-run.js';
import type { EngineOptions, EventSink, PlayInstance } from './types.js';

export interface HostJob {
  spec: ConnectionSpec;
  plays: PlayInstance[];
}

export interface RunReport {
  hosts: Record<string, HostReport>;
}

/**
 * Hosts run in parallel, at most `forks` at a time; one host's failure never stops the others.
 * The jobs are consumed: a host's expanded plays are dropped from its job as soon as it starts, so
 * they live only as long as its run (at 100 hosts, every host's tasks would otherwise stay to the end).
 */
export async function runAll(
  jobs: HostJob[],
  opts: EngineOptions,
  makeTransport: (spec: ConnectionSpec) => Transport,
  emit: EventSink,
): Promise<RunReport> {
  const reports = new Map<string, HostReport>();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const plays = job.plays;
      job.plays = [];
      reports.set(job.spec.name, await runHost(job.spec, makeTransport, plays, opts, emit));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.forks, jobs.length)) }, worker));
  // report in inventory order, whatever order the hosts finished in
  return { hosts: Object.fromEntries(jobs.map((j) => [j.spec.name, reports.get(j.spec.name)!])) };
}

/** Exit codes are a contract with CI: 0 fine, 2 check found changes, 4 unreachable, 1 a task failed. */
export function exitCode(report: RunReport, check: boolean): number {
  const hosts = Object.values(report.hosts);
  if (hosts.some((h) => h.failed > 0 || (!h.unreachable && h.error))) return 1;
  if (hosts.some((h) => h.unreachable)) return 4;
  if (check && hosts.some((h) => h.changed > 0)) return 2;
  return 0;
}

import { Listr } from 'listr2';
import type { HostReport } from '../core/result.js';
import type { EngineEvent, EventSink } from '../engine/types.js';

/**
 * Live progress on a terminal: one line per host (spinner, current task, then its counts).
 * Returns the sink to feed engine events into and a promise that settles when rendering ends.
 */
export function terminalProgress(hosts: string[], check: boolean): { sink: EventSink; finished: Promise<void> } {
  const waiters = new Map<string, { update(e: EngineEvent): void; done(r: HostReport): void }>();
  // events of a host whose line listr has not started yet, kept per host (a flat list would be
  // searched once per host: quadratic at 100 hosts)
  const pending = new Map<string, EngineEvent[]>();
  const list = new Listr(
    hosts.map((host) => ({
      title: `${host}: waiting`,
      task: (_ctx: unknown, task: { title: string; output: string }) =>
        new Promise<void>((resolve, reject) => {
          let n = 0;
          waiters.set(host, {
            update(e) {
              if (e.type === 'task-start') task.title = `${host}: ${e.role ? e.role + ' | ' : ''}${e.task}`;
              if (e.type === 'task-done') n++;
              if (e.type === 'host-start') task.title = `${host}: connecting`;
            },
            done(r) {
              const word = check ? 'would change' : 'changed';
              task.title = `${host}: ${n} tasks, ${r.changed} ${word}, ${r.failed} failed${r.unreachable ? ', UNREACHABLE' : ''}`;
              if (r.failed || r.unreachable || r.error) reject(new Error(r.error ?? 'failed'));
              else resolve();
            },
          });
          const early = pending.get(host) ?? [];
          pending.delete(host);
          for (const e of early) this_update(e);
        }),
    })),
    // Ctrl-C is the run's to report (cli/interrupt.ts), not listr's (which would exit 127)
    { concurrent: true, exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseErrors: true } as never },
  );
  function this_update(e: EngineEvent) {
    const w = waiters.get(e.host);
    if (!w) {
      const list = pending.get(e.host);
      if (list) list.push(e);
      else pending.set(e.host, [e]);
      return;
    }
    if (e.type === 'host-done') w.done(e.report);
    else w.update(e);
  }
  const finished = list.run().then(
    () => undefined,
    () => undefined,
  );
  return { sink: this_update, finished };
}

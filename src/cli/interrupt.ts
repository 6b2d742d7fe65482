/**
 * Ctrl-C during a run: stop at once with exit 130 (128 + SIGINT, what shells report) and a report of
 * where every host stood, instead of dying silently halfway. Nothing on a host is left half-written by
 * stopping: files are replaced by rename, a package run cut short is finished by the next run's apt
 * (dpkg --configure -a), and an access-critical change not yet confirmed reverts itself on the host.
 */
import type { EngineEvent } from '../engine/types.js';

interface HostState {
  changed: string[];
  ok: number;
  failed: string[];
  running?: string;
  done?: boolean;
}

export function interruptReporter(hosts: string[], check: boolean, guardTimeoutSec: number) {
  const state = new Map<string, HostState>(hosts.map((h) => [h, { changed: [], ok: 0, failed: [] }]));
  const started = new Set<string>();
  const track = (e: EngineEvent) => {
    const s = state.get(e.host);
    if (!s) return;
    started.add(e.host);
    if (e.type === 'task-start') s.running = e.task;
    else if (e.type === 'task-done') {
      s.running = undefined;
      if (e.result.status === 'changed') s.changed.push(e.result.name);
      else if (e.result.status === 'failed') s.failed.push(e.result.name);
      else s.ok++;
    } else if (e.type === 'host-done') s.done = true;
  };
  const report = (): string => {
    const lines = [`interrupted (Ctrl-C): the run stopped; nothing more was started`];
    for (const [host, s] of state) {
      const what = check ? 'would change' : 'changed';
      const summary = `${s.changed.length ? `${what} ${s.changed.map((n) => `"${n}"`).join(', ')}` : `nothing ${what}`}${s.failed.length ? `; failed ${s.failed.map((n) => `"${n}"`).join(', ')}` : ''}`;
      if (s.done) lines.push(`  ${host}: finished before the interruption: ${summary}`);
      else if (!started.has(host)) lines.push(`  ${host}: not started, unchanged`);
      else
        lines.push(
          `  ${host}: interrupted${s.running ? ` during "${s.running}"` : ''}; ${summary}` +
            (s.running && !check ? `; "${s.running}" may or may not have been applied: re-run to converge` : ''),
        );
    }
    if (!check) lines.push(`an access-critical change that was not confirmed yet reverts itself on its host within ${guardTimeoutSec}s`);
    return lines.join('\n');
  };
  return { track, report };
}

/** Install the handler for the duration of a run; returns the uninstall. */
export function onInterrupt(report: () => string): () => void {
  const handler = () => {
    process.stderr.write(`\n${report()}\n`);
    process.exit(130);
  };
  process.once('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

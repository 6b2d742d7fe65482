// The controller at fleet scale without a fleet: 100 lab hosts do not fit in 2 cores, so N inventory
// entries are spread over the hosts shipshape just provisioned (see setup.ts simulatedEntries), each its own
// connection, and `check` runs over all of them at once (--forks N). What it shows: the controller's wall,
// CPU and memory as the entry count grows. What it does not: the hosts share the same 2 cores and several
// entries share one host's sshd, so wall time includes host-side contention a real fleet would not have,
// and the lab's network is a local bridge. Check only: it is read-only, while apply takes a lock on each
// host (entries sharing a host would wait on each other, which measures the lock, not the controller).
import fs from 'node:fs';
import path from 'node:path';
import type { Lab, LabHost } from '../lab/index.js';
import { measure, summarize, type Run, type Summary } from './measure.js';
import { simulatedEntries, writeShipshapeInventory } from './setup.js';
import { breakdown, type Breakdown } from './stats.js';
import { SHIPSHAPE_ENV, judgeShipshape, shipshapeArgv, timeouts } from './tools.js';

export interface SimPoint {
  entries: number;
  /** lab hosts the entries share */
  hosts: number;
  runs: Run[];
  summary: Summary;
  /** controller CPU seconds per entry (median run) */
  cpuPerEntryS: number;
  breakdown: Breakdown;
  problems: string[];
}

export async function simulate(
  o: { lab: Lab; hosts: LabHost[]; counts: number[]; repeat: number; logDir: string },
  progress: (msg: string) => void,
): Promise<SimPoint[]> {
  const points: SimPoint[] = [];
  for (const count of [...o.counts].sort((a, b) => a - b)) {
    const dir = path.join(o.logDir, `${count}-entries`);
    const entries = simulatedEntries(o.hosts, count);
    const inventoryDir = writeShipshapeInventory(path.join(dir, 'inventory'), o.lab, o.hosts, entries);
    const names = entries.map((e) => e.name);
    const timeoutMs = timeouts(count).againMs;
    const runs: Run[] = [];
    const problems: string[] = [];
    for (let i = 1; i <= o.repeat; i++) {
      // every entry at once: the controller's worst case for memory, and what "each its own connection" means
      const r = await measure(`check-${i}`, shipshapeArgv('check', inventoryDir, count), { timeoutMs, logDir: dir, env: SHIPSHAPE_ENV() });
      const found = r.timedOut ? [`timed out after ${timeoutMs / 1000} s`] : judgeShipshape(fs.readFileSync(r.stdoutPath, 'utf8'), r.exitCode, names, 'check');
      problems.push(...found.map((p) => `${count} entries check-${i}: ${p}`));
      progress(
        `simulate ${String(count).padStart(3)} entries check-${i} ${r.wallS.toFixed(2).padStart(6)} s wall  ${r.cpuS.toFixed(2).padStart(6)} s CPU  ` +
          `${Math.round(r.maxRssKb / 1024)} MB RSS${found.length ? '  NOT CONVERGED' : ''}`,
      );
      runs.push(r);
      if (found.length > 0) break;
    }
    const summary = summarize(runs);
    points.push({
      entries: count,
      hosts: Math.min(count, o.hosts.length),
      runs,
      summary,
      cpuPerEntryS: summary.cpuS / count,
      breakdown: breakdown(runs.map((r) => fs.readFileSync(r.stdoutPath, 'utf8'))),
      problems,
    });
    if (problems.length > 0) break;
  }
  return points;
}

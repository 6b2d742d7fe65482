// What a shipshape run says about itself in its --json `stats` (see /work README "Benchmark"): the bench
// reads only these fields (and GNU time), never engine internals. Every field is optional: a shipshape that
// does not report one yet shows "n/a" in the breakdown instead of failing the bench.
import { median } from './measure.js';

/** The documented `stats` of `shipshape ... --json`, as far as the bench reads them. */
interface RunStats {
  stats?: { startMs?: number; peakRssMb?: number };
  hosts?: Record<
    string,
    {
      stats?: {
        roundTrips?: number;
        timings?: { loginMs?: number; factsMs?: number; applyMs?: number };
        factScript?: { ms?: number; processes?: number };
      };
    }
  >;
}

/** A shipshape no-op (or check) taken apart: medians over every host of every run given. */
export interface Breakdown {
  /** runs read (a run without JSON is skipped) */
  runs: number;
  /** process start until the run starts connecting */
  startMs?: number;
  peakRssMb?: number;
  loginMs?: number;
  factsMs?: number;
  applyMs?: number;
  /** host-side wall time of the fact script, measured by the script itself */
  factScriptMs?: number;
  factScriptProcesses?: number;
  /** round trips per host: the fewest and the most any host of any run made */
  roundTrips?: { min: number; max: number };
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const med = (xs: number[]) => (xs.length > 0 ? median(xs) : undefined);

/** The breakdown of runs from their --json stdout texts; fields nobody reported stay undefined. */
export function breakdown(stdouts: string[]): Breakdown {
  const start: number[] = [];
  const rss: number[] = [];
  const login: number[] = [];
  const facts: number[] = [];
  const apply: number[] = [];
  const scriptMs: number[] = [];
  const procs: number[] = [];
  const trips: number[] = [];
  let runs = 0;
  for (const text of stdouts) {
    let doc: RunStats;
    try {
      doc = JSON.parse(text) as RunStats;
    } catch {
      continue;
    }
    runs++;
    if (num(doc.stats?.startMs)) start.push(doc.stats.startMs);
    if (num(doc.stats?.peakRssMb)) rss.push(doc.stats.peakRssMb);
    for (const h of Object.values(doc.hosts ?? {})) {
      const s = h.stats;
      if (num(s?.roundTrips)) trips.push(s.roundTrips);
      if (num(s?.timings?.loginMs)) login.push(s.timings.loginMs);
      if (num(s?.timings?.factsMs)) facts.push(s.timings.factsMs);
      if (num(s?.timings?.applyMs)) apply.push(s.timings.applyMs);
      if (num(s?.factScript?.ms)) scriptMs.push(s.factScript.ms);
      if (num(s?.factScript?.processes)) procs.push(s.factScript.processes);
    }
  }
  return {
    runs,
    startMs: med(start),
    peakRssMb: med(rss),
    loginMs: med(login),
    factsMs: med(facts),
    applyMs: med(apply),
    factScriptMs: med(scriptMs),
    factScriptProcesses: med(procs),
    roundTrips: trips.length > 0 ? { min: Math.min(...trips), max: Math.max(...trips) } : undefined,
  };
}

const ms = (v: number | undefined) => (v === undefined ? 'n/a' : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`);

/**
 * One line: where a no-op's time goes. The parts are the run's own measurements: they overlap with
 * each other and with the wall time only where the engine's phases do (hosts run in parallel).
 */
export function breakdownLine(b: Breakdown, plays: number): string {
  const trips = b.roundTrips === undefined ? 'n/a' : b.roundTrips.min === b.roundTrips.max ? `${b.roundTrips.min}` : `${b.roundTrips.min}-${b.roundTrips.max}`;
  const procs = b.factScriptProcesses === undefined ? 'n/a' : `${Math.round(b.factScriptProcesses)}`;
  return (
    `CLI start ${ms(b.startMs)}, SSH login ${ms(b.loginMs)}, facts ${ms(b.factsMs)} ` +
    `(fact script on the host ${ms(b.factScriptMs)}, ${procs} pids allocated meanwhile), apply ${ms(b.applyMs)}; ` +
    `round trips per host ${trips} (${plays} play${plays === 1 ? '' : 's'}); peak RSS ${b.peakRssMb === undefined ? 'n/a' : `${Math.round(b.peakRssMb)} MB`}`
  );
}

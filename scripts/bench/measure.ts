// One measured run of a controller command: wall time, CPU time and peak RSS from GNU time (Debian's
// `time` package), peak PSS of all its processes sampled from /proc, bounded by a timeout, no terminal.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLOCK_TICKS_PER_S, MemorySampler, sshMasters, waitGone } from './proc.js';

export const GNU_TIME = '/usr/bin/time';

export interface Run {
  label: string;
  argv: string[];
  exitCode: number | null;
  timedOut: boolean;
  wallS: number;
  /** user + system time of the command and every child it waited for, plus SSH masters it left */
  cpuS: number;
  /** of that: CPU of detached SSH ControlPersist masters (not seen by GNU time) */
  sshMasterCpuS: number;
  /** GNU time's %M: the largest resident set of one process of the run */
  maxRssKb: number;
  /** the largest sum of RSS over all processes of the run, as MemorySampler saw it (pages shared
   * between processes, e.g. Ansible's forked workers, are counted once per process: an upper bound) */
  peakRssSumKb: number;
  /** the same for PSS (shared pages split among sharers; depends on what else runs on the machine) */
  peakPssSumKb: number;
  memorySamples: number;
  /** CPU the bench process itself used during the run (mostly the memory sampling) */
  benchCpuS: number;
  stdoutPath: string;
  stderrPath: string;
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  /** where stdout, stderr and GNU time's output go, named after the label */
  logDir: string;
  /** a directory of OpenSSH ControlPersist sockets: those masters count, and are closed after the run */
  muxDir?: string;
}

/** Process groups of runs in progress, so an interrupted bench can end them (they are detached). */
const running = new Set<number>();

export function killRunning(): void {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export async function measure(label: string, argv: string[], o: MeasureOptions): Promise<Run> {
  fs.mkdirSync(o.logDir, { recursive: true });
  const base = path.join(o.logDir, label);
  const files = { out: `${base}.stdout`, err: `${base}.stderr`, time: `${base}.time` };
  const out = fs.openSync(files.out, 'w');
  const err = fs.openSync(files.err, 'w');
  const started = performance.now();
  // a process group of its own (detached) so a timeout can end the whole run; stdin is /dev/null
  const child = spawn(GNU_TIME, ['-o', files.time, '-f', '%e %M %U %S', ...argv], {
    cwd: o.cwd,
    env: o.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, err],
  });
  fs.closeSync(out);
  fs.closeSync(err);
  running.add(child.pid!);
  const sampler = new MemorySampler(child.pid!, o.muxDir);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, o.timeoutMs);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  clearTimeout(timer);
  running.delete(child.pid!);
  const wallFallback = (performance.now() - started) / 1000;
  sampler.sample();
  const benchCpuS = sampler.stop();
  const masterCpuS = o.muxDir ? await closeSshMasters(o.muxDir) : 0;

  // GNU time writes "Command exited with non-zero status N" first when the command fails
  const timeLine = fs.existsSync(files.time) ? fs.readFileSync(files.time, 'utf8').trim().split('\n').pop() ?? '' : '';
  const m = /^([\d.]+) (\d+) ([\d.]+) ([\d.]+)$/.exec(timeLine);
  return {
    label,
    argv,
    exitCode: timedOut ? null : exitCode,
    timedOut,
    wallS: m ? Number(m[1]) : wallFallback,
    cpuS: (m ? Number(m[3]) + Number(m[4]) : 0) + masterCpuS,
    sshMasterCpuS: masterCpuS,
    maxRssKb: m ? Number(m[2]) : 0,
    peakRssSumKb: sampler.peakRssKb,
    peakPssSumKb: sampler.peakPssKb,
    memorySamples: sampler.samples,
    benchCpuS,
    stdoutPath: files.out,
    stderrPath: files.err,
  };
}

/**
 * Ends the ControlPersist masters of a run (so the next run starts cold, like shipshape's) and
 * returns the CPU seconds they used: they did the run's encryption, and GNU time never waits for them.
 */
async function closeSshMasters(muxDir: string): Promise<number> {
  const masters = sshMasters(muxDir);
  const cpuS = masters.reduce((s, p) => s + p.cpuTicks, 0) / CLOCK_TICKS_PER_S;
  const signal = (sig: NodeJS.Signals) =>
    masters.forEach((p) => {
      try {
        process.kill(p.pid, sig);
      } catch {
        /* gone */
      }
    });
  signal('SIGTERM');
  if (!(await waitGone(masters.map((p) => p.pid), 5_000))) signal('SIGKILL');
  for (const f of fs.existsSync(muxDir) ? fs.readdirSync(muxDir) : []) fs.rmSync(path.join(muxDir, f), { force: true });
  return cpuS;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The median of every metric of repeated runs (each metric on its own). */
export interface Summary {
  runs: number;
  wallS: number;
  cpuS: number;
  maxRssKb: number;
  peakRssSumKb: number;
  peakPssSumKb: number;
}

export function summarize(runs: Run[]): Summary {
  return {
    runs: runs.length,
    wallS: median(runs.map((r) => r.wallS)),
    cpuS: median(runs.map((r) => r.cpuS)),
    maxRssKb: median(runs.map((r) => r.maxRssKb)),
    peakRssSumKb: median(runs.map((r) => r.peakRssSumKb)),
    peakPssSumKb: median(runs.map((r) => r.peakPssSumKb)),
  };
}

// The controller's processes, read from /proc: which belong to a measured run, and how much memory
// and CPU time they hold. No /proc/PID/task/*/children on every kernel, so the tree is rebuilt from
// the ppid field of every /proc/PID/stat (a few hundred small reads: a few ms).
import fs from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** R, S, D, Z (zombie: exited, not yet reaped)... */
  state: string;
  /** user + system CPU time so far, in clock ticks */
  cpuTicks: number;
}

/** Linux's USER_HZ: 100 on every architecture Debian builds for (`getconf CLK_TCK`). */
export const CLOCK_TICKS_PER_S = 100;

export function readStat(pid: number): ProcInfo | undefined {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: fields start after the LAST ')'
  const close = s.lastIndexOf(')');
  const rest = s.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15
  return { pid, ppid: Number(rest[1]), state: rest[0], comm: s.slice(s.indexOf('(') + 1, close), cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

export function allProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readStat(Number(name));
    if (p) out.push(p);
  }
  return out;
}

export function descendants(root: number, procs: ProcInfo[]): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

export function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * OpenSSH ControlPersist masters using sockets under `dir` (Ansible's connections). They detach from
 * the process that started them, so a process tree misses them; their title names the socket.
 */
export function sshMasters(dir: string, procs: ProcInfo[] = allProcesses()): ProcInfo[] {
  return procs.filter((p) => p.comm === 'ssh' && cmdlineOf(p.pid).includes(dir));
}

/**
 * Resident and proportional set size of one process, in kB. RSS counts every page the process maps,
 * shared or not; PSS splits each shared page among all processes sharing it (forked workers, but also
 * unrelated processes of the same binary elsewhere on the machine, which makes it depend on them).
 */
export function memoryKb(pid: number): { rss: number; pss: number } {
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { rss: field('Rss'), pss: field('Pss') };
  } catch {
    /* gone, or a kernel without smaps_rollup */
  }
  try {
    const rss = Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4;
    return { rss, pss: rss };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/**
 * Samples the memory of a measured run: every descendant of `root` plus the SSH masters under
 * `muxDir`. Keeps the peaks of the sums, and what the sampling itself cost (it shares the cores with
 * what it measures): 4 times a second for the first 5 s, where short runs peak, then once a second.
 */
export class MemorySampler {
  peakRssKb = 0;
  peakPssKb = 0;
  samples = 0;
  private timer: NodeJS.Timeout;
  private cpuStart = process.cpuUsage();

  constructor(
    private root: number,
    private muxDir?: string,
  ) {
    this.timer = setTimeout(() => this.tick(), 250);
  }

  private tick(): void {
    this.sample();
    this.timer = setTimeout(() => this.tick(), this.samples < 20 ? 250 : 1000);
  }

  sample(): void {
    const procs = allProcesses();
    const ours = new Map(descendants(this.root, procs).map((p) => [p.pid, p]));
    if (this.muxDir) for (const m of sshMasters(this.muxDir, procs)) ours.set(m.pid, m);
    let rss = 0;
    let pss = 0;
    for (const pid of ours.keys()) {
      const m = memoryKb(pid);
      rss += m.rss;
      pss += m.pss;
    }
    this.peakRssKb = Math.max(this.peakRssKb, rss);
    this.peakPssKb = Math.max(this.peakPssKb, pss);
    this.samples++;
  }

  /** Stops sampling; returns the sampler's own CPU seconds (it shares the cores with what it measures). */
  stop(): number {
    clearTimeout(this.timer);
    const u = process.cpuUsage(this.cpuStart);
    return (u.user + u.system) / 1e6;
  }
}

export async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (pids.every((p) => [undefined, 'Z', 'X'].includes(readStat(p)?.state))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// Whose pids the fact script's count holds (issue 15). The script counts the pids its host allocated while it
// ran (/proc/loadavg's last pid): its own processes, and what daemons start answering it (dockerd runs
// `runc --version` and `docker-init --version` for every /info). Once per round, after the timed runs, the bench
// follows one no-op on the first host with strace (sshd's listener, so the script's whole process tree, plus
// dockerd and containerd) and sorts every pid created while the script's shell lived into its own and others'.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sshOptions } from '../lab/index.js';
import { SHIPSHAPE_BIN, SITE } from './setup.js';
import { SHIPSHAPE_ENV } from './tools.js';

/** One pid of a trace: a process (fork, vfork, clone without CLONE_THREAD) or a thread. */
export interface TracedPid {
  pid: number;
  parent?: number;
  thread: boolean;
  /** seconds (strace -ttt) of the clone that created it */
  at?: number;
  /** the program of every successful execve, in order */
  execs: string[];
  /** the argv of the last successful execve, as strace shows it (long strings cut short) */
  argv?: string;
  /** seconds of its last successful execve */
  execAt?: number;
  exitedAt?: number;
}

/**
 * `strace -f -ttt -e trace=process` output ("PID SECONDS SYSCALL..."): every pid it saw, with its creator.
 * A clone that strace splits ("<unfinished ...>" then "<... clone resumed>") is joined by pid.
 */
export function parseProcessTrace(text: string): Map<number, TracedPid> {
  const pids = new Map<number, TracedPid>();
  const get = (pid: number) => {
    let p = pids.get(pid);
    if (!p) pids.set(pid, (p = { pid, thread: false, execs: [] }));
    return p;
  };
  const pending = new Map<number, { call: string; at: number }>();
  const created = (parent: number, call: string, child: number, at: number) => {
    const c = get(child);
    c.parent = parent;
    c.thread = call.includes('CLONE_THREAD');
    c.at = at;
  };
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [pid, at, rest] = [Number(m[1]), Number(m[2]), m[3]];
    get(pid);
    const call = /^(clone3?|vfork|fork)\((.*)$/.exec(rest);
    if (call) {
      const done = / = (\d+)$/.exec(rest);
      if (done) created(pid, rest, Number(done[1]), at);
      else if (rest.endsWith('<unfinished ...>')) pending.set(pid, { call: rest, at });
      continue;
    }
    const resumed = /^<\.\.\. (?:clone3?|vfork|fork) resumed>.* = (\d+)$/.exec(rest);
    if (resumed) {
      const p = pending.get(pid);
      pending.delete(pid);
      created(pid, `${p?.call ?? ''}${rest}`, Number(resumed[1]), p?.at ?? at);
      continue;
    }
    const exec = /^execve\("([^"]*)", \[(.*?)\](?:, | <unfinished)/.exec(rest);
    if (exec && !/ = -1 /.test(rest)) {
      const p = get(pid);
      p.execs.push(exec[1]);
      p.argv = exec[2];
      p.execAt = at;
      continue;
    }
    // an execve strace split, that failed after all (PATH lookups): not a program this pid runs
    if (/^<\.\.\. execve resumed>.* = -1 /.test(rest)) get(pid).execs.pop();
    if (/^\+\+\+ exited with /.test(rest) || /^exit_group\(/.test(rest)) get(pid).exitedAt ??= at;
  }
  return pids;
}

export interface ScriptPids {
  /** pids of the script's own process tree: every process it forked (subshells, the lanes' shells, commands) and their threads */
  own: number;
  /** of those, threads */
  ownThreads: number;
  /** what it ran, one entry per process (the program's base name; "(subshell)" for a fork that ran no program) */
  commands: string[];
  /** pids traced daemons created while the script's shell lived, by the daemon's program (threads and children alike) */
  others: Record<string, number>;
}

const base = (file: string) => file.slice(file.lastIndexOf('/') + 1);

/**
 * The script's shell is the `sh -s` the transport starts (become: sudo's `sh -c '... exec sh -s'`). Its tree is
 * the script's own; every other pid created between its exec and its exit belongs to whoever created it (a
 * traced daemon's threads or children), named after the daemon's program. undefined: no such shell in the trace.
 */
export function scriptPids(pids: Map<number, TracedPid>, attached: Map<number, string>): ScriptPids | undefined {
  const root = [...pids.values()].find((p) => p.argv === '"sh", "-s"');
  if (!root) return undefined;
  const children = new Map<number, TracedPid[]>();
  for (const p of pids.values()) if (p.parent !== undefined) (children.get(p.parent) ?? children.set(p.parent, []).get(p.parent)!).push(p);
  const mine = new Set<number>();
  const commands: string[] = [];
  let threads = 0;
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      mine.add(c.pid);
      if (c.thread) threads++;
      else commands.push(c.execs.length ? base(c.execs.at(-1)!) : '(subshell)');
      walk(c.pid);
    }
  };
  walk(root.pid);
  const from = root.execAt ?? -Infinity;
  const to = root.exitedAt ?? Infinity;
  const others: Record<string, number> = {};
  for (const p of pids.values()) {
    if (mine.has(p.pid) || p.pid === root.pid || p.parent === undefined || p.at === undefined || p.at < from || p.at > to) continue;
    const owner = daemonOf(p, pids, attached);
    others[owner] = (others[owner] ?? 0) + 1;
  }
  return { own: mine.size, ownThreads: threads, commands: commands.sort(), others };
}

/**
 * The daemon a pid descends from: its first ancestor that strace attached to (a daemon's thread, named by the
 * `attached` map the host printed), else the program of its oldest traced ancestor.
 */
function daemonOf(p: TracedPid, pids: Map<number, TracedPid>, attached: Map<number, string>): string {
  let at: TracedPid = p;
  const seen = new Set<number>();
  while (!attached.has(at.pid) && at.parent !== undefined && !seen.has(at.pid)) {
    seen.add(at.pid);
    at = pids.get(at.parent) ?? { pid: at.parent, thread: false, execs: [] };
  }
  return attached.get(at.pid) ?? (at.execs.length ? base(at.execs[0]) : `pid ${at.pid}`);
}

/** The count of one traced no-op, beside the pids its host allocated meanwhile (the script's own --json count). */
export interface ScriptProcessCount extends ScriptPids {
  host: string;
  /** stats.factScript.processes of the traced run */
  allocated?: number;
}

const TRACE = '/run/shipshape-bench-trace';

/**
 * On the host (root): strace installed from the lab's apt cache; attached to sshd's listener (every login's
 * process tree, the script's included) and to dockerd and containerd with all their threads, which are printed
 * as "@@attached TID PROGRAM" so their new pids can be named. Prints strace's pid once every attach is done.
 */
const START = `set -e
command -v strace >/dev/null || apt-get install -y -q -o DPkg::Lock::Timeout=120 --no-install-recommends strace </dev/null >/dev/null
set --; last=
for d in sshd dockerd containerd; do
  if [ $d = sshd ]; then p=$(cat /run/sshd.pid 2>/dev/null || :); else p=$(pidof $d || :); fi
  for x in $p; do set -- "$@" -p "$x"; last=$x; for t in /proc/$x/task/*; do echo "@@attached \${t##*/} $d"; done; done
done
[ $# -gt 0 ]
rm -f ${TRACE}
setsid strace -f -qq -ttt -e trace=process -o ${TRACE} "$@" </dev/null >/dev/null 2>&1 &
s=$!
i=0; while [ $i -lt 100 ]; do t=0; while read -r k v; do [ "$k" = TracerPid: ] && t=$v; done < /proc/$last/status; [ "$t" != 0 ] && break; sleep 0.1; i=$((i + 1)); done
sleep 0.5
echo "@@strace $s"`;

/** Ends strace (it detaches on SIGTERM and flushes), prints the trace and removes it. */
const stop = (pid: number) =>
  `kill ${pid}; i=0; while [ -e /proc/${pid} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; cat ${TRACE}; rm -f ${TRACE}`;

function run(argv: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: SHIPSHAPE_ENV() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/**
 * One no-op of the first host, traced (not one of the timed runs: strace slows every traced process down).
 * undefined, with the reason given to `say`, when the host cannot be traced (no sshd pid file: socket activation).
 */
export async function countScriptProcesses(
  host: { name: string; addr: string },
  inventoryDir: string,
  logDir: string,
  say: (msg: string) => void,
  ssh0: string[] = ['ssh', ...sshOptions()],
): Promise<ScriptProcessCount | undefined> {
  fs.mkdirSync(logDir, { recursive: true });
  const ssh = (script: string) => run([...ssh0, `deploy@${host.addr}`, 'sudo -n sh -s'], script);
  const started = await ssh(START);
  const tracer = Number(/^@@strace (\d+)$/m.exec(started.stdout)?.[1]);
  if (started.code !== 0 || !Number.isInteger(tracer)) {
    say(`counting the fact script's processes on ${host.name}: strace did not start (exit ${started.code}): ${started.stderr.trim().split('\n').pop() ?? ''}`);
    return undefined;
  }
  fs.writeFileSync(path.join(logDir, 'attached.txt'), started.stdout);
  const attached = new Map<number, string>();
  for (const m of started.stdout.matchAll(/^@@attached (\d+) (\S+)$/gm)) attached.set(Number(m[1]), m[2]);
  let text = '';
  let noop: Awaited<ReturnType<typeof run>> | undefined;
  try {
    noop = await run([SHIPSHAPE_BIN, 'apply', SITE, '-i', inventoryDir, '--json', '--yes', '--limit', host.name]);
  } finally {
    text = (await ssh(stop(tracer))).stdout;
    fs.writeFileSync(path.join(logDir, 'strace.txt'), text);
  }
  fs.writeFileSync(path.join(logDir, "noop.stdout"), noop?.stdout ?? "");
  const pids = scriptPids(parseProcessTrace(text), attached);
  if (!pids) {
    say(`counting the fact script's processes on ${host.name}: no \`sh -s\` in the trace (see ${logDir})`);
    return undefined;
  }
  let allocated: number | undefined;
  try {
    const p = (JSON.parse(noop?.stdout ?? "") as { hosts?: Record<string, { stats?: { factScript?: { processes?: number } } }> }).hosts?.[host.name]?.stats?.factScript?.processes;
    if (typeof p === 'number') allocated = p;
  } catch {
    /* no JSON: the count stands alone */
  }
  return { host: host.name, ...pids, ...(allocated === undefined ? {} : { allocated }) };
}

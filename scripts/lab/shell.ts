// Local process plumbing: zx for short commands (bash, local only), plain spawn for daemons,
// /proc for liveness. Remote/container shell strings never go through zx quoting (it is bash-only).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { $ } from 'zx';

/**
 * zx without echoing commands; throws on non-zero exit with stderr in the message. stdin is /dev/null:
 * nothing the lab runs may wait on a terminal or eat a caller's (CI's) input.
 */
export const sh = $({ quiet: true, stdio: ['ignore', 'pipe', 'pipe'] });
/** Same, but never throws: inspect `.exitCode`. */
export const shTry = $({ quiet: true, nothrow: true, stdio: ['ignore', 'pipe', 'pipe'] });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function log(msg: string): void {
  process.stderr.write(`lab: ${msg}\n`);
}

/** POSIX single-quote quoting, valid for dash (Debian's /bin/sh) as well as bash. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie: an orphan nobody reaped still has /proc/PID. */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The pid in `file` if that process is alive AND its command line matches: pid files outlive the
 * session that wrote them, and a recycled pid must never be mistaken for (or killed as) ours.
 */
export function livePid(file: string, matches: (argv: string[]) => boolean): number | undefined {
  const pid = readPid(file);
  return pid !== undefined && isAlive(pid) && matches(cmdline(pid)) ? pid : undefined;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

export async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** TERM, wait up to `graceMs`, then KILL. */
export async function terminate(pid: number, graceMs: number): Promise<void> {
  signal(pid, 'SIGTERM');
  if (await waitGone([pid], graceMs)) return;
  signal(pid, 'SIGKILL');
  await waitGone([pid], 5_000);
}

/**
 * Start a daemon in its own session (detached: no TTY, stdin /dev/null, output to a log file),
 * so it outlives this process and never holds a caller's pipes (vitest, CI) open.
 */
export function spawnDaemon(argv: string[], logFile: string, env: NodeJS.ProcessEnv = {}): number {
  const out = fs.openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...env },
    });
    child.on('error', (e) => log(`${argv[0]}: ${e.message}`));
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

/** Poll `probe` until it returns a value (not undefined) or the time is up. */
export async function retryUntil<T>(
  timeoutMs: number,
  intervalMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() + intervalMs > deadline) return undefined;
    await sleep(intervalMs);
  }
}

export function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

/** Write via a temporary file and rename, so readers (ssh, the engine) never see half a file. */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}

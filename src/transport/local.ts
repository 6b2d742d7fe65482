/**
 * Runs scripts on the controller itself through the same `sh -s` contract as SSH, so a playbook
 * can target `localhost` and tests can exercise real shell behaviour without any host.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BecomeNegotiator } from './become.js';
import { newRunTokens, runCommand } from './run-command.js';
import { feedScript, type ScriptProcess } from './feed-script.js';
import type { ConnectionSpec, ExecResult, RunOptions, Transport } from './types.js';

export interface LocalTransportOptions {
  /** receives sudo's own chatter (lecture, warnings) that is kept out of script stderr */
  log?: (message: string) => void;
}

export class LocalTransport implements Transport {
  constructor(
    readonly spec: ConnectionSpec,
    private readonly options: LocalTransportOptions = {},
  ) {}

  /** lives as long as this "connection": it reads our end of a pipe, which closes with close() or with this process */
  private keeper?: ChildProcess;

  get sessionPid(): number | undefined {
    if (!this.keeper) {
      const k = spawn('/bin/sh', ['-c', 'read _'], { stdio: ['pipe', 'ignore', 'ignore'] });
      k.on('error', () => undefined);
      k.stdin?.on('error', () => undefined);
      // never what keeps the controller alive
      k.unref();
      (k.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      this.keeper = k;
    }
    return this.keeper.pid;
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {
    const k = this.keeper;
    this.keeper = undefined;
    if (!k || k.exitCode !== null || k.signalCode !== null) return;
    // gone (and reaped) before close() returns: the next run on this host finds the lock free
    const gone = new Promise((res) => k.once('exit', res));
    // waited for: while it exits it must keep the event loop alive (it was unref'd)
    k.ref();
    k.stdin?.end();
    await gone;
  }

  async run(script: string, opts: RunOptions = {}): Promise<ExecResult> {
    // Here the "login user" is whoever runs shipshape, whatever the inventory says.
    const viaSudo = opts.become === true && process.getuid?.() !== 0;
    const tokens = newRunTokens();
    const hasPassword = this.spec.becomePassword !== undefined;
    const command = runCommand(tokens, !viaSudo ? 'none' : hasPassword ? 'sudo-password' : 'sudo');
    const proc = spawnShell(command);
    return feedScript(proc, {
      host: this.spec.name,
      script,
      timeoutMs: opts.timeoutMs,
      become: viaSudo
        ? {
            negotiator: new BecomeNegotiator(tokens, { host: this.spec.name, user: localUser(), hasPassword }),
            password: this.spec.becomePassword,
            timeoutMs: Math.max(this.spec.connectTimeoutMs, 10_000),
          }
        : undefined,
      onSudoNoise: (t) => this.options.log?.(`${this.spec.name}: sudo said: ${t.trim()}`),
    });
  }
}

function localUser(): string {
  return process.env.USER ?? process.env.LOGNAME ?? 'the current user';
}

/** `/bin/sh -c command` as a ScriptProcess; exported for tests that drive feedScript directly. */
export function spawnShell(command: string, env: NodeJS.ProcessEnv = process.env): ScriptProcess {
  // Own process group, so a timeout kills the script's children too, not just the shell.
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env });
  const done = new Promise<{ code: number | null }>((resolve) => {
    child.on('error', () => resolve({ code: null }));
    child.on('close', (code) => resolve({ code }));
  });
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, done, abort: kill, kill };
}

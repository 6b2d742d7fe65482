/**
 * Feeding one script to a running `sh -s` (or sudo wrapper), shared by the SSH channel and the
 * local child process so both behave the same: output collected as bytes and decoded once at the
 * end (a UTF-8 character may straddle chunks), become negotiated on stderr, timeouts that kill.
 */
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { BecomeNegotiator } from './become.js';
import { BecomeError, type ExecResult } from './types.js';

export interface ScriptProcess {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** settles once the process/channel has exited and its output streams are drained */
  done: Promise<{ code: number | null }>;
  /** stop while sudo is still negotiating: nothing of the script runs yet, closing our end is enough */
  abort(): void;
  /** the script overran its time: kill it and everything it started */
  kill(): void;
}

export interface FeedOptions {
  host: string;
  script: string;
  timeoutMs?: number;
  become?: {
    negotiator: BecomeNegotiator;
    password?: string;
    /** how long sudo may take to either prompt or start the shell */
    timeoutMs: number;
  };
  /** sudo's own chatter (lecture, warnings), which is kept out of the script's stderr */
  onSudoNoise?: (text: string) => void;
}

export async function feedScript(proc: ScriptProcess, opts: FeedOptions): Promise<ExecResult> {
  const out: Buffer[] = [];
  const errParts: string[] = [];
  const decoder = new StringDecoder('utf8');
  let becomeFailure: { message: string; hint: string } | undefined;
  let timedOut = false;
  let becomeTimer: NodeJS.Timeout | undefined;
  let runTimer: NodeJS.Timeout | undefined;

  // The far end may exit without reading all of stdin (a script that calls `exit` early);
  // the resulting EPIPE is not our error, the exit code tells the story.
  proc.stdin.on('error', () => {});

  const become = opts.become;
  const sendScript = () => proc.stdin.end(opts.script);

  proc.stdout.on('data', (b: Buffer) => out.push(b));
  proc.stderr.on('data', (b: Buffer) => {
    const text = decoder.write(b);
    if (!become || become.negotiator.isReady) {
      errParts.push(text);
      return;
    }
    for (const ev of become.negotiator.feed(text)) {
      if (ev.type === 'send-password') {
        proc.stdin.write(`${become.password ?? ''}\n`);
      } else if (ev.type === 'ready') {
        clearTimeout(becomeTimer);
        errParts.push(ev.stderr);
        sendScript();
      } else {
        becomeFailure = { message: ev.message, hint: ev.hint };
        proc.abort();
      }
    }
  });

  if (become) {
    becomeTimer = setTimeout(() => {
      if (become.negotiator.isReady || becomeFailure) return;
      becomeFailure = {
        message: `sudo on ${opts.host} neither asked for a password nor started a shell within ${Math.round(become.timeoutMs / 1000)}s`,
        hint: `run \`sudo -v\` on ${opts.host} by hand to see what it is waiting for (PAM prompt in another language? 2FA?)`,
      };
      proc.abort();
    }, become.timeoutMs);
  } else {
    sendScript();
  }
  if (opts.timeoutMs !== undefined) {
    runTimer = setTimeout(() => {
      timedOut = true;
      proc.kill();
    }, opts.timeoutMs);
  }

  let code: number | null;
  try {
    ({ code } = await proc.done);
  } finally {
    clearTimeout(becomeTimer);
    clearTimeout(runTimer);
  }
  errParts.push(decoder.end());

  if (become) {
    if (become.negotiator.sudoNoise.trim()) opts.onSudoNoise?.(become.negotiator.sudoNoise);
    if (!becomeFailure && !become.negotiator.isReady) becomeFailure = become.negotiator.explainEarlyExit(code);
    if (becomeFailure) throw new BecomeError(opts.host, becomeFailure.message, becomeFailure.hint);
  }
  let stderr = errParts.join('');
  if (timedOut) {
    stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}shipshape: killed after timeout of ${opts.timeoutMs} ms\n`;
    code = null;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr, code };
}

/**
 * Become (sudo) in one round trip. The exec'd command (see run-command.ts) is
 *   sudo -S -p PROMPT -- sh -c 'printf ... MARKER >&2; exec ... sh -s'      (with a password)
 *   sudo -n -- sh -c 'printf ... MARKER >&2; exec ... sh -s'                 (without: fail fast)
 * and stdin stays silent until stderr shows either PROMPT (send the password, once) or MARKER
 * (root shell is up: send the script). Nothing is written before one of them appears, so the
 * password can never be read by `sh -s` as a script line and the script never by sudo as a password.
 * The state machine here is pure so it can be tested without a host.
 */
import type { RunTokens } from './run-command.js';

export type BecomeEvent =
  | { type: 'send-password' }
  /** root shell is ready: write the script; `stderr` is script stderr that came in the same chunk */
  | { type: 'ready'; stderr: string }
  | { type: 'fail'; message: string; hint: string };

export interface BecomeContext {
  host: string;
  user: string;
  hasPassword: boolean;
}

/**
 * Feed it stderr text until it reports `ready`; after that stderr belongs to the script and
 * should bypass it. Text sudo prints before the marker (lecture, "unable to resolve host") is kept
 * in `sudoNoise` rather than mixed into the script's stderr.
 */
export class BecomeNegotiator {
  private buf = '';
  private promptsSeen = 0;
  private state: 'waiting' | 'ready' | 'failed' = 'waiting';
  sudoNoise = '';

  constructor(
    private readonly tokens: Pick<RunTokens, 'prompt' | 'marker'>,
    private readonly ctx: BecomeContext,
  ) {}

  get isReady(): boolean {
    return this.state === 'ready';
  }

  feed(chunk: string): BecomeEvent[] {
    if (this.state !== 'waiting') return [];
    this.buf += chunk;
    const events: BecomeEvent[] = [];
    for (;;) {
      const p = this.buf.indexOf(this.tokens.prompt);
      const m = this.buf.indexOf(this.tokens.marker + '\n');
      if (m !== -1 && (p === -1 || m < p)) {
        this.sudoNoise += this.buf.slice(0, m);
        const rest = this.buf.slice(m + this.tokens.marker.length + 1);
        this.buf = '';
        this.state = 'ready';
        events.push({ type: 'ready', stderr: rest });
        return events;
      }
      if (p === -1) return events;
      this.sudoNoise += this.buf.slice(0, p);
      this.buf = this.buf.slice(p + this.tokens.prompt.length);
      this.promptsSeen++;
      if (!this.ctx.hasPassword) {
        return this.fail(events, `sudo asked for a password on ${this.ctx.host}`, this.noPasswordHint());
      }
      if (this.promptsSeen > 1) {
        // sudo asks again only when the password was wrong; answering again would lock the account faster
        return this.fail(events, `sudo rejected the become password for ${this.ctx.user}@${this.ctx.host}`, this.wrongPasswordHint());
      }
      events.push({ type: 'send-password' });
    }
  }

  /** The channel ended before the marker: explain why from what sudo said and the exit code. */
  explainEarlyExit(code: number | null): { message: string; hint: string } {
    const said = (this.sudoNoise + this.buf).replaceAll(this.tokens.prompt, '').trim();
    const { host, user } = this.ctx;
    const tail = said ? `: ${said.split('\n').slice(-3).join(' / ')}` : '';
    if (/password is required/i.test(said)) {
      return { message: `sudo asked for a password on ${host}${tail}`, hint: this.noPasswordHint() };
    }
    if (/incorrect password|try again|authentication failure/i.test(said)) {
      return { message: `sudo rejected the become password for ${user}@${host}${tail}`, hint: this.wrongPasswordHint() };
    }
    if (/not in the sudoers|not allowed to (execute|run)|may not run sudo/i.test(said)) {
      return { message: `${user} may not use sudo on ${host}${tail}`, hint: `allow ${user} to run sudo on ${host}, or connect as root` };
    }
    if (/must have a tty/i.test(said)) {
      return { message: `sudo on ${host} requires a tty${tail}`, hint: `remove "Defaults requiretty" from sudoers on ${host}` };
    }
    if (code === 127 || /sudo: (command )?not found|sudo: No such file/i.test(said)) {
      return { message: `sudo is not installed on ${host}${tail}`, hint: `install sudo on ${host}, or connect as root` };
    }
    return { message: `become (sudo) failed on ${host} with exit code ${code ?? 'none'}${tail}`, hint: `check that ${user} can run \`sudo sh\` on ${host}` };
  }

  private fail(events: BecomeEvent[], message: string, hint: string): BecomeEvent[] {
    this.state = 'failed';
    events.push({ type: 'fail', message, hint });
    return events;
  }

  private noPasswordHint(): string {
    return `set become_password for ${this.ctx.host} or give ${this.ctx.user} NOPASSWD sudo`;
  }

  private wrongPasswordHint(): string {
    return `check become_password for ${this.ctx.host} (it must be ${this.ctx.user}'s sudo password)`;
  }
}

/**
 * A real terminal for the wizard's end-to-end test: the built CLI runs in a tmux pane (a pty, so TTY
 * detection, raw mode and Ctrl-C are the real ones), driven by send-keys and read by capture-pane.
 * Its own tmux server socket keeps it apart from anybody else's tmux.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SOCKET = 'ss-wizard-e2e';
const tmux = (...args: string[]) => run('tmux', ['-L', SOCKET, ...args], { timeout: 30_000 });

export class Terminal {
  private constructor(readonly name: string) {}

  /** Start `command` (a shell line) in a fresh 220x60 pane; the exit code is printed when it ends. */
  static async start(name: string, cwd: string, env: Record<string, string>, command: string): Promise<Terminal> {
    await tmux('kill-session', '-t', name).catch(() => undefined);
    const exports = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
    // a person at a terminal, even when the test itself runs in CI (CI=true makes init refuse to prompt)
    const line = `env -u CI ${exports} ${command}; echo "__EXIT=$?"; sleep 3600`;
    await tmux('new-session', '-d', '-s', name, '-x', '220', '-y', '60', '-c', cwd, line);
    await tmux('set-option', '-t', name, 'history-limit', '20000');
    return new Terminal(name);
  }

  /** Everything the pane shows, scrollback included, wrapped lines joined. */
  async screen(): Promise<string> {
    const r = await tmux('capture-pane', '-p', '-J', '-t', this.name, '-S', '-20000');
    return r.stdout;
  }

  async waitFor(re: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.screen();
      const m = s.match(re);
      if (m) return m;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${re}; the terminal shows:\n${s.slice(-6000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The active prompt: a line starting with "?" (inquirer marks answered ones with a check mark). */
  async prompt(message: string | RegExp, timeoutMs = 120_000): Promise<void> {
    const text = typeof message === 'string' ? message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : message.source;
    await this.waitFor(new RegExp(`^\\? ${text}`, 'm'), timeoutMs);
  }

  async keys(...keys: string[]): Promise<void> {
    await tmux('send-keys', '-t', this.name, ...keys);
  }

  async type(text: string): Promise<void> {
    await tmux('send-keys', '-t', this.name, '-l', text);
  }

  /** Wait for the prompt, type the answer (empty: keep the default), press Enter. */
  async answer(message: string | RegExp, text = '', timeoutMs?: number): Promise<void> {
    await this.prompt(message, timeoutMs);
    if (text) await this.type(text);
    await this.keys('Enter');
    // the prompt turns into its answered form before the next one is drawn
    await new Promise((r) => setTimeout(r, 150));
  }

  /** Select the n-th choice (0 = first) of a list prompt. */
  async choose(message: string | RegExp, index: number): Promise<void> {
    await this.prompt(message);
    for (let i = 0; i < index; i++) await this.keys('Down');
    await this.keys('Enter');
    await new Promise((r) => setTimeout(r, 150));
  }

  async exitCode(timeoutMs = 900_000): Promise<number> {
    const m = await this.waitFor(/^__EXIT=(\d+)$/m, timeoutMs);
    return Number(m[1]);
  }

  async close(): Promise<void> {
    await tmux('kill-session', '-t', this.name).catch(() => undefined);
  }
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

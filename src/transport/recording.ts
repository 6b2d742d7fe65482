/**
 * A transport for unit tests: nothing runs, every script is recorded, answers come from a responder
 * or a queue of canned results. Engine tests assert on `calls` to see exactly what a host would get.
 */
import type { ConnectionSpec, ExecResult, RunOptions, Transport } from './types.js';

export type Responder = (script: string, opts: RunOptions) => ExecResult | Promise<ExecResult>;

export interface RecordedCall {
  script: string;
  opts: RunOptions;
}

export function okResult(stdout = '', stderr = ''): ExecResult {
  return { stdout, stderr, code: 0 };
}

export function recordingSpec(name = 'test-host'): ConnectionSpec {
  return {
    name,
    host: name,
    port: 22,
    user: 'root',
    knownHostsFiles: [],
    acceptNewHostKeys: false,
    connectTimeoutMs: 1000,
    kind: 'ssh',
  };
}

export class RecordingTransport implements Transport {
  readonly calls: RecordedCall[] = [];
  connected = false;
  closed = false;
  private readonly responder: Responder;

  /**
   * `answers` is either a function of the script, or a list handed out in order
   * (running past its end is a test bug and throws, rather than quietly returning success).
   */
  constructor(
    answers: Responder | ExecResult[] = [],
    readonly spec: ConnectionSpec = recordingSpec(),
  ) {
    if (typeof answers === 'function') {
      this.responder = answers;
    } else {
      const queue = [...answers];
      this.responder = (script) => {
        const next = queue.shift();
        if (!next) throw new Error(`RecordingTransport: no canned result left for script:\n${script}`);
        return next;
      };
    }
  }

  /** just the scripts, for the common `expect(t.scripts).toEqual([...])` */
  get scripts(): string[] {
    return this.calls.map((c) => c.script);
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async run(script: string, opts: RunOptions = {}): Promise<ExecResult> {
    this.calls.push({ script, opts: { ...opts } });
    const r = await this.responder(script, opts);
    return { ...r };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

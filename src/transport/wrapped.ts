import type { ExecResult, RunOptions, Transport } from './types.js';

/**
 * A transport that hands every call to another: the base of wrappers that change one call (the Meter
 * counting, the host lock riding in round trips). A member added to Transport is forwarded here once,
 * not in every wrapper (sessionPid had to be added to each).
 */
export class WrappedTransport implements Transport {
  constructor(protected readonly inner: Transport) {}

  get spec() {
    return this.inner.spec;
  }

  get hostKey() {
    return this.inner.hostKey;
  }

  get sessionPid() {
    return this.inner.sessionPid;
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  run(script: string, opts?: RunOptions): Promise<ExecResult> {
    return this.inner.run(script, opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

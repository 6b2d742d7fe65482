/**
 * Counting what a run costs on one host, at the one place that talks to hosts: every `run()` of a
 * transport is one round trip (one exec channel, one script on `sh -s`), every `connect()` one
 * login. A Meter is shared by all the transports of one host in a run (the first login, the guard's
 * confirmation logins, a re-login after a reboot), so its counts are the host's, whatever
 * connection carried them. Costs nothing measurable: two clock reads per call.
 */
import type { ExecResult, RunOptions, Transport } from './types.js';
import { WrappedTransport } from './wrapped.js';

/** What a round trip was for, as its caller says: reading facts, or applying (steps, lock, guard). */
export type TripKind = 'facts' | 'apply';

export interface HostTimings {
  /** time spent in logins (the first one, and every confirmation or re-login) */
  loginMs: number;
  /** round trips that only read the host (the play's probes, re-reads after a change) */
  factsMs: number;
  /** every other round trip: steps, the host lock, the guard's arm/disarm/confirmation */
  applyMs: number;
}

export class Meter {
  roundTrips = 0;
  logins = 0;
  readonly timings: HostTimings = { loginMs: 0, factsMs: 0, applyMs: 0 };
  /** the kind the round trips of the moment are counted as; the engine runs one trip at a time per host */
  private kind: TripKind = 'apply';

  /** Count the round trips of `f` as `kind` (then back to what it was). */
  async as<T>(kind: TripKind, f: () => Promise<T>): Promise<T> {
    const before = this.kind;
    this.kind = kind;
    try {
      return await f();
    } finally {
      this.kind = before;
    }
  }

  /** The transport, counted: the engine wraps every transport it makes for a host. */
  wrap(t: Transport): Transport {
    return new MeteredTransport(t, this);
  }

  /** @internal */
  trip(ms: number): void {
    this.roundTrips++;
    this.timings[this.kind === 'facts' ? 'factsMs' : 'applyMs'] += ms;
  }

  /** @internal */
  login(ms: number): void {
    this.logins++;
    this.timings.loginMs += ms;
  }
}

class MeteredTransport extends WrappedTransport {
  private connected = false;

  constructor(
    inner: Transport,
    private readonly meter: Meter,
  ) {
    super(inner);
  }

  override async connect(): Promise<void> {
    if (this.connected) return this.inner.connect();
    const started = performance.now();
    try {
      await this.inner.connect();
      this.connected = true;
    } finally {
      this.meter.login(performance.now() - started);
    }
  }

  override async run(script: string, opts?: RunOptions): Promise<ExecResult> {
    // run() connects when needed: a login that happens here is the login's time, not the trip's
    if (!this.connected) await this.connect();
    const started = performance.now();
    try {
      return await this.inner.run(script, opts);
    } finally {
      this.meter.trip(performance.now() - started);
    }
  }
}

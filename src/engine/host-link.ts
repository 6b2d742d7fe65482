import { UnreachableError, type ConnectionSpec, type Transport } from '../transport/types.js';

export type MakeTransport = (spec: ConnectionSpec) => Transport;

export type Confirmation = { ok: true; transport: Transport } | { ok: false; why: string };

/**
 * The connection to one host as it evolves during a run: it may start as the bootstrap user
 * (a fresh VPS lets only root in), and after a guarded change it moves to the credentials the
 * inventory names (deploy user, new port). Notes tell the operator what changed and what to edit.
 */
export class HostLink {
  current!: Transport;
  readonly notes: string[] = [];

  constructor(
    /** the inventory's connection: where the host should be reachable after the run */
    readonly spec: ConnectionSpec,
    private readonly make: MakeTransport,
  ) {}

  async open(): Promise<void> {
    const first = this.make(this.spec);
    try {
      await first.connect();
      this.current = first;
    } catch (err) {
      await first.close().catch(() => undefined);
      const boot = this.spec.bootstrapUser;
      if (!(err instanceof UnreachableError && err.kind === 'auth' && boot && boot !== this.spec.user)) throw err;
      const fallback = this.make({ ...this.spec, user: boot });
      try {
        await fallback.connect();
      } catch (bootErr) {
        await fallback.close().catch(() => undefined);
        if (bootErr instanceof UnreachableError) {
          throw new UnreachableError(this.spec.name, `${err.message}; and as bootstrap_user ${boot}: ${bootErr.message}`, err.hint, err.kind);
        }
        throw bootErr;
      }
      this.current = fallback;
      this.notes.push(`${this.spec.user} could not log in yet; connected as bootstrap_user ${boot}`);
    }
  }

  /**
   * A NEW login with the credentials the inventory will use from now on (its user, and `port` when
   * the change moved sshd), then `sudo -n true` when the play uses become. Never reuses the current
   * connection: an open session survives sshd and firewall changes that refuse new ones.
   */
  async confirm(port: number | undefined, become: boolean): Promise<Confirmation> {
    const cur = this.current.spec;
    const spec: ConnectionSpec = {
      ...this.spec,
      port: port ?? cur.port,
      connectTimeoutMs: Math.min(this.spec.connectTimeoutMs, 15_000),
      ...(this.current.hostKey ? { pinnedHostKey: this.current.hostKey } : {}),
      ...(this.spec.knownHostsFiles[0] && !this.spec.knownHostsWriteFile ? { knownHostsWriteFile: this.spec.knownHostsFiles[0] } : {}),
    };
    const who = `${spec.user}@${spec.host}:${spec.port}`;
    let t = this.make(spec);
    try {
      // sshd re-executes itself on reload and refuses connections for a moment: retry that, not auth
      for (let attempt = 0; ; attempt++) {
        try {
          await t.connect();
          break;
        } catch (err) {
          const retriable = err instanceof UnreachableError && err.kind !== 'auth' && err.kind !== 'hostkey';
          if (!retriable || attempt >= 8) throw err;
          await t.close().catch(() => undefined);
          await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
          t = this.make(spec);
        }
      }
      const r = await t.run('true\n', { become, timeoutMs: 20_000 });
      if (r.code !== 0) throw new Error(`sudo -n true failed: ${r.stderr.trim() || `exit ${r.code}`}`);
      return { ok: true, transport: t };
    } catch (err) {
      await t.close().catch(() => undefined);
      const hint = err instanceof UnreachableError && err.hint ? ` (${err.hint})` : '';
      return { ok: false, why: `a new login as ${who}${become ? ' with sudo' : ''} failed: ${(err as Error).message}${hint}` };
    }
  }

  /** Continue the run on a confirmed login; tell the operator when the inventory no longer matches. */
  async switchTo(t: Transport): Promise<void> {
    if (t === this.current) return;
    const old = this.current;
    this.current = t;
    await old.close().catch(() => undefined);
    if (t.spec.port !== this.spec.port) {
      this.notes.push(`sshd now listens on port ${t.spec.port}: set \`port: ${t.spec.port}\` for ${this.spec.name} in the inventory (it says ${this.spec.port}) before the next run`);
    }
  }

  async close(): Promise<void> {
    await this.current?.close().catch(() => undefined);
  }
}

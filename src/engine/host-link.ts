import { homedir } from 'node:os';
import type { ParsedKey } from 'ssh2';
import { blobKeyType, fingerprintSha256 } from '../transport/known-hosts.js';
import { shq } from '../core/quote.js';
import type { LoginMemory } from './login-memory.js';
import { UnreachableError, type ConnectionSpec, type Transport } from '../transport/types.js';

export type MakeTransport = (spec: ConnectionSpec) => Transport;

export type Confirmation = { ok: true; transport: Transport } | { ok: false; why: string; authRefused?: boolean };

/** The public keys (base64 blobs) a login with this spec offers, or undefined when that cannot be known. */
export type OfferedKeys = (spec: ConnectionSpec) => Promise<string[] | undefined>;

/** sshd moved during the run: the inventory must say `port: to` from now on. */
export interface PortMove {
  from: number;
  to: number;
}

/**
 * The connection to one host as it evolves during a run: it may start as the bootstrap user
 * (a fresh VPS lets only root in), and after a guarded change it moves to the credentials the
 * inventory names (deploy user, new port). Notes tell the operator what changed and what to edit.
 */
export class HostLink {
  current!: Transport;
  readonly notes: string[] = [];
  /** why the inventory's user could not log in, when the run fell back to bootstrap_user */
  userRefused?: UnreachableError;
  moved?: PortMove;
  /** check mode: the login apply would be using by now (after predicted port and user moves) */
  predicted?: { port: number; user: string };

  constructor(
    /** the inventory's connection: where the host should be reachable after the run */
    readonly spec: ConnectionSpec,
    private readonly make: MakeTransport,
    readonly offeredKeys: OfferedKeys = controllerKeys,
    /** hosts that needed bootstrap_user last time (none: every run tries the inventory's user first) */
    private readonly memory?: LoginMemory,
  ) {}

  /** Connected as bootstrap_user because the inventory's user was refused. */
  get onBootstrap(): boolean {
    return this.userRefused !== undefined;
  }

  async open(): Promise<void> {
    if (await this.openAsRemembered()) return;
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
          // the fix is the bootstrap login's: the inventory user exists only once a run got in as bootstrap_user
          const hint = bootErr.hint ?? err.hint;
          throw new UnreachableError(this.spec.name, `${err.message}; and as bootstrap_user ${boot}: ${bootErr.message}`, hint && `${hint} (until a first run has created ${this.spec.user}, it logs in as ${boot})`, err.kind);
        }
        throw bootErr;
      }
      this.current = fallback;
      this.userRefused = err;
      this.notes.push(`${this.spec.user} could not log in yet; connected as bootstrap_user ${boot}`);
      await this.memory?.remember(this.spec).catch(() => undefined);
    }
  }

  /**
   * The last run reached this host only as bootstrap_user: log in as that user directly while the
   * inventory's user does not exist on the host, instead of a refused login (an "Invalid user" line
   * for fail2ban) on every run. Once the user exists, forget it: the next login tries it first.
   */
  private async openAsRemembered(): Promise<boolean> {
    const { spec, memory } = this;
    const boot = spec.bootstrapUser;
    if (!memory || !boot || boot === spec.user || !(await memory.needsBootstrap(spec).catch(() => false))) return false;
    const t = this.make({ ...spec, user: boot });
    try {
      await t.connect();
      const r = await t.run(`id -u ${shq(spec.user)} >/dev/null 2>&1\n`);
      if (r.code === 1) {
        this.current = t;
        this.userRefused = new UnreachableError(spec.name, `user ${spec.user} does not exist on ${spec.host} yet`, undefined, 'auth');
        this.notes.push(`${spec.user} does not exist on ${spec.host} yet; connected as bootstrap_user ${boot} without trying ${spec.user} (a refused login would feed fail2ban)`);
        return true;
      }
    } catch {
      // bootstrap_user no longer gets in (root login off): the normal order finds the way
    }
    await t.close().catch(() => undefined);
    await memory.forget(spec).catch(() => undefined);
    return false;
  }

  /**
   * A NEW login with the credentials the inventory will use from now on (its user, and `port` when
   * the change moved sshd), then `sudo -n true` when the play uses become. Never reuses the current
   * connection: an open session survives sshd and firewall changes that refuse new ones. Gives up
   * at `deadline` (ms since the epoch): by then the host's own timer reverts the change anyway.
   */
  async confirm(port: number | undefined, become: boolean, deadline = Date.now() + 60_000): Promise<Confirmation> {
    const cur = this.current.spec;
    const spec: ConnectionSpec = {
      ...this.spec,
      port: port ?? cur.port,
      ...(this.spec.knownHostsFiles[0] && !this.spec.knownHostsWriteFile ? { knownHostsWriteFile: this.spec.knownHostsFiles[0] } : {}),
    };
    // The new login must reach THIS server: only the host keys read over the verified connection
    // are accepted (never --accept-new-host-keys), and the one it presents is recorded when it is
    // not on record yet: a new port has no known_hosts line, and the change itself may have dropped
    // the key type on record (the ssh role keeps only ed25519 and RSA host keys).
    const pins = await this.hostKeys();
    const r = await this.login({ ...spec, acceptNewHostKeys: false, ...(pins.length ? { pinnedHostKeys: pins } : {}) }, become, deadline);
    if (!r.ok && r.authRefused && spec.user === 'root') return { ...r, why: r.why + (await this.rootLoginOff()) };
    return r;
  }

  /**
   * An inventory written the Ansible way (`user: root`, no bootstrap_user) meets our own ssh role:
   * root was refused right after the change because the change turned root login off. Say so, and
   * what to write instead, rather than "put a key in ~root/.ssh/authorized_keys".
   */
  private async rootLoginOff(): Promise<string> {
    const r = await this.current.run("sshd -T 2>/dev/null | grep -i '^permitrootlogin '\n", { become: true }).catch(() => undefined);
    const value = r?.stdout.trim().split(/\s+/)[1];
    if (value !== 'no') return '';
    return (
      `. The cause is this change itself: it sets PermitRootLogin no, so root, the inventory's user for ${this.spec.name}, cannot log in after it. ` +
      `Log in as the deploy user from now on: in the inventory write \`user: deploy\` (the user the deploy_user role creates with your keys) ` +
      `and \`bootstrap_user: root\` (used only while deploy does not exist yet), then re-run`
    );
  }

  /**
   * After a revert: does a fresh login with the connection the run had before the change work
   * again? That is what "reachable as before" means to the operator.
   */
  async verifyPrevious(become: boolean): Promise<{ ok: boolean; who: string; why?: string }> {
    const spec = this.current.spec;
    const who = `${spec.user}@${spec.host}:${spec.port}`;
    const r = await this.login(spec, become, Date.now() + 30_000);
    if (!r.ok) return { ok: false, who, why: r.why };
    await r.transport.close().catch(() => undefined);
    return { ok: true, who };
  }

  /** The public host keys of the server, read over the verified connection (and the one it verified with). */
  private async hostKeys(): Promise<string[]> {
    const r = await this.current.run('cat /etc/ssh/ssh_host_*_key.pub 2>/dev/null\n').catch(() => undefined);
    const keys = (r?.stdout ?? '')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([type, blob]) => blob && blobKeyType(Buffer.from(blob, 'base64')) === type)
      .map(([, blob]) => blob);
    return [...new Set([...keys, this.current.hostKey])].filter((k): k is string => k !== undefined);
  }

  /** One new login plus a command; sshd re-executes on reload and refuses connections for a moment, so that is retried. */
  private async login(spec: ConnectionSpec, become: boolean, deadline: number, attempts = 9): Promise<Confirmation> {
    const left = () => deadline - Date.now();
    const limited = (s: ConnectionSpec) => ({ ...s, connectTimeoutMs: Math.max(1_000, Math.min(s.connectTimeoutMs, 15_000, left())) });
    const who = `${spec.user}@${spec.host}:${spec.port}`;
    let t = this.make(limited(spec));
    try {
      for (let attempt = 0; ; attempt++) {
        const started = Date.now();
        try {
          await t.connect();
          break;
        } catch (err) {
          // refused or reset while sshd restarts: retry; a time-out means packets are dropped (a
          // firewall): retrying only delays the revert
          const timedOut = Date.now() - started >= t.spec.connectTimeoutMs * 0.9;
          const retriable = err instanceof UnreachableError && err.kind !== 'auth' && err.kind !== 'hostkey' && !timedOut;
          const pause = 250 * (attempt + 1);
          if (!retriable || attempt >= attempts - 1 || left() < pause + 1_000) throw err;
          await t.close().catch(() => undefined);
          await new Promise((r) => setTimeout(r, pause));
          t = this.make(limited(spec));
        }
      }
      const r = await t.run('true\n', { become, timeoutMs: Math.max(5_000, Math.min(20_000, left())) });
      if (r.code !== 0) throw new Error(`${become ? 'sudo -n true' : 'a command'} failed: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`}`);
      return { ok: true, transport: t };
    } catch (err) {
      await t.close().catch(() => undefined);
      const refused = err instanceof UnreachableError && err.kind === 'auth';
      // for a refused root login the hint ("put a key in ~root/.ssh/authorized_keys") may be wrong: confirm() says more
      const hint = err instanceof UnreachableError && err.hint && !(refused && spec.user === 'root') ? ` (${err.hint})` : '';
      return { ok: false, why: `a new login as ${who}${become ? ' with sudo' : ''} failed: ${(err as Error).message}${hint}`, ...(refused ? { authRefused: true } : {}) };
    }
  }

  /**
   * One new login as the connection in use now (same user, port and keys): after a reboot. One
   * attempt only: the caller paces retries, so a `ufw limit` rule for SSH never sees a burst.
   */
  async relogin(become: boolean, deadline: number): Promise<Confirmation> {
    return this.login(this.current.spec, become, deadline, 1);
  }

  /** Continue the run on a confirmed login; remember when the inventory no longer matches. */
  async switchTo(t: Transport): Promise<void> {
    if (t === this.current) return;
    const old = this.current;
    this.current = t;
    this.userRefused = undefined;
    if (t.spec.user === this.spec.user) await this.memory?.forget(this.spec).catch(() => undefined);
    await old.close().catch(() => undefined);
    if (t.spec.port !== this.spec.port) this.moved = { from: this.spec.port, to: t.spec.port };
  }

  async close(): Promise<void> {
    await this.current?.close().catch(() => undefined);
  }
}

/** "ssh-ed25519 SHA256:..." for messages: fingerprints, never whole keys. */
export function describeKey(blob: string): string {
  const key = Buffer.from(blob, 'base64');
  return `${blobKeyType(key) ?? 'key'} ${fingerprintSha256(key)}`;
}

/**
 * What the SSH transport will offer for this spec: the identity files it would load (as planAuth
 * decides) and the keys in ssh-agent. Undefined when it cannot be known for sure: then nobody
 * should refuse a run on the strength of it.
 */
export async function controllerKeys(spec: ConnectionSpec): Promise<string[] | undefined> {
  if (spec.kind !== 'ssh') return undefined;
  const agentSocket = process.env.SSH_AUTH_SOCK ?? null;
  // loaded here, not at start: only a bootstrap login ever asks (see loginKeysRefusal)
  const { planAuth } = await import('../transport/ssh-auth.js');
  const plan = planAuth(spec, { home: homedir(), agentSocket });
  const keys: string[] = [];
  for (const c of plan.candidates) {
    if (c.method.type === 'publickey') keys.push((c.method.key as ParsedKey).getPublicSSH().toString('base64'));
    else if (c.method.type === 'agent') {
      // IdentitiesOnly: the agent may sign only for the configured files' keys
      const agent = c.method.agent as unknown;
      if (agent && typeof agent === 'object' && 'allowed' in agent) {
        keys.push(...(agent as { allowed: string[] }).allowed);
        continue;
      }
      const fromAgent = await agentKeys(agentSocket!);
      if (!fromAgent) return undefined;
      keys.push(...fromAgent);
    } else return undefined;
  }
  return keys;
}

async function agentKeys(socket: string): Promise<string[] | undefined> {
  const { default: ssh2 } = await import('ssh2');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 3_000);
    try {
      ssh2.createAgent(socket).getIdentities((err, keys) => {
        clearTimeout(timer);
        resolve(err || !keys ? undefined : keys.map((k) => (k as ParsedKey).getPublicSSH().toString('base64')));
      });
    } catch {
      clearTimeout(timer);
      resolve(undefined);
    }
  });
}

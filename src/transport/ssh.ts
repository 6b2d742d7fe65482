/**
 * SSH transport: one connection per host for the whole run; every run() is one exec channel with
 * the script on stdin of `sh -s` (optionally behind sudo, see become.ts).
 *
 * The connection is made by node-ssh, which takes ssh2's own options (hostVerifier, authHandler,
 * algorithms, sock) unchanged and exposes the ssh2 client as `.connection`; node-ssh's forwardOut
 * carries ProxyJump. Its execCommand is not used for scripts: it cannot hold stdin back until sudo
 * has asked for the password (become.ts), so channels are opened on `.connection` directly.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { NodeSSH } from 'node-ssh';
import type ssh2 from 'ssh2';
import type { ClientChannel, ServerHostKeyAlgorithm } from 'ssh2';
import { BecomeNegotiator } from './become.js';
import { killScript, newRunTokens, runCommand } from './run-command.js';
import { feedScript, type ScriptProcess } from './feed-script.js';
import type { AuthPlan } from './ssh-auth.js';
import { hostKeyAlgorithms, makeHostKeyCheck } from './ssh-hostkey.js';
import { loadKnownHosts } from './known-hosts.js';
import { UnreachableError, type ConnectionSpec, type ExecResult, type RunOptions, type Transport } from './types.js';

export interface SshTransportOptions {
  /** home of the controller user: ~/.ssh/{known_hosts,config,id_*} (tests point it elsewhere) */
  home?: string;
  /** ssh-agent socket; defaults to $SSH_AUTH_SOCK, null disables the agent */
  agentSocket?: string | null;
  /** notes worth showing the operator: skipped keys, accepted host keys, sudo chatter */
  log?: (message: string) => void;
}

/** OpenSSH allows 10 sessions per connection (MaxSessions); start below it. */
const MAX_CHANNELS = 8;

export class SshTransport implements Transport {
  private conn?: ssh2.Client;
  private ssh?: NodeSSH;
  /** the ProxyJump hop this connection runs through */
  private bastion?: SshTransport;
  private connecting?: Promise<void>;
  private readonly home: string;
  private active = 0;
  private limit = MAX_CHANNELS;
  private readonly waiting: (() => void)[] = [];
  hostKey?: string;

  constructor(
    readonly spec: ConnectionSpec,
    private readonly options: SshTransportOptions = {},
  ) {
    this.home = options.home ?? homedir();
  }

  private log(message: string): void {
    this.options.log?.(`${this.spec.name}: ${message}`);
  }

  connect(): Promise<void> {
    if (this.conn) return Promise.resolve();
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<void> {
    const { spec } = this;
    const where = `${spec.user}@${spec.host}:${spec.port}`;
    const defaultKnownHosts = join(this.home, '.ssh', 'known_hosts');
    const entries = await loadKnownHosts([...spec.knownHostsFiles, defaultKnownHosts]).catch((err: Error) => {
      throw new UnreachableError(spec.name, `cannot read known_hosts: ${err.message}`, 'fix the permissions of the known_hosts files');
    });
    const writeFile = spec.knownHostsWriteFile ?? defaultKnownHosts;
    let agentSocket = this.options.agentSocket === undefined ? (process.env.SSH_AUTH_SOCK ?? null) : this.options.agentSocket;
    if (agentSocket && !existsSync(agentSocket)) {
      this.log(`ssh-agent socket ${agentSocket} does not exist; going on without the agent`);
      agentSocket = null;
    }
    const sock = spec.jump ? await this.throughBastion(spec.jump) : undefined;
    // the SSH library is loaded by the first connection, not at start: `--help`, input errors and
    // the local transport never pay for it
    const [{ NodeSSH }, { makeAuthHandler, planAuth }] = await Promise.all([import('node-ssh'), import('./ssh-auth.js')]);

    for (let attempt = 0; ; attempt++) {
      const hostKey = makeHostKeyCheck(spec, entries, writeFile, (m) => this.log(m));
      const plan = planAuth(spec, { home: this.home, agentSocket });
      if (attempt === 0) plan.notes.forEach((n) => this.log(n));
      const tried: string[] = [];
      const ssh = new NodeSSH();
      try {
        await ssh.connect({
          ...(sock ? { sock } : { host: spec.host, port: spec.port }),
          username: spec.user,
          readyTimeout: spec.connectTimeoutMs,
          keepaliveInterval: 15_000,
          keepaliveCountMax: 4,
          hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
            // called during the key exchange, before login: the place to change how ssh2 handles what follows it
            if (ssh.connection) ignoreHostKeysAnnouncement(ssh.connection);
            hostKey.verifier(key, verify);
          },
          algorithms: { serverHostKey: hostKeyAlgorithms(entries, spec) as ServerHostKeyAlgorithm[] },
          authHandler: makeAuthHandler(plan, tried),
        });
      } catch (err) {
        ssh.dispose();
        const e = err as Error & { level?: string };
        // a broken agent: go on without it, once (ssh2 would have skipped it; node-ssh stops at any error)
        if (e.level === 'agent' && agentSocket && attempt === 0 && !hostKey.problem()) {
          this.log(`ssh-agent failed (${e.message}); trying again without it`);
          agentSocket = null;
          continue;
        }
        await this.bastion?.close();
        throw hostKey.problem() ?? this.explain(e, where, plan, tried);
      }
      const conn = ssh.connection!;
      // Every round trip is a small write waiting for its answer: with Nagle's algorithm on, the second and
      // later trips of a connection each waited for the host's delayed ACK (exec of `sudo -n true` 51-56 ms
      // against 7-11 ms, Debian 12 and 13 lab hosts). A first run's 57 trips paid it each: its round trips
      // outside apt 5.9 -> 4.4 s, facts 529 -> 237 ms (Debian 12, one fresh host each).
      conn.setNoDelay(true);
      conn.on('error', (err: Error) => this.log(`connection error: ${err.message}`));
      conn.on('close', () => {
        if (this.conn === conn) this.conn = undefined;
      });
      this.hostKey = hostKey.accepted();
      this.ssh = ssh;
      this.conn = conn;
      return;
    }
  }

  /**
   * ProxyJump: log in to the bastion (its own host key checked, its own credentials) and open a
   * TCP channel from it to this host; the login to this host runs inside that channel, end to end,
   * so the bastion never sees our keys, the sudo password or the scripts.
   */
  private async throughBastion(jump: ConnectionSpec): Promise<Duplex> {
    const { spec } = this;
    const bastion = new SshTransport(
      { ...jump, acceptNewHostKeys: spec.acceptNewHostKeys, connectTimeoutMs: spec.connectTimeoutMs, ...(spec.knownHostsWriteFile ? { knownHostsWriteFile: spec.knownHostsWriteFile } : {}) },
      this.options,
    );
    const via = `${jump.user}@${jump.host}:${jump.port}`;
    try {
      await bastion.connect();
    } catch (err) {
      const e = err as UnreachableError;
      throw new UnreachableError(spec.name, `cannot reach the bastion ${via} (ProxyJump in ~/.ssh/config): ${e.message}`, e.hint, e.kind === 'hostkey' ? 'hostkey' : 'network');
    }
    this.bastion = bastion;
    try {
      return await bastion.forwardTo(spec.host, spec.port);
    } catch (err) {
      await bastion.close();
      throw new UnreachableError(spec.name, `the bastion ${via} could not connect to ${spec.host}:${spec.port}: ${(err as Error).message}`, `check that ${jump.host} can reach ${spec.host} on port ${spec.port}`);
    }
  }

  /** A TCP channel from this host to another (this transport as a bastion). */
  forwardTo(host: string, port: number): Promise<Duplex> {
    if (!this.ssh) return Promise.reject(new Error('not connected'));
    return this.ssh.forwardOut('127.0.0.1', 0, host, port);
  }

  private explain(err: Error & { level?: string; code?: string }, where: string, plan: AuthPlan, tried: string[]): UnreachableError {
    const { spec } = this;
    const secs = Math.round(spec.connectTimeoutMs / 1000);
    const notes = plan.notes.length ? ` (${plan.notes.join('; ')})` : '';
    if (err.level === 'client-authentication') {
      const offered = tried.length ? tried.join(', ') : 'nothing: no agent and no usable key';
      return new UnreachableError(
        spec.name,
        `authentication failed for user ${spec.user} at ${spec.host}:${spec.port}; tried ${offered}${notes}`,
        (tried.length
          ? `make sure one of these keys is in ~${spec.user}/.ssh/authorized_keys on ${spec.host}, or set identity_file for ${spec.name}`
          : `create a key (ssh-keygen -t ed25519) and install it with ssh-copy-id -p ${spec.port} ${spec.user}@${spec.host}`) +
          (spec.user === 'root' && !spec.bootstrapUser
            ? `; if ${spec.name} was hardened (shipshape's ssh role sets PermitRootLogin no), root cannot log in any more: write \`user: deploy\` (the deploy_user role's user) and \`bootstrap_user: root\` in the inventory`
            : ''),
        'auth',
      );
    }
    if (err.code === 'ECONNREFUSED') {
      return new UnreachableError(spec.name, `connection refused by ${spec.host}:${spec.port}`, `is sshd running on ${spec.host} and listening on port ${spec.port}?`);
    }
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.level === 'client-dns') {
      return new UnreachableError(spec.name, `cannot resolve host name ${spec.host}`, `check the address of ${spec.name} in the inventory`);
    }
    if (err.level === 'client-timeout' || ['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(err.code ?? '')) {
      return new UnreachableError(
        spec.name,
        `no SSH connection to ${spec.host}:${spec.port} within ${secs}s (${err.message})`,
        `check the address and port, and that no firewall drops port ${spec.port}`,
      );
    }
    return new UnreachableError(spec.name, `cannot connect to ${where}: ${err.message}`);
  }

  async run(script: string, opts: RunOptions = {}): Promise<ExecResult> {
    await this.connect();
    return this.exec(script, opts, true);
  }

  /** `limited` is false only for the kill script, which must get through even when every slot is taken. */
  private async exec(script: string, opts: RunOptions, limited: boolean): Promise<ExecResult> {
    const { spec } = this;
    const viaSudo = opts.become === true && spec.user !== 'root';
    const hasPassword = spec.becomePassword !== undefined;
    const tokens = newRunTokens();
    const command = runCommand(tokens, !viaSudo ? 'none' : hasPassword ? 'sudo-password' : 'sudo');
    if (limited) await this.acquire();
    try {
      const channel = await this.openChannel(command, limited);
      const proc = channelProcess(channel, () => this.killRemote(tokens.runId, viaSudo));
      return await feedScript(proc, {
        host: spec.name,
        script,
        timeoutMs: opts.timeoutMs,
        become: viaSudo
          ? {
              negotiator: new BecomeNegotiator(tokens, { host: spec.name, user: spec.user, hasPassword }),
              password: spec.becomePassword,
              // sudo waits ~2s after a wrong password before asking again; leave room for that
              timeoutMs: Math.max(spec.connectTimeoutMs, 10_000),
            }
          : undefined,
        onSudoNoise: (t) => this.log(`sudo said: ${t.trim()}`),
      });
    } finally {
      if (limited) this.release();
    }
  }

  /** Fire and forget: the timed-out run is reported either way, this only cleans up the host. */
  private killRemote(runId: string, become: boolean): void {
    const failed = (why: string) => this.log(`could not kill the timed-out script: ${why}`);
    this.exec(killScript(runId), { become, timeoutMs: 30_000 }, false).then(
      (r) => r.code !== 0 && failed(r.stderr.trim() || `exit code ${r.code}`),
      (err: Error) => failed(err.message),
    );
  }

  private async openChannel(command: string, limited: boolean): Promise<ClientChannel> {
    for (let attempt = 1; ; attempt++) {
      const conn = this.conn;
      if (!conn) throw new UnreachableError(this.spec.name, `connection to ${this.spec.host} was lost`, 'run again once the host is back');
      try {
        return await new Promise<ClientChannel>((resolve, reject) => conn.exec(command, (err, ch) => (err ? reject(err) : resolve(ch))));
      } catch (err) {
        // sshd refuses sessions beyond MaxSessions (10 by default, fewer after some hardening) and frees
        // a slot only a moment after a channel closed: back off, and run fewer channels from now on.
        const message = (err as Error).message;
        if (!/open failed/i.test(message) || attempt >= 8) {
          throw new UnreachableError(this.spec.name, `cannot start a session on ${this.spec.host}: ${message}`, 'check MaxSessions and the sshd log on the host');
        }
        if (limited) this.limit = Math.max(1, Math.min(this.limit, this.active - 1));
        await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
      }
    }
  }

  private async acquire(): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }

  async close(): Promise<void> {
    const conn = this.conn;
    const bastion = this.bastion;
    this.conn = undefined;
    this.bastion = undefined;
    if (conn) {
      await new Promise<void>((resolve) => {
        conn.once('close', () => resolve());
        this.ssh?.dispose();
      });
    }
    this.ssh = undefined;
    await bastion?.close();
  }
}

const HOSTKEYS_ANNOUNCEMENT = 'hostkeys-00@openssh.com';

/**
 * After login OpenSSH's sshd announces all its host keys (hostkeys-00@openssh.com, for the client's
 * UpdateHostKeys), and ssh2 answers every announcement by asking the server to prove it holds each one
 * (hostkeys-prove-00): sshd then signs with every host key, RSA included, and ssh2 parses each key and
 * verifies each signature, one more round trip, for its "hostkeys" event that nothing here listens to
 * (pinned keys are read by the guard over a verified login instead). Measured on the lab: about 5 ms of the
 * host's CPU and 1 ms of the controller's per connection. The announcement needs no answer (it is sent
 * without want-reply); anything else, or an announcement that does want one, goes to ssh2 as before.
 * ssh2 has no option for this: its protocol object looks its handlers up by name for every message.
 */
export function ignoreHostKeysAnnouncement(conn: ssh2.Client): void {
  type GlobalRequest = (p: unknown, name: string, wantReply: boolean, data: unknown) => void;
  const handlers = (conn as unknown as { _protocol?: { _handlers?: { GLOBAL_REQUEST?: GlobalRequest & { ignoresHostKeys?: true } } } })._protocol?._handlers;
  const next = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof next !== 'function' || next.ignoresHostKeys) return;
  const handler: GlobalRequest & { ignoresHostKeys?: true } = (p, name, wantReply, data) => {
    if (name === HOSTKEYS_ANNOUNCEMENT && !wantReply) return;
    next(p, name, wantReply, data);
  };
  handler.ignoresHostKeys = true;
  handlers.GLOBAL_REQUEST = handler;
}

/** After abort or kill, how long to wait for sshd to close the channel before walking away from it. */
const GIVE_UP_MS = 5_000;

function channelProcess(channel: ClientChannel, killRemote: () => void): ScriptProcess {
  let finish!: (r: { code: number | null }) => void;
  let code: number | null = null;
  const done = new Promise<{ code: number | null }>((resolve) => (finish = resolve));
  // exit carries (code) normally, (null, signal, ...) when killed; a broken connection sends neither
  channel.on('exit', (c: number | null) => (code = typeof c === 'number' ? c : null));
  channel.on('close', () => finish({ code }));
  // sshd answers our close only once the session process has exited and its output is drained
  const giveUpLater = () =>
    setTimeout(() => {
      channel.close();
      finish({ code: null });
    }, GIVE_UP_MS).unref();
  return {
    stdin: channel,
    stdout: channel,
    stderr: channel.stderr,
    done,
    abort: () => {
      channel.destroy();
      giveUpLater();
    },
    kill: () => {
      killRemote();
      giveUpLater();
    },
  };
}

/** Everything needed to reach one host. Built by the inventory loader; consumed only by transports. */
export interface ConnectionSpec {
  /** inventory name of the host, used in messages */
  name: string;
  /** address or name to connect to (after ~/.ssh/config HostName resolution) */
  host: string;
  port: number;
  user: string;
  /** private key path on the controller; when absent: ssh-agent, then ~/.ssh/config IdentityFile, then ~/.ssh/id_* */
  identityFile?: string;
  /** sudo password; never printed, never logged */
  becomePassword?: string;
  /** extra known_hosts files (e.g. inventory/known_hosts); ~/.ssh/known_hosts is always consulted */
  knownHostsFiles: string[];
  /** record unknown host keys instead of refusing (OpenSSH accept-new). A changed key is always refused. */
  acceptNewHostKeys: boolean;
  /** where accepted keys are written (default ~/.ssh/known_hosts) */
  knownHostsWriteFile?: string;
  connectTimeoutMs: number;
  /**
   * who to log in as while `user` cannot log in yet: a fresh cloud VPS only lets root in, and the
   * deploy user the inventory names from then on is created by the first run
   */
  bootstrapUser?: string;
  /**
   * base64 host keys of this server, read over a connection already verified (the guard's new
   * login, on the same or a new SSH port). When set, ONLY these keys are accepted, whatever
   * known_hosts or --accept-new-host-keys say: the new login must reach the same server. A pinned
   * key not yet on record for host:port is recorded (OpenSSH's UpdateHostKeys, in spirit).
   */
  pinnedHostKeys?: string[];
  /**
   * offer only the configured identity files (and agent keys matching them), as OpenSSH's
   * IdentitiesOnly: set by an inventory identity_file or `IdentitiesOnly yes` in ~/.ssh/config, so
   * a host with MaxAuthTries 3 and fail2ban never sees a row of wrong keys first
   */
  identitiesOnly?: boolean;
  /** ProxyJump: the bastion to reach this host through (itself possibly behind another) */
  jump?: ConnectionSpec;
  /** HostKeyAlias from ~/.ssh/config: the name host keys are looked up and recorded under */
  hostKeyAlias?: string;
  /** 'ssh' (default) or 'local' (run on the controller itself) */
  kind: 'ssh' | 'local';
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** exit status of the remote script; null when it died by signal or the connection broke */
  code: number | null;
}

export interface RunOptions {
  /** run as root through sudo (no-op when the login user is already root) */
  become?: boolean;
  timeoutMs?: number;
}

/**
 * The only thing in shipshape that talks to hosts. Every remote action is one POSIX sh script
 * fed on stdin to `sh -s` (dash on Debian), so a whole batch of probes or steps is one round trip.
 */
export interface Transport {
  readonly spec: ConnectionSpec;
  /** base64 of the host key the connection verified (ssh only, once connected) */
  readonly hostKey?: string;
  /**
   * A process on the host that lives exactly as long as this connection, when the transport knows it
   * (a local transport's keeper). Over SSH the host finds it itself: the sshd session above the script.
   * The host lock is tied to it, so the end of the run releases the lock without a round trip.
   */
  readonly sessionPid?: number;
  connect(): Promise<void>;
  run(script: string, opts?: RunOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

/** Raised when a host cannot be reached or refuses us; the engine reports the host as unreachable. */
export class UnreachableError extends Error {
  constructor(
    readonly host: string,
    message: string,
    /** what the operator should do next */
    readonly hint?: string,
    /** 'auth' when the host answered but refused our credentials (a bootstrap user may still get in) */
    readonly kind: 'auth' | 'hostkey' | 'network' | 'other' = 'other',
  ) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/**
 * Raised when the host was reached but `become` could not get a root shell (no NOPASSWD and no
 * become_password, wrong password, user not in sudoers, sudo missing). Nothing of the script ran.
 */
export class BecomeError extends Error {
  constructor(
    readonly host: string,
    message: string,
    /** what the operator should do next */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'BecomeError';
  }
}

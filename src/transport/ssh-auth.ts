/**
 * Which credentials to offer. The configured identity files come first: an inventory identity_file,
 * then IdentityFile lines from ~/.ssh/config. With IdentitiesOnly (an identity_file in the inventory,
 * or `IdentitiesOnly yes`), ONLY those are offered, as in OpenSSH: the agent may still sign for them
 * (a passphrase-protected file whose key is in the agent) but offers none of its other keys. Otherwise
 * the agent follows, then the default key names when no file was configured. Every key offered that
 * the server refuses counts against its MaxAuthTries (3 after the ssh role) and shows up in the log
 * fail2ban reads: the right key first, and as few wrong ones as possible.
 * Keys we cannot use (missing, encrypted, not a private key) are skipped with a note instead of
 * aborting, because one of the others may well work; the notes end up in the error if none does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthHandlerMiddleware, ParsedKey } from 'ssh2';
import { loadSshConfig } from './ssh-config.js';
import type { ConnectionSpec } from './types.js';

export interface AuthCandidate {
  /** how the candidate is named in "tried: ..." messages */
  label: string;
  method: AnyAuthMethod;
}

export interface AuthPlan {
  candidates: AuthCandidate[];
  notes: string[];
}

export interface AuthPlanOptions {
  home: string;
  /** SSH_AUTH_SOCK, or null for "no agent" */
  agentSocket: string | null;
  sshConfigPath?: string;
}

function expandHome(p: string, home: string): string {
  return p === '~' || p.startsWith('~/') ? home + p.slice(1) : p;
}

/** ssh-agent restricted to some public keys: IdentitiesOnly lets the agent sign only for configured files. */
class OnlyTheseKeysAgent extends ssh2.OpenSSHAgent {
  constructor(
    socket: string,
    readonly allowed: string[],
  ) {
    super(socket);
  }

  override getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    super.getIdentities((err, keys) => {
      if (err || !keys) return cb(err ?? undefined, keys as ParsedKey[] | undefined);
      cb(undefined, (keys as ParsedKey[]).filter((k) => this.allowed.includes(k.getPublicSSH().toString('base64'))));
    });
  }
}

/** The public key blob of `path.pub`, for asking the agent to sign for an encrypted identity file. */
function publicBlob(path: string): string | undefined {
  try {
    const [, b64] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/);
    return b64;
  } catch {
    return undefined;
  }
}

export function planAuth(spec: ConnectionSpec, opts: AuthPlanOptions): AuthPlan {
  const username = spec.user;
  const candidates: AuthCandidate[] = [];
  const notes: string[] = [];

  const explicit: string[] = [];
  if (spec.identityFile) explicit.push(expandHome(spec.identityFile, opts.home));
  const aliases = [...new Set([spec.name, spec.host])];
  let configOnly = false;
  for (const alias of aliases) {
    const cfg = loadSshConfig(alias, { home: opts.home, path: opts.sshConfigPath });
    explicit.push(...cfg.identityFiles);
    configOnly ||= cfg.identitiesOnly === true;
  }
  const only = spec.identitiesOnly === true || configOnly;
  const defaults = explicit.length ? [] : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => join(opts.home, '.ssh', n));

  const seen = new Set<string>();
  // encrypted configured files whose public key the agent may hold
  const forAgent: string[] = [];
  const loadFile = (path: string, isExplicit: boolean) => {
    if (seen.has(path)) return;
    seen.add(path);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      if (isExplicit) notes.push(`identity file ${path} could not be read (${(err as NodeJS.ErrnoException).code ?? err})`);
      return;
    }
    const parsed = ssh2.utils.parseKey(data) as ParsedKey | ParsedKey[] | Error;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || !key) {
      const msg = key instanceof Error ? key.message : 'no key found';
      const blob = /passphrase|encrypted/i.test(msg) ? publicBlob(path) : undefined;
      if (blob && opts.agentSocket) forAgent.push(blob);
      notes.push(
        /passphrase|encrypted/i.test(msg)
          ? `skipped ${path}: it is passphrase-protected; load it into ssh-agent (ssh-add ${path}) to use it`
          : `skipped ${path}: not a usable private key (${msg})`,
      );
      return;
    }
    if (!key.isPrivateKey()) {
      notes.push(`skipped ${path}: it holds a public key, not a private one`);
      return;
    }
    candidates.push({ label: path, method: { type: 'publickey', username, key } });
  };
  for (const path of explicit) loadFile(path, true);

  if (opts.agentSocket) {
    if (!only) {
      candidates.push({ label: `ssh-agent (${opts.agentSocket})`, method: { type: 'agent', username, agent: opts.agentSocket } });
    } else if (forAgent.length) {
      const agent = new OnlyTheseKeysAgent(opts.agentSocket, forAgent);
      candidates.push({ label: `ssh-agent (${opts.agentSocket}), only the keys of the identity files`, method: { type: 'agent', username, agent } });
    }
  }
  if (!only) for (const path of defaults) loadFile(path, false);
  if (only && candidates.length === 0) notes.push('IdentitiesOnly: only the configured identity files are offered, and none of them is usable');
  return { candidates, notes };
}

/**
 * ssh2 authHandler over the plan; records what was actually offered so an auth failure can say so.
 * The server's list of remaining methods is respected (an agent offers public keys).
 */
export function makeAuthHandler(plan: AuthPlan, tried: string[]): AuthHandlerMiddleware {
  const queue = [...plan.candidates];
  // ssh2 passes null lists on the first call and accepts `false` for "give up", unlike its typings say
  return (methodsLeft: string[] | null, _partial, next) => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const wire = c.method.type === 'agent' ? 'publickey' : c.method.type;
      if (methodsLeft && !methodsLeft.includes(wire)) continue;
      tried.push(c.label);
      next(c.method);
      return;
    }
    (next as unknown as (m: false) => void)(false);
  };
}

/**
 * Which credentials to offer, in OpenSSH's spirit: ssh-agent, the inventory's identity file,
 * IdentityFile lines from ~/.ssh/config, then the default key names. Keys we cannot use (missing,
 * encrypted without a passphrase, not a private key) are skipped with a note instead of aborting,
 * because one of the others may well work; the notes end up in the error if none does.
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

export function planAuth(spec: ConnectionSpec, opts: AuthPlanOptions): AuthPlan {
  const username = spec.user;
  const candidates: AuthCandidate[] = [];
  const notes: string[] = [];
  if (opts.agentSocket) {
    candidates.push({ label: `ssh-agent (${opts.agentSocket})`, method: { type: 'agent', username, agent: opts.agentSocket } });
  }

  // Explicit files deserve a note when missing; the default names are only guesses.
  const files: { path: string; explicit: boolean }[] = [];
  if (spec.identityFile) files.push({ path: expandHome(spec.identityFile, opts.home), explicit: true });
  const aliases = [...new Set([spec.name, spec.host])];
  for (const alias of aliases) {
    for (const f of loadSshConfig(alias, { home: opts.home, path: opts.sshConfigPath }).identityFiles) {
      files.push({ path: f, explicit: true });
    }
  }
  for (const n of ['id_ed25519', 'id_ecdsa', 'id_rsa']) files.push({ path: join(opts.home, '.ssh', n), explicit: false });

  const seen = new Set<string>();
  for (const { path, explicit } of files) {
    if (seen.has(path)) continue;
    seen.add(path);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      if (explicit) notes.push(`identity file ${path} could not be read (${(err as NodeJS.ErrnoException).code ?? err})`);
      continue;
    }
    const parsed = ssh2.utils.parseKey(data) as ParsedKey | ParsedKey[] | Error;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || !key) {
      const msg = key instanceof Error ? key.message : 'no key found';
      notes.push(
        /passphrase|encrypted/i.test(msg)
          ? `skipped ${path}: it is passphrase-protected; load it into ssh-agent (ssh-add ${path}) to use it`
          : `skipped ${path}: not a usable private key (${msg})`,
      );
      continue;
    }
    if (!key.isPrivateKey()) {
      notes.push(`skipped ${path}: it holds a public key, not a private one`);
      continue;
    }
    candidates.push({ label: path, method: { type: 'publickey', username, key } });
  }
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

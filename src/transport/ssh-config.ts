/**
 * Just enough of ~/.ssh/config for shipshape to reach the same hosts the operator's own `ssh` reaches:
 * HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump and HostKeyAlias. OpenSSH rules kept:
 * keywords are case-insensitive, the first value obtained wins (IdentityFile accumulates), `Host`
 * patterns take `*`, `?` and `!negation`. `Match` blocks are skipped (their conditions need a live
 * connection); `Include` is followed when a reader is given. Keywords that change where or how
 * `ssh` connects and that shipshape cannot honour are reported in `unsupported`, so the caller
 * refuses the host instead of quietly connecting some other way.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';

export interface SshConfigResult {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  /** IdentitiesOnly yes: offer only the configured identity files (no other agent keys, no defaults) */
  identitiesOnly?: boolean;
  /** ProxyJump as written (`none` already dropped): `[user@]host[:port]`, comma-separated for a chain */
  proxyJump?: string;
  hostKeyAlias?: string;
  /** keywords in effect for this host that would change the connection and are not supported */
  unsupported?: { keyword: string; value: string; why: string }[];
}

/** lower-case keyword -> why shipshape refuses a host whose config sets it */
const UNSUPPORTED: Record<string, string> = {
  proxycommand: 'ProxyCommand runs a program shipshape cannot run; use ProxyJump to go through a bastion',
  certificatefile: 'user certificates are not supported by the SSH library (ssh2); use a plain key in authorized_keys',
  pkcs11provider: 'PKCS#11 keys are not supported; load the key into ssh-agent and leave PKCS11Provider to ssh-add',
  securitykeyprovider: 'security keys (sk-*) are not supported by the SSH library (ssh2)',
  canonicalizehostname: 'CanonicalizeHostname changes which host is reached; set HostName explicitly',
  remotecommand: 'RemoteCommand would replace the commands shipshape runs',
};

export interface ResolveOptions {
  /** for `~` and `%d`; defaults to the current user's home */
  home?: string;
  /** for `%u` */
  localUser?: string;
  /** returns the texts of the files an `Include` argument names (already glob-expanded) */
  readInclude?: (pattern: string) => string[];
}

function splitArgs(rest: string): string[] {
  const args: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(rest); m; m = re.exec(rest)) args.push(m[1] ?? m[2]);
  return args;
}

/** `Keyword value`, `Keyword=value` or `Keyword = value`; returns undefined for blank/comment lines. */
function parseLine(raw: string): { key: string; args: string[] } | undefined {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return undefined;
  const m = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*)$/.exec(line);
  if (!m) return undefined;
  return { key: m[1].toLowerCase(), args: splitArgs(m[2]) };
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/** A `Host` line applies when one pattern matches and no negated pattern does. */
export function hostPatternsMatch(patterns: string[], alias: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), alias)) return false;
    } else if (wildcardMatch(p, alias)) {
      matched = true;
    }
  }
  return matched;
}

function expandTokens(value: string, alias: string, opts: Required<Pick<ResolveOptions, 'home' | 'localUser'>>, remoteUser?: string): string {
  let v = value.startsWith('~/') || value === '~' ? opts.home + value.slice(1) : value;
  v = v.replace(/%([%dhur])/g, (whole, t: string) => {
    if (t === '%') return '%';
    if (t === 'd') return opts.home;
    if (t === 'h') return alias;
    if (t === 'u') return opts.localUser;
    return remoteUser ?? whole;
  });
  return v;
}

/** Pure: resolve an alias against config text, as `ssh -G alias` would for these four keywords. */
export function resolveSshConfig(alias: string, configText: string, options: ResolveOptions = {}): SshConfigResult {
  const opts = { home: options.home ?? homedir(), localUser: options.localUser ?? safeUserName() };
  const out: SshConfigResult = { identityFiles: [] };
  const rawIdentity: string[] = [];
  let rawHostName: string | undefined;
  let jump: string | undefined;

  const walk = (text: string, depth: number): void => {
    // Lines before the first Host apply to every host; Host/Match lines switch the state.
    let active = true;
    for (const raw of text.split('\n')) {
      const parsed = parseLine(raw);
      if (!parsed) continue;
      const { key, args } = parsed;
      if (key === 'host') {
        active = hostPatternsMatch(args, alias);
        continue;
      }
      if (key === 'match') {
        active = false;
        continue;
      }
      if (!active) continue;
      const value = args[0];
      if (key === 'include') {
        // Host lines inside an included file only affect that file, hence a fresh walk.
        if (options.readInclude && depth < 16) {
          for (const pattern of args) {
            for (const t of options.readInclude(expandTokens(pattern, alias, opts))) walk(t, depth + 1);
          }
        }
      } else if (value === undefined) {
        continue;
      } else if (key === 'hostname') {
        rawHostName ??= value;
      } else if (key === 'user') {
        out.user ??= value;
      } else if (key === 'port') {
        const n = Number(value);
        if (out.port === undefined && Number.isInteger(n) && n > 0 && n < 65536) out.port = n;
      } else if (key === 'identityfile') {
        rawIdentity.push(value);
      } else if (key === 'identitiesonly') {
        out.identitiesOnly ??= /^yes$/i.test(value);
      } else if (key === 'proxyjump') {
        jump ??= args.join(',');
      } else if (key === 'hostkeyalias') {
        out.hostKeyAlias ??= value;
      } else if (key in UNSUPPORTED && !(key === 'canonicalizehostname' && /^no$/i.test(value)) && !/^none$/i.test(value)) {
        if (!out.unsupported?.some((u) => u.keyword.toLowerCase() === key)) {
          (out.unsupported ??= []).push({ keyword: raw.trim().split(/[\s=]/)[0], value: args.join(' '), why: UNSUPPORTED[key] });
        }
      }
    }
  };
  walk(configText, 0);
  if (jump !== undefined && !/^none$/i.test(jump)) out.proxyJump = jump;

  if (rawHostName !== undefined) out.hostName = expandTokens(rawHostName, alias, opts);
  out.identityFiles = [...new Set(rawIdentity.map((f) => expandTokens(f, alias, opts, out.user)))];
  return out;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? '';
  }
}

/** Reads `Include` targets: relative to ~/.ssh, `*`/`?` allowed in the last path component. */
function includeReader(home: string): (pattern: string) => string[] {
  return (pattern) => {
    const path = isAbsolute(pattern) ? pattern : join(home, '.ssh', pattern);
    const dir = dirname(path);
    const base = basename(path);
    let names: string[];
    if (/[*?]/.test(base)) {
      try {
        names = readdirSync(dir).filter((n) => wildcardMatch(base, n)).sort();
      } catch {
        return [];
      }
    } else {
      names = [base];
    }
    const texts: string[] = [];
    for (const n of names) {
      try {
        texts.push(readFileSync(join(dir, n), 'utf8'));
      } catch {
        // OpenSSH ignores missing include files too
      }
    }
    return texts;
  };
}

/** Resolve an alias against ~/.ssh/config (or `path`); a missing file resolves to nothing. */
export function loadSshConfig(alias: string, options: { path?: string; home?: string } = {}): SshConfigResult {
  const home = options.home ?? homedir();
  let text: string;
  try {
    text = readFileSync(options.path ?? join(home, '.ssh', 'config'), 'utf8');
  } catch {
    return { identityFiles: [] };
  }
  return resolveSshConfig(alias, text, { home, readInclude: includeReader(home) });
}

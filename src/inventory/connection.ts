/**
 * The connection keys of an inventory (host, port, user, ...) and their Ansible spellings, how
 * their values are checked, and how the winning values become a ConnectionSpec.
 */
import { existsSync } from 'node:fs';
import { inspect } from 'node:util';
import { isAbsolute, resolve } from 'node:path';
import { InputError } from '../core/input-error.js';
import { editDistance, nearest } from '../core/suggest.js';
import type { SshConfigResult } from '../transport/ssh-config.js';
import type { ConnectionSpec } from '../transport/types.js';
import { TemplateError, isTemplate, renderValue } from '../playbook/template.js';
import { parseSshArgs } from './ssh-args.js';
import { REDACTED, type VarOrigin, type Vars } from './vars.js';
import type { YNode, YamlFile } from './yaml-doc.js';

/** shipshape's name -> the Ansible names accepted unchanged, so an existing Ansible inventory works */
export const CONNECTION_KEYS = {
  host: ['ansible_host', 'ansible_ssh_host'],
  port: ['ansible_port', 'ansible_ssh_port'],
  user: ['ansible_user', 'ansible_ssh_user'],
  bootstrap_user: [],
  identity_file: ['ansible_ssh_private_key_file', 'ansible_private_key_file'],
  become_password: ['ansible_become_password', 'ansible_become_pass'],
  become: ['ansible_become'],
  connection: ['ansible_connection'],
  // options Ansible adds to its ssh command line: a bastion is honoured, anything else refused (ssh-args.ts)
  ssh_common_args: ['ansible_ssh_common_args'],
  ssh_extra_args: ['ansible_ssh_extra_args'],
} as const;

export type ConnKey = keyof typeof CONNECTION_KEYS;

const CANONICAL = new Map<string, ConnKey>();
for (const [k, aliases] of Object.entries(CONNECTION_KEYS) as [ConnKey, readonly string[]][]) {
  CANONICAL.set(k, k);
  for (const a of aliases) CANONICAL.set(a, k);
}


/** every spelling of a connection key, and the refused ones: -e takes these out of the variables */
export const CONNECTION_KEY_NAMES: ReadonlySet<string> = new Set([...CANONICAL.keys(), 'ansible_password', 'ansible_ssh_pass']);

/** Ansible keys we refuse rather than ignore: ignoring them would fail later, far from the cause. */
const REFUSED: Record<string, string> = {
  ansible_password: 'password login over SSH is not supported; use identity_file or ssh-agent',
  ansible_ssh_pass: 'password login over SSH is not supported; use identity_file or ssh-agent',
};

/** keys whose values never appear in a message or a code frame */
export const SECRET_KEYS: readonly string[] = ['become_password', ...CONNECTION_KEYS.become_password, ...Object.keys(REFUSED)];

/** One connection value as written, kept with its node so a bad value is reported where it was set. */
export interface ConnValue {
  value: unknown;
  key: string;
  file: YamlFile;
  node: YNode | null;
}

export type ConnLayer = Partial<Record<ConnKey, ConnValue>>;

/** A mapping of variables split into user variables and connection settings. */
export interface VarsLayer {
  vars: Vars;
  conn: ConnLayer;
  /** where each variable was written: an error about its value is reported there */
  origins: Record<string, VarOrigin>;
}

/**
 * Split a variables mapping. Errors: an Ansible key we refuse, two spellings of one connection key.
 * Warnings: a user variable one typo away from a connection key (`identiy_file`), which would
 * otherwise be silently ignored.
 */
export function splitVars(file: YamlFile, node: YNode | null, errors: InputError[], warnings: InputError[]): VarsLayer {
  const layer: VarsLayer = { vars: {}, conn: {}, origins: {} };
  for (const { key, keyNode, value } of file.entries(node)) {
    const canonical = CANONICAL.get(key);
    if (canonical) {
      const prev = layer.conn[canonical];
      if (prev) errors.push(file.error(keyNode, `\`${key}\` and \`${prev.key}\` both set \`${canonical}\`; keep one`));
      layer.conn[canonical] = { value: file.js(value), key, file, node: value ?? keyNode };
      continue;
    }
    if (key in REFUSED) {
      errors.push(file.error(keyNode, `\`${key}\` is not supported`, REFUSED[key]));
      continue;
    }
    const near = nearMiss(key);
    if (near) warnings.push(file.error(keyNode, `\`${key}\` is not a connection setting and is kept as a variable`, `did you mean \`${near}\`?`));
    layer.vars[key] = file.js(value);
    // the file's own error: its position, its code frame with secret values redacted
    layer.origins[key] = (message, hint) => file.error(value ?? keyNode, message, hint);
  }
  return layer;
}

function nearMiss(key: string): string | undefined {
  const all = [...CANONICAL.keys()];
  // Ansible has many other ansible_* variables (ansible_python_interpreter, ...): only near misses count
  if (key.startsWith('ansible_')) return nearest(key, all.filter((k) => k.startsWith('ansible_')), 2);
  // plurals are ordinary variables (`users`, `ports`), not typos
  const n = nearest(key, Object.keys(CONNECTION_KEYS), 1);
  return n && key.length >= 6 && key !== `${n}s` && editDistance(key, n) === 1 ? n : undefined;
}

export interface ResolvedConnection {
  host?: string;
  port?: number;
  /** who logs in while `user` cannot yet (a fresh VPS: root) */
  bootstrapUser?: string;
  user?: string;
  identityFile?: string;
  becomePassword?: string;
  become?: boolean;
  connection?: 'ssh' | 'local';
  /** `-o ProxyJump=...` / `-J` from ansible_ssh_common_args or ansible_ssh_extra_args: wins over ~/.ssh/config */
  proxyJump?: { chain: string; from: ConnValue };
}

export function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  // YAML 1.2 reads Ansible's `yes`/`no` as strings; Ansible inventories are full of them
  if (typeof v === 'string' && /^(true|yes|on|false|no|off)$/i.test(v)) return /^(true|yes|on)$/i.test(v);
  return undefined;
}

const CONNECTION_KINDS = ['ssh', 'local'];

/**
 * Check the winning connection values of one host; templated values (`{{ ip }}`) are rendered with
 * the host's variables first. Problems go to `errors`, positioned where the value was written.
 */
export function resolveConnection(conn: ConnLayer, vars: Vars, errors: InputError[]): ResolvedConnection {
  const out: ResolvedConnection = {};
  for (const [key, cv] of Object.entries(conn) as [ConnKey, ConnValue][]) {
    const secret = key === 'become_password';
    let v = cv.value;
    if (typeof v === 'string' && isTemplate(v)) {
      try {
        v = renderValue(v, vars);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        errors.push(cv.file.error(cv.node, `\`${cv.key}\`: ${secret ? 'its template cannot be rendered' : e.message}`, e.hint));
        continue;
      }
    }
    const bad = (message: string, hint?: string) => errors.push(cv.file.error(cv.node, `\`${cv.key}\` ${message}`, hint));
    switch (key) {
      case 'port': {
        const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) bad('must be an integer from 1 to 65535');
        else out.port = n;
        break;
      }
      case 'become': {
        const b = parseBool(v);
        if (b === undefined) bad('must be true or false');
        else out.become = b;
        break;
      }
      case 'connection': {
        const kind = v === 'smart' ? 'ssh' : v; // Ansible's default `smart` means ssh
        if (typeof kind !== 'string' || !CONNECTION_KINDS.includes(kind)) {
          const near = typeof v === 'string' ? nearest(v, CONNECTION_KINDS) : undefined;
          bad('must be `ssh` or `local`', near && `did you mean \`${near}\`?`);
        } else out.connection = kind as 'ssh' | 'local';
        break;
      }
      case 'ssh_common_args':
      case 'ssh_extra_args': {
        if (typeof v !== 'string') {
          bad('must be a string of ssh options, like `-o ProxyJump=deploy@bastion.example.com`');
          break;
        }
        const r = parseSshArgs(v);
        if (r.refused) errors.push(cv.file.error(cv.node, `\`${cv.key}\`: \`${r.refused.option}\` is not supported`, r.refused.why));
        else if (r.proxyJump !== undefined) {
          if (out.proxyJump && out.proxyJump.chain !== r.proxyJump) bad(`names the bastion \`${r.proxyJump}\`, but \`${out.proxyJump.from.key}\` names \`${out.proxyJump.chain}\``, 'name the bastion once');
          else out.proxyJump = { chain: r.proxyJump, from: cv };
        }
        break;
      }
      case 'become_password':
        // the value itself is never echoed; numbers must be quoted so a leading 0 is not lost
        if (typeof v !== 'string') bad('must be a quoted string', 'write it in quotes');
        // sudo reads the password up to the first newline: the rest would be fed to the root shell
        else if (/[\r\n]/.test(v)) bad('must not contain a line break', 'sudo reads a password up to the first line break; check the quoting of the value');
        else out.becomePassword = v;
        break;
      default: {
        if (typeof v !== 'string' || v.trim() === '') {
          bad(`must be a non-empty string`);
          break;
        }
        if (key === 'host') out.host = v;
        else if (key === 'user') out.user = v;
        else if (key === 'bootstrap_user') out.bootstrapUser = v;
        else out.identityFile = v;
      }
    }
  }
  return out;
}

export interface SpecContext {
  /** directory of the inventory file: relative identity files and known_hosts are found there */
  dir: string;
  home: string;
  localUser: string;
  knownHostsFiles: string[];
  /** ~/.ssh/config lookup for an alias; undefined to ignore ssh config */
  sshConfig?: (alias: string) => SshConfigResult;
}

export function expandPath(p: string, dir: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return resolve(home, p.slice(2));
  return isAbsolute(p) ? p : resolve(dir, p);
}

/**
 * Inventory values win over ~/.ssh/config, which wins over the defaults. The ssh config is looked up
 * under the inventory `host` when set (that is what `ssh` would be given), else the inventory name.
 * ssh config keywords shipshape cannot honour go to `errors` (when given): the host is refused
 * before anything connects, rather than reached some other way than the operator's own ssh would.
 */
export function buildSpec(name: string, c: ResolvedConnection, ctx: SpecContext, errors?: InputError[]): ConnectionSpec {
  const kind = c.connection ?? 'ssh';
  const alias = c.host ?? name;
  const cfg: SshConfigResult = kind === 'ssh' && ctx.sshConfig ? ctx.sshConfig(alias) : { identityFiles: [] };
  const identity = c.identityFile
    ? expandPath(c.identityFile, ctx.dir, ctx.home)
    : cfg.identityFiles.map((f) => expandPath(f, ctx.home, ctx.home)).find((f) => existsSync(f));
  refuseUnsupported(name, alias, cfg, errors);
  // ssh options on Ansible's command line win over ~/.ssh/config, as they do for ssh itself
  const fromInventory = c.proxyJump;
  const at: JumpOrigin = fromInventory ? (message, hint) => fromInventory.from.file.error(fromInventory.from.node, `${message} (\`${fromInventory.from.key}\`)`, hint) : sshConfigError;
  const chain = fromInventory?.chain ?? cfg.proxyJump;
  const jump = chain && kind === 'ssh' ? jumpSpec(name, chain.split(','), ctx, errors, 0, at) : undefined;
  const spec: ConnectionSpec = {
    name,
    host: cfg.hostName ?? alias,
    port: c.port ?? cfg.port ?? 22,
    user: c.user ?? cfg.user ?? ctx.localUser,
    ...(identity ? { identityFile: identity } : {}),
    // a key named in the inventory is THE key (OpenSSH's IdentitiesOnly): offering agent keys first
    // would spend MaxAuthTries and feed fail2ban before it gets its turn
    ...(c.identityFile || cfg.identitiesOnly ? { identitiesOnly: true } : {}),
    ...(c.becomePassword !== undefined ? { becomePassword: c.becomePassword } : {}),
    ...(c.bootstrapUser ? { bootstrapUser: c.bootstrapUser } : {}),
    ...(cfg.hostKeyAlias ? { hostKeyAlias: cfg.hostKeyAlias } : {}),
    ...(jump ? { jump } : {}),
    knownHostsFiles: [...ctx.knownHostsFiles],
    acceptNewHostKeys: false,
    connectTimeoutMs: 10_000,
    kind,
  };
  return protectSpec(spec);
}

function refuseUnsupported(name: string, alias: string, cfg: SshConfigResult, errors?: InputError[]): void {
  for (const u of cfg.unsupported ?? []) {
    errors?.push(
      new InputError(`${name}: \`${u.keyword} ${u.value}\` in ~/.ssh/config (Host ${alias}) is not supported`, {
        file: '~/.ssh/config',
        hint: `${u.why}; shipshape refuses the host rather than reach it another way than your ssh does`,
      }),
    );
  }
}

/**
 * `ProxyJump a,b` reaches the target through b, itself reached through a. Each hop is resolved like
 * a host of its own in ~/.ssh/config (HostName, User, Port, IdentityFile); the first hop may have a
 * ProxyJump of its own.
 */
/** where a ProxyJump was written, for its errors: ~/.ssh/config, or the inventory value naming it */
type JumpOrigin = (message: string, hint?: string) => InputError;
const sshConfigError: JumpOrigin = (message, hint) => new InputError(`${message} in ~/.ssh/config`, { file: '~/.ssh/config', ...(hint ? { hint } : {}) });

function jumpSpec(target: string, chain: string[], ctx: SpecContext, errors: InputError[] | undefined, depth: number, at: JumpOrigin = sshConfigError): ConnectionSpec | undefined {
  const hop = chain[chain.length - 1]?.trim();
  if (!hop) return undefined;
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hop.replace(/^ssh:\/\//, ''));
  if (!m || depth > 8) {
    errors?.push(at(`${target}: ProxyJump \`${hop}\` cannot be read${depth > 8 ? ' (a chain longer than 8 hops, or a loop)' : ''}`, 'write it as [user@]host[:port]'));
    return undefined;
  }
  const [, user, rawHost, port] = m;
  const alias = rawHost.replace(/^\[|\]$/g, '');
  const cfg: SshConfigResult = ctx.sshConfig ? ctx.sshConfig(alias) : { identityFiles: [] };
  refuseUnsupported(target, alias, cfg, errors);
  const before = chain.length > 1 ? chain.slice(0, -1) : cfg.proxyJump?.split(',');
  // the earlier hops of a chain written in the inventory are the inventory's too; a hop's own ProxyJump is its ssh config's
  const jump = before ? jumpSpec(target, before, ctx, errors, depth + 1, chain.length > 1 ? at : sshConfigError) : undefined;
  const identity = cfg.identityFiles.map((f) => expandPath(f, ctx.home, ctx.home)).find((f) => existsSync(f));
  return {
    name: `${target} (bastion ${alias})`,
    host: cfg.hostName ?? alias,
    port: port ? Number(port) : (cfg.port ?? 22),
    user: user ?? cfg.user ?? ctx.localUser,
    ...(identity ? { identityFile: identity } : {}),
    ...(cfg.identitiesOnly ? { identitiesOnly: true } : {}),
    ...(cfg.hostKeyAlias ? { hostKeyAlias: cfg.hostKeyAlias } : {}),
    ...(jump ? { jump } : {}),
    knownHostsFiles: [...ctx.knownHostsFiles],
    acceptNewHostKeys: false,
    connectTimeoutMs: 10_000,
    kind: 'ssh',
  };
}

export function redactSpec(spec: ConnectionSpec): ConnectionSpec {
  return spec.becomePassword === undefined ? { ...spec } : { ...spec, becomePassword: REDACTED };
}

/**
 * Non-enumerable toJSON/inspect hooks so that printing or serializing a spec never shows the become
 * password (a spread copy loses them, so --json output goes through redactSpec explicitly as well).
 */
export function protectSpec(spec: ConnectionSpec): ConnectionSpec {
  Object.defineProperty(spec, 'toJSON', { value: () => redactSpec(spec), enumerable: false });
  Object.defineProperty(spec, inspect.custom, { value: () => redactSpec(spec), enumerable: false });
  return spec;
}

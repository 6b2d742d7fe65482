/**
 * OpenSSH known_hosts, read and appended by us because ssh2 accepts every host key on its own
 * and no maintained parser exists on npm. Pure functions first (tested with fixtures), file I/O last.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  file: string;
  /** 1-based, for "remove line N" hints */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** the host field as written: `a,b,[c]:2222`, `*.example.com,!bad.example.com` or `|1|salt|hash` */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export type HostKeyVerdict =
  | { kind: 'ok'; entry: KnownHostEntry }
  | { kind: 'revoked'; entry: KnownHostEntry }
  /** the host is known, but none of its lines carries this key; `entries` are the lines to remove */
  | { kind: 'changed'; entries: KnownHostEntry[]; sameType: boolean }
  | { kind: 'unknown' };

/**
 * The name OpenSSH files a host under: plain for port 22, `[host]:port` otherwise; a HostKeyAlias
 * from ~/.ssh/config replaces both, as in OpenSSH (the alias is used as written, without the port).
 */
export function knownHostsName(host: string, port: number, alias?: string): string {
  if (alias) return alias.toLowerCase();
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: OpenSSH skips the line too
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) return;
    const key = Buffer.from(b64, 'base64');
    // A blob that does not start with its own type is corrupt; skipping it beats matching garbage.
    if (key.length === 0 || blobKeyType(key) !== keyType) return;
    entries.push({ file, line: i + 1, marker, hosts, keyType, key });
  });
  return entries;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** Same text as `ssh-keygen -lf` and OpenSSH prompts: SHA256, base64 without padding. */
export function fingerprintSha256(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

function wildcardMatch(pattern: string, name: string): boolean {
  // most patterns are plain names: no regex to build for each line of each connection's check
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === name.toLowerCase();
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function hashedMatch(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}

/**
 * Does a host field match `name` (already in knownHostsName form)? Like OpenSSH: any negated
 * pattern that matches vetoes the line, otherwise one positive match is enough.
 */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|')) return hashedMatch(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

const matched = new WeakMap<KnownHostEntry[], Map<string, KnownHostEntry[]>>();

/**
 * The lines (any marker) whose host field matches `name`, found once per list of entries and name: a
 * connection asks for its host's lines more than once (the key types to ask for, then the verdict on the key),
 * and every hashed line costs an HMAC per name tested (Debian's ssh hashes the lines it writes), so each
 * question scanning the whole file cost a fleet's runs the square of its size twice over.
 */
function linesFor(entries: KnownHostEntry[], name: string): KnownHostEntry[] {
  let byName = matched.get(entries);
  if (!byName) matched.set(entries, (byName = new Map()));
  let lines = byName.get(name);
  if (!lines) byName.set(name, (lines = entries.filter((e) => hostFieldMatches(e.hosts, name))));
  return lines;
}

/** Key types on record for the host, so the handshake can ask for one of those first. */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number, alias?: string): string[] {
  const name = knownHostsName(host, port, alias);
  const types = linesFor(entries, name).filter((e) => !e.marker).map((e) => e.keyType);
  return [...new Set(types)];
}

/**
 * Lines that vouch for the same host on ANOTHER port (`host` for 22, `[host]:N`): a pin of that
 * server. A key a host presents on a port nobody recorded must be one of these, or something else
 * answers there. Plain host fields are read for their ports; a hashed field can only be tested for
 * port 22. No alias: a HostKeyAlias names one server whatever its port.
 */
export function pinsOnOtherPorts(entries: KnownHostEntry[], host: string, port: number, alias?: string): KnownHostEntry[] {
  if (alias) return [];
  const h = host.toLowerCase();
  const names = new Set<string>(port === 22 ? [] : [h]);
  for (const e of entries) {
    if (e.marker || e.hosts.startsWith('|')) continue;
    for (const pattern of e.hosts.split(',')) {
      const m = /^\[([^\]]+)\]:(\d+)$/.exec(pattern);
      if (m && m[1].toLowerCase() === h && Number(m[2]) !== port) names.add(pattern.toLowerCase());
    }
  }
  return entries.filter((e) => !e.marker && [...names].some((n) => hostFieldMatches(e.hosts, n)));
}

/**
 * Decide about a presented host key.
 * - A revoked key is refused for every host: a key someone took the trouble to revoke is never
 *   good news, whatever host line it sits on.
 * - Known host, same key type, different key: changed.
 * - Known host, only other key types on record: also treated as changed. The transport asks the
 *   server for the recorded types first (as OpenSSH does), so getting another type means the
 *   server no longer offers them; that is exactly what a man in the middle without the real key
 *   would do, and accepting it silently would turn accept-new into accept-anything.
 */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, key: Buffer, alias?: string): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const name = knownHostsName(host, port, alias);
  const lines = linesFor(entries, name).filter((e) => !e.marker);
  const exact = lines.find((e) => e.key.equals(key));
  if (exact) return { kind: 'ok', entry: exact };
  if (lines.length === 0) return { kind: 'unknown' };
  const type = blobKeyType(key);
  const sameType = lines.filter((e) => e.keyType === type);
  return sameType.length > 0
    ? { kind: 'changed', entries: sameType, sameType: true }
    : { kind: 'changed', entries: lines, sameType: false };
}

export function formatKnownHostsLine(host: string, port: number, key: Buffer, alias?: string): string {
  const type = blobKeyType(key);
  if (!type) throw new Error('not an SSH public key blob');
  return `${knownHostsName(host, port, alias)} ${type} ${key.toString('base64')}\n`;
}

/**
 * `@cert-authority` lines covering the host. ssh2 cannot verify host certificates, so the transport
 * refuses such hosts clearly instead of quietly trusting a plain key the operator never vouched for.
 */
export function certAuthorities(entries: KnownHostEntry[], host: string, port: number, alias?: string): KnownHostEntry[] {
  const name = knownHostsName(host, port, alias);
  return linesFor(entries, name).filter((e) => e.marker === 'cert-authority');
}

/** Parse every file that exists; a missing file is simply empty, as in OpenSSH. */
export async function loadKnownHosts(files: string[]): Promise<KnownHostEntry[]> {
  const all: KnownHostEntry[] = [];
  for (const file of [...new Set(files)]) all.push(...(await knownHostsFile(file)));
  return all;
}

/**
 * Each file parsed once while it stays the same (same inode, size and mtime), shared by every connection
 * of the run: a run opens one connection per host, and a fleet's known_hosts grows with the fleet, so
 * reading it per connection cost memory and CPU in the square of the fleet (at 100 hosts, 100 copies of
 * every line, each holding its key's buffer). The entries are never changed by their users.
 */
const parsed = new Map<string, { stamp: string; entries: Promise<KnownHostEntry[]> }>();

async function knownHostsFile(file: string): Promise<KnownHostEntry[]> {
  let stamp: string;
  try {
    const s = await stat(file);
    stamp = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (err) {
    parsed.delete(file);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const known = parsed.get(file);
  if (known?.stamp === stamp) return known.entries;
  const entries = readFile(file, 'utf8').then(
    (text) => parseKnownHosts(text, file),
    (err: NodeJS.ErrnoException) => {
      parsed.delete(file);
      if (err.code === 'ENOENT') return [];
      throw err;
    },
  );
  parsed.set(file, { stamp, entries });
  return entries;
}

/** Record an accepted key; the directory is created private because ~/.ssh must be 0700. */
export async function appendKnownHost(file: string, host: string, port: number, key: Buffer, alias?: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const existing = await readFile(file, 'utf8');
    if (existing.length > 0 && !existing.endsWith('\n')) prefix = '\n';
  } catch {
    // new file
  }
  await appendFile(file, prefix + formatKnownHostsLine(host, port, key, alias), { mode: 0o600 });
  // the next connection reads the new line (the stamp would tell too, unless size and mtime both repeat)
  parsed.delete(file);
}

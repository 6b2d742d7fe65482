/**
 * Live checks of the answers, through the code a run uses: the SSH transport and its host-key and
 * login logic (HostLink: the deploy user first, then bootstrap_user, exactly as `apply` logs in),
 * and fact probes batched into one round trip. Nothing here changes the host; the only file written
 * is the inventory's known_hosts, once the operator trusted the key.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { HostInfo } from '../core/module.js';
import { probe } from '../core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../core/script.js';
import { HostLink, controllerKeys, describeKey } from '../engine/host-link.js';
import { domainResolution, judgeDomain, type DomainJudgement } from '../facts/caddy.js';
import { hostInfo } from '../facts/host.js';
import { buildSpec } from '../inventory/connection.js';
import { BecomeError, UnreachableError, createTransport, loadSshConfig, type ConnectionSpec } from '../transport/index.js';
import { blobKeyType, checkHostKey, fingerprintSha256, formatKnownHostsLine, loadKnownHosts } from '../transport/known-hosts.js';
import type { Answers } from './answers.js';
import { writeAtomic } from './files.js';
import { FILES } from './project.js';

export interface HostKeySeen {
  type: string;
  fingerprint: string;
  /** host:port as known_hosts names it */
  where: string;
}

/** Asked once per unknown host key; true = trust it and record it in the inventory's known_hosts. */
export type TrustHostKey = (key: HostKeySeen) => Promise<boolean>;

export type Failure = { ok: false; reason: string; kind: 'network' | 'hostkey' | 'auth' | 'sudo' | 'os' | 'other' };

export interface Connected {
  ok: true;
  link: HostLink;
  spec: ConnectionSpec;
  info: HostInfo;
  diskFreeMb: number;
  /** the login that worked: the deploy user on a re-run, else bootstrap_user */
  loggedInAs: string;
  hostKey: HostKeySeen;
  /** what the operator should know: key recorded, OS warnings, low disk */
  notes: string[];
  /** findings the operator must accept to go on (unsupported OS, very low disk) */
  warnings: string[];
}

/** The connection a run of the written inventory would use, built by the inventory's own spec builder. */
export function specFor(a: Answers, projectDir: string, extraKnownHosts: string[] = []): ConnectionSpec {
  const inventoryDir = join(projectDir, 'inventory');
  return buildSpec(
    a.name,
    {
      host: a.host,
      port: a.port,
      user: a.deploy_user,
      bootstrapUser: a.bootstrap_user,
      ...(a.identity_file ? { identityFile: a.identity_file } : {}),
      ...(a.become_password ? { becomePassword: a.become_password } : {}),
    },
    {
      dir: inventoryDir,
      home: homedir(),
      localUser: process.env.USER ?? userInfo().username,
      knownHostsFiles: [join(projectDir, FILES.knownHosts), ...extraKnownHosts],
      sshConfig: (alias) => loadSshConfig(alias, { home: homedir() }),
    },
  );
}

const diskFree = probe<number>('wizard:disk-free', 'df -Pk / | tail -n 1', (out) => Math.floor(Number(out.trim().split(/\s+/)[3] ?? 0) / 1024));

/** What shipshape's roles are written and tested for. */
export function judgeOs(info: HostInfo): string | undefined {
  const ok = (info.osId === 'debian' && ['12', '13'].includes(info.osVersion)) || (info.osId === 'ubuntu' && ['22.04', '24.04'].includes(info.osVersion));
  if (ok) return undefined;
  const seen = info.osId ? `${info.osId} ${info.osVersion}${info.osCodename ? ` (${info.osCodename})` : ''}` : 'an unknown system (no /etc/os-release)';
  return `the server runs ${seen}; shipshape's roles support Debian 12/13 and Ubuntu 22.04/24.04 only`;
}

/**
 * Log in as a run would, show and settle the host key, then read OS, free disk and `sudo -n` in one
 * round trip. On success the connection stays open for the domain checks; close it with `link.close()`.
 */
export async function connect(a: Answers, projectDir: string, trust: TrustHostKey): Promise<Connected | Failure> {
  const scratch = await mkdtemp(join(tmpdir(), 'shipshape-init-'));
  const seenFile = join(scratch, 'known_hosts');
  // unknown keys are recorded in a scratch file only: the operator decides below whether the
  // inventory trusts it. ssh2 has authenticated by then, but nothing runs on an untrusted host.
  const spec: ConnectionSpec = { ...specFor(a, projectDir), acceptNewHostKeys: true, knownHostsWriteFile: seenFile };
  const link = new HostLink(spec, (s) => createTransport(s, { log: () => undefined }));
  try {
    try {
      await link.open();
    } catch (err) {
      return failure(err, spec);
    }
    const blob = link.current.hostKey;
    if (!blob) return { ok: false, reason: 'the SSH connection verified no host key', kind: 'hostkey' };
    const key = Buffer.from(blob, 'base64');
    const where = spec.port === 22 ? spec.host : `[${spec.host}]:${spec.port}`;
    const seen: HostKeySeen = { type: blobKeyType(key) ?? 'key', fingerprint: fingerprintSha256(key), where };
    const notes: string[] = [];
    const inventoryKnown = join(projectDir, FILES.knownHosts);
    const inInventory = checkHostKey(await loadKnownHosts([inventoryKnown]), spec.host, spec.port, key).kind === 'ok';
    if (!inInventory) {
      const inHome = checkHostKey(await loadKnownHosts([join(homedir(), '.ssh', 'known_hosts')]), spec.host, spec.port, key).kind === 'ok';
      if (!inHome && !(await trust(seen))) {
        await link.close();
        return { ok: false, reason: `you did not trust the host key ${seen.type} ${seen.fingerprint} of ${where}; nothing was run there`, kind: 'hostkey' };
      }
      const before = await readFile(inventoryKnown, 'utf8').catch(() => '');
      await writeAtomic(inventoryKnown, `${before}${before && !before.endsWith('\n') ? '\n' : ''}${formatKnownHostsLine(spec.host, spec.port, key)}\n`);
      notes.push(`host key ${seen.type} ${seen.fingerprint} recorded in ${FILES.knownHosts}${inHome ? ' (it was already trusted in ~/.ssh/known_hosts)' : ''}`);
    }

    const batch = { probes: [hostInfo, diskFree] };
    const nonce = newNonce();
    let out;
    try {
      out = await link.current.run(renderBatch(batch, nonce), { become: true, timeoutMs: 30_000 });
    } catch (err) {
      await link.close();
      if (err instanceof BecomeError) return { ok: false, reason: `logged in as ${link.current.spec.user}, but \`sudo -n\` does not work: ${err.message}${err.hint ? ` (${err.hint})` : ''}`, kind: 'sudo' };
      return failure(err, spec);
    }
    const parsed = parseBatch(out.stdout, batch, nonce);
    const infoOut = parsed.probes.get(hostInfo.id);
    const diskOut = parsed.probes.get(diskFree.id);
    if (!infoOut || !diskOut) {
      await link.close();
      return { ok: false, reason: `the server did not answer the checks (exit ${out.code}): ${out.stderr.trim().slice(0, 300)}`, kind: 'other' };
    }
    const info = hostInfo.parse(infoOut.stdout, infoOut.code);
    const diskFreeMb = diskFree.parse(diskOut.stdout, diskOut.code);
    const warnings: string[] = [];
    const os = judgeOs(info);
    if (os) warnings.push(os);
    if (diskFreeMb < 2048) warnings.push(`only ${diskFreeMb} MB free on / (Docker images and updates want at least 2 GB)`);
    if (link.onBootstrap) notes.push(`logged in as ${link.current.spec.user} (${a.deploy_user} does not exist yet: the first run creates it)`);
    return { ok: true, link, spec, info, diskFreeMb, loggedInAs: link.current.spec.user, hostKey: seen, notes, warnings };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function failure(err: unknown, spec: ConnectionSpec): Failure {
  if (err instanceof UnreachableError) {
    const hint = err.hint ? ` (${err.hint})` : '';
    if (err.kind === 'auth') return { ok: false, reason: `the server answered, but refused the login: ${err.message}${hint}`, kind: 'auth' };
    if (err.kind === 'hostkey') return { ok: false, reason: `${err.message}${hint}`, kind: 'hostkey' };
    return { ok: false, reason: `${spec.host}:${spec.port} does not answer: ${err.message}${hint}`, kind: 'network' };
  }
  return { ok: false, reason: (err as Error).message, kind: 'other' };
}

/** Does the domain point at this server? Asked on the open connection, with the probe the caddy role uses. */
export async function checkDomain(c: Connected, domain: string): Promise<DomainJudgement> {
  const p = domainResolution([domain]);
  const batch = { probes: [p] };
  const nonce = newNonce();
  const out = await c.link.current.run(renderBatch(batch, nonce), { timeoutMs: 30_000 });
  const section = parseBatch(out.stdout, batch, nonce).probes.get(p.id);
  if (!section) return { domain, verdict: 'unknown', text: `${domain}: the lookup on the server did not finish` };
  return judgeDomain(domain, p.parse(section.stdout, section.code), [c.spec.host]);
}

/**
 * The run switches to the deploy user once it exists: at least one of its keys must be one this
 * controller logs in with, or that login (and every guarded change after it) would fail.
 */
export async function checkDeployKeys(spec: ConnectionSpec, deployUser: string, keys: string[]): Promise<{ ok: true; note?: string } | { ok: false; reason: string }> {
  const blobs = keys.map((k) => k.trim().split(/\s+/)[1]).filter(Boolean);
  const offered = await controllerKeys({ ...spec, user: deployUser }).catch(() => undefined);
  if (!offered?.length) return { ok: true, note: 'which keys this controller logs in with cannot be known (agent unreachable): not checked' };
  if (blobs.some((b) => offered.includes(b))) return { ok: true };
  return {
    ok: false,
    reason:
      `none of these keys is one this controller logs in with (${offered.map(describeKey).join(', ')}${spec.identityFile ? `; identity_file ${spec.identityFile}` : ''}): ` +
      `the run switches to ${deployUser} after creating it, and that login would be refused`,
  };
}

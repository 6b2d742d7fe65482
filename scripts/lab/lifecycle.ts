// Bringing the lab up and down: the order of the pieces, leftovers of earlier sessions, host reuse.
// Everything that changes shared state runs under the lab lock (lock.ts).
import fs from 'node:fs';
import path from 'node:path';
import { GATEWAY, type LabHost, hostNames, labHost } from './addressing.js';
import { baseImageReady, ensureBaseImage } from './base-image.js';
import { DEFAULT_DIST, type Dist, DISTS } from './dists.js';
import { bootHost, hostDist, hostProcesses, hostPublicKeys, knownHostNames, leaderPid, prepareHostRoot, stopHost } from './host.js';
import { updateKnownHosts, writeInventory } from './inventory.js';
import { withLabLock } from './lock.js';
import { deleteBridge, ensureBridge, labNamespaces, labVeths } from './network.js';
import { hostPaths, labPaths } from './paths.js';
import { pkiPaths } from './pki.js';
import { ensurePrerequisites, raiseInotifyLimits } from './prerequisites.js';
import {
  ACNG_PORT, PEBBLE_DIRECTORY, addDnsName, ensureServices, forgetDnsNames, pebbleIssuingRoot, serviceStates, stopServices,
} from './services.js';
import { aptRepoPid, stopAptRepo } from './apt-repo.js';
import { log, tail } from './shell.js';
import { ensureLabKey, sshReachable, sshRun, waitForSsh } from './ssh.js';

export interface Lab {
  dir: string;
  keyPath: string;
  knownHostsPath: string;
  inventoryDir: string;
  inventoryPath: string;
  /** The hosts asked for (other lab hosts may be running too; the inventory lists all running ones). */
  hosts: LabHost[];
  /** The Debian release the hosts asked for run. */
  dist: Dist;
  gateway: typeof GATEWAY;
  /** The hosts' resolver (pebble-challtestsrv); add names with addDnsName(). */
  dns: typeof GATEWAY;
  /** apt proxy the hosts use (already configured in the image). */
  aptProxy: string;
  pebble: {
    directory: string;
    /** CA of the ACME listener's certificate (the hosts do NOT trust it by default). */
    listenerCaPath: string;
    /** Pebble's issuing root, fetched now (it changes whenever Pebble restarts). */
    issuingRoot(): Promise<string>;
  };
}

export interface LabUpOptions {
  /** `2` means h1 and h2. */
  hosts: number | string[];
  /** Recreate these hosts (or all asked for) from the base even if they are running and healthy. */
  fresh?: boolean | string[];
  /** Debian release of the hosts asked for (default bookworm); a running host of another release is recreated. */
  dist?: Dist;
}

export function describeLab(names: string[] = [], dist: Dist = DEFAULT_DIST): Lab {
  const p = labPaths();
  return {
    dir: p.dir,
    keyPath: p.key,
    knownHostsPath: p.knownHosts,
    inventoryDir: p.inventoryDir,
    inventoryPath: p.inventory,
    hosts: names.map(labHost),
    dist,
    gateway: GATEWAY,
    dns: GATEWAY,
    aptProxy: `http://${GATEWAY}:${ACNG_PORT}`,
    pebble: { directory: PEBBLE_DIRECTORY, listenerCaPath: pkiPaths().caCert, issuingRoot: pebbleIssuingRoot },
  };
}

/** Prerequisites, bridge, services, key, the release's base image: cheap when all is already there. */
async function ensureInfra(dist: Dist): Promise<string> {
  await ensurePrerequisites();
  await raiseInotifyLimits();
  await ensureBridge();
  await ensureServices();
  const publicKey = await ensureLabKey();
  await ensureBaseImage(publicKey, dist);
  return publicKey;
}

/**
 * Processes die when a session ends, but namespaces, veths and pid files stay. A host whose boot loop is
 * gone is a leftover (even if its container still runs: without the loop a reboot would not come back).
 */
async function cleanLeftovers(): Promise<void> {
  const networked = new Set([...(await labNamespaces()), ...(await labVeths())]);
  const names = new Set([...knownHostNames(), ...networked]);
  const stale = [...names].filter((n) => {
    const { loop, nspawn } = hostProcesses(n);
    const p = hostPaths(n);
    return loop === undefined && (nspawn !== undefined || networked.has(n) || fs.existsSync(p.loopPid) || fs.existsSync(p.nspawnPid));
  });
  if (stale.length > 0) log(`cleaning leftovers of ${stale.join(' ')}`);
  await Promise.all(stale.map(stopHost));
}

async function isHealthy(name: string, dist: Dist): Promise<boolean> {
  if (hostDist(name) !== dist) return false;
  const { loop, nspawn } = hostProcesses(name);
  if (loop === undefined || nspawn === undefined || (await leaderPid(name)) === undefined) return false;
  // running: give a host that is just (re)booting a moment before calling it broken
  return (await sshReachable(labHost(name).addr)) || (await waitForSsh(labHost(name).addr, 15_000));
}

/**
 * SSH answering, then systemd done booting (so tests never race the boot's own start jobs). A host that
 * boots "degraded" is still handed out, with a note: that is what a real VPS would look like too.
 */
async function waitUntilBooted(name: string, timeoutMs: number): Promise<boolean> {
  const { addr } = labHost(name);
  if (!(await waitForSsh(addr, timeoutMs))) return false;
  const r = await sshRun(addr, 'timeout 60 systemctl is-system-running --wait');
  const state = r.stdout.trim();
  if (state !== 'running') log(`${name}: systemd says "${state}" (${(await sshRun(addr, 'systemctl --failed --plain --no-legend')).stdout.trim()})`);
  return true;
}

function runningHosts(): LabHost[] {
  return knownHostNames().filter((n) => hostProcesses(n).loop !== undefined).map(labHost);
}

/** Stop, copy the base, make host keys, publish them, boot, register DNS, wait for SSH. In parallel. */
async function createHosts(names: string[], publicKey: string, dist: Dist): Promise<void> {
  if (names.length === 0) return;
  const started = Date.now();
  const phase = (what: string, since: number) => log(`${what} in ${((Date.now() - since) / 1000).toFixed(1)} s`);
  await Promise.all(names.map(stopHost));
  const copying = Date.now();
  await Promise.all(names.map((n) => prepareHostRoot(n, publicKey, dist)));
  phase(`copied the ${dist} base for ${names.join(' ')}`, copying);
  const booting = Date.now();
  updateKnownHosts(names.map((n) => ({ host: labHost(n), keys: hostPublicKeys(n) })));
  for (const n of names) await bootHost(n);
  for (const n of names) await addDnsName(labHost(n).fqdn, labHost(n).addr);
  // 2 cores boot every host at once: allow more time for bigger batches
  const timeoutMs = 60_000 + 5_000 * (names.length - 1);
  const failed = (
    await Promise.all(names.map(async (n) => ((await waitUntilBooted(n, timeoutMs)) ? undefined : n)))
  ).filter((n): n is string => n !== undefined);
  if (failed.length > 0) {
    const details = failed.map((n) => `--- ${n} console (${hostPaths(n).console}):\n${tail(hostPaths(n).console, 25)}`);
    throw new Error(`lab host(s) ${failed.join(' ')} not reachable over SSH after ${timeoutMs / 1000} s\n${details.join('\n')}`);
  }
  phase(`booted ${names.join(' ')} (SSH answering, systemd done)`, booting);
  phase(`${names.join(' ')} up`, started);
}

export async function labUp(opts: LabUpOptions): Promise<Lab> {
  const names = hostNames(opts.hosts);
  const fresh = new Set(opts.fresh === true ? names : opts.fresh || []);
  const dist = opts.dist ?? DEFAULT_DIST;
  return withLabLock(async () => {
    const publicKey = await ensureInfra(dist);
    await cleanLeftovers();
    // self-healing: the keys of running hosts are on disk, so a lost known_hosts never forces a re-create
    updateKnownHosts(runningHosts().map((host) => ({ host, keys: hostPublicKeys(host.name) })));
    const healthy = await Promise.all(names.map(async (n) => !fresh.has(n) && (await isHealthy(n, dist))));
    await createHosts(names.filter((_, i) => !healthy[i]), publicKey, dist);
    writeInventory(runningHosts());
    return describeLab(names, dist);
  });
}

/**
 * A fresh copy of the base under the same name, address, MACs (new host keys, published to known_hosts);
 * of the same release as before unless one is given.
 */
export async function resetHost(name: string, dist?: Dist): Promise<LabHost & { dist: Dist }> {
  const host = labHost(name);
  const release = dist ?? hostDist(name) ?? DEFAULT_DIST;
  await withLabLock(async () => {
    const publicKey = await ensureInfra(release);
    await cleanLeftovers();
    await createHosts([name], publicKey, release);
    writeInventory(runningHosts());
  });
  return { ...host, dist: release };
}

/**
 * Stop these hosts and delete their roots (disk space: a provisioned host holds a few GB), leaving the
 * services, the bridge and every other host running: what one engineer among several needs.
 */
async function hostsDown(names: string[]): Promise<void> {
  const hosts = names.map(labHost); // validates every name before anything stops
  await withLabLock(async () => {
    await Promise.all(names.map(stopHost));
    await Promise.all(names.map(removeRoot));
    updateKnownHosts([], hosts);
    writeInventory(runningHosts());
  });
}

// roots are disposable (up always recreates a stopped host); consoles stay for post-mortems
function removeRoot(name: string): Promise<unknown> {
  const { dir, console } = hostPaths(name);
  if (!fs.existsSync(dir)) return Promise.resolve();
  return Promise.all(fs.readdirSync(dir).map((f) => path.join(dir, f)).filter((f) => f !== console).map((f) => fs.promises.rm(f, { recursive: true, force: true })));
}

/**
 * Without names: stop every host and service of the lab, delete namespaces and the bridge. Idempotent;
 * leftovers too. With names: only those hosts (hostsDown).
 */
export async function labDown(names: string[] = []): Promise<void> {
  if (names.length > 0) return hostsDown(names);
  await withLabLock(async () => {
    const names = [...new Set([...knownHostNames(), ...(await labNamespaces()), ...(await labVeths())])];
    await Promise.all(names.map(stopHost));
    await Promise.all(knownHostNames().map(removeRoot));
    await stopServices();
    // the vendor-repository stand-in binds the gateway address: it goes with the bridge
    await stopAptRepo();
    await deleteBridge();
    forgetDnsNames();
    updateKnownHosts([], names.map(labHost));
    writeInventory([]);
  });
}

export interface LabStatus {
  dir: string;
  /** Debian 12's base image is ready (kept for callers that know only one release) */
  baseImage: boolean;
  baseImages: Record<Dist, boolean>;
  services: { name: string; pid?: number }[];
  hosts: (LabHost & { dist?: Dist; loopPid?: number; nspawnPid?: number; reachable: boolean })[];
}

export async function labStatus(): Promise<LabStatus> {
  // a host directory with only its console log is a host that `down` removed
  const present = knownHostNames().filter((n) => fs.existsSync(hostPaths(n).root) || hostProcesses(n).loop !== undefined);
  const hosts = await Promise.all(
    present.map(async (n) => {
      const { loop, nspawn } = hostProcesses(n);
      const reachable = loop !== undefined && (await sshReachable(labHost(n).addr));
      return { ...labHost(n), dist: hostDist(n), loopPid: loop, nspawnPid: nspawn, reachable };
    }),
  );
  const baseImages = Object.fromEntries(DISTS.map((d) => [d, baseImageReady(d)])) as Record<Dist, boolean>;
  return { dir: labPaths().dir, baseImage: baseImages.bookworm, baseImages, services: [...serviceStates(), { name: 'apt-repo', pid: aptRepoPid() }], hosts };
}

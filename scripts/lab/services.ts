// Gateway services the hosts use, each a daemon started by the lab with a pid file under <dir>/run:
//   apt-cacher-ng        10.99.0.1:3142  the hosts' only way to Debian's mirror (and a cache across runs)
//   pebble-challtestsrv  10.99.0.1:53    the hosts' DNS (hN.lab.test), and Pebble's, on 127.0.0.1:8053
//   pebble               10.99.0.1:14000 ACME directory (management/roots on 127.0.0.1:15000)
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { GATEWAY } from './addressing.js';
import { labPaths } from './paths.js';
import { ensureListenerPki, pkiPaths } from './pki.js';
import {
  cmdline, isAlive, livePid, log, retryUntil, sh, spawnDaemon, tail, terminate, writeFileAtomic,
} from './shell.js';

export const ACNG_PORT = 3142;
export const DNS_MANAGEMENT = 'http://127.0.0.1:8055';
export const PEBBLE_DIRECTORY = `https://${GATEWAY}:14000/dir`;
export const PEBBLE_MANAGEMENT = 'https://127.0.0.1:15000';

interface Service {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  /** Recognizes our own process in /proc/PID/cmdline (a stale pid file may point at anything). */
  matches: (argv: string[]) => boolean;
  ready: () => Promise<boolean>;
  /** Writes config files before a start. */
  prepare?: () => Promise<void>;
}

export function tcpOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

const isProgram = (argv: string[], prog: string) => path.basename(argv[0] ?? '') === prog;

function acng(): Service {
  const dir = labPaths().acng;
  const confDir = path.join(dir, 'conf');
  return {
    name: 'apt-cacher-ng',
    argv: ['apt-cacher-ng', '-c', confDir, 'ForeGround=1'],
    matches: (argv) => isProgram(argv, 'apt-cacher-ng') && argv.includes(confDir),
    ready: async () => (await tcpOpen(GATEWAY, ACNG_PORT)) && (await tcpOpen('127.0.0.1', ACNG_PORT)),
    prepare: async () => {
      for (const d of [confDir, path.join(dir, 'cache'), path.join(dir, 'log')]) fs.mkdirSync(d, { recursive: true });
      // No Remap-* lines: the stock remaps point at backends that are unreachable here (503 "Host not
      // found"); without them acng is a plain caching proxy for whatever mirror the hosts name.
      fs.writeFileSync(
        path.join(confDir, 'acng.conf'),
        [
          `CacheDir: ${path.join(dir, 'cache')}`,
          `LogDir: ${path.join(dir, 'log')}`,
          'SupportDir: /usr/lib/apt-cacher-ng',
          `Port: ${ACNG_PORT}`,
          `BindAddress: ${GATEWAY} 127.0.0.1`,
          `PidFile: ${path.join(dir, 'acng.pid')}`,
          `SocketPath: ${path.join(dir, 'acng.socket')}`,
          'ExThreshold: 4',
          // Each InRelease goes to the mirror and is not kept. acng 3.7 races when several clients
          // revalidate one cached InRelease at once ("Failure to move file ... out of the way" in
          // apt-cacher.err) and answers some "503 Error with cache data": 3 of 10 simultaneous curls got it.
          // apt's http method sometimes never recovers from that answer, and apt-get and the method then
          // wait for each other for ever: session 8 lost every multi-host bench round to it, each time on
          // the host the 503 went to. Uncached, 120 of 120 simultaneous requests were answered. Packages
          // files are fetched by hash, so they are still cached.
          'DontCacheRequested: /InRelease$',
          '',
        ].join('\n'),
      );
      await stopStockAptCacherNg(confDir);
    },
  };
}

/**
 * Installing the apt-cacher-ng package starts the stock daemon on port 3142 (with the remaps above);
 * ours cannot bind until it is gone. Its pid is in /run/apt-cacher-ng/pid; any other apt-cacher-ng not
 * using our config is the same daemon started another way.
 */
async function stopStockAptCacherNg(ourConfDir: string): Promise<void> {
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || !isAlive(pid)) continue;
    const argv = cmdline(pid);
    if (isProgram(argv, 'apt-cacher-ng') && !argv.includes(ourConfDir)) {
      log(`stopping the stock apt-cacher-ng daemon (pid ${pid}) so the lab's own can bind port ${ACNG_PORT}`);
      await terminate(pid, 10_000);
    }
  }
}

function dns(): Service {
  return {
    name: 'pebble-challtestsrv',
    // no -doh: the Debian build does not have it and exits at once
    argv: [
      'pebble-challtestsrv', '-defaultIPv4', '', '-defaultIPv6', '',
      '-dns01', `127.0.0.1:8053,${GATEWAY}:53`, '-http01', '', '-https01', '', '-tlsalpn01', '',
      '-management', '127.0.0.1:8055',
    ],
    matches: (argv) => isProgram(argv, 'pebble-challtestsrv'),
    ready: () => tcpOpen('127.0.0.1', 8055),
  };
}

function pebble(): Service {
  const config = path.join(labPaths().pebble, 'pebble-config.json');
  return {
    name: 'pebble',
    argv: ['pebble', '-config', config, '-dnsserver', '127.0.0.1:8053'],
    // no sleeps before validation; no random "badNonce" rejections (real CAs do not do that)
    env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    matches: (argv) => isProgram(argv, 'pebble') && argv.includes(config),
    ready: async () => (await tcpOpen(GATEWAY, 14000)) && (await tcpOpen('127.0.0.1', 15000)),
    prepare: async () => {
      const pki = await ensureListenerPki();
      fs.mkdirSync(path.dirname(config), { recursive: true });
      const cfg = {
        pebble: {
          listenAddress: `${GATEWAY}:14000`,
          managementListenAddress: '127.0.0.1:15000',
          certificate: pki.listenerCert,
          privateKey: pki.listenerKey,
          httpPort: 80,
          tlsPort: 443,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      };
      fs.writeFileSync(config, JSON.stringify(cfg, null, 2) + '\n');
    },
  };
}

const services = () => [dns(), acng(), pebble()];

function pidFile(svc: Service) {
  return path.join(labPaths().run, `${svc.name}.pid`);
}

/** Start `svc` unless our own instance is already running and answering; 'started' if it was (re)started. */
async function ensureService(svc: Service): Promise<'running' | 'started'> {
  const existing = livePid(pidFile(svc), svc.matches);
  if (existing !== undefined) {
    if (await svc.ready()) return 'running';
    log(`${svc.name} (pid ${existing}) does not answer: restarting it`);
    await terminate(existing, 5_000);
  }
  const p = labPaths();
  fs.mkdirSync(p.run, { recursive: true });
  fs.mkdirSync(p.log, { recursive: true });
  await svc.prepare?.();
  const logFile = path.join(p.log, `${svc.name}.log`);
  const pid = spawnDaemon(svc.argv, logFile, svc.env);
  writeFileAtomic(pidFile(svc), `${pid}\n`);
  const ok = await retryUntil(15_000, 100, async () => {
    if (!isAlive(pid)) return false;
    return (await svc.ready()) ? true : undefined;
  });
  if (!ok) {
    await terminate(pid, 2_000);
    throw new Error(`${svc.name} did not start (see ${logFile}):\n${tail(logFile, 15)}`);
  }
  return 'started';
}

export async function ensureServices(): Promise<void> {
  for (const svc of services()) {
    const state = await ensureService(svc);
    if (state === 'started') {
      log(`started ${svc.name}`);
      // challtestsrv keeps names in memory only: a new instance gets them again
      if (svc.name === 'pebble-challtestsrv') await replayDnsNames();
    }
  }
}

export async function stopServices(): Promise<void> {
  for (const svc of services().reverse()) {
    const pid = livePid(pidFile(svc), svc.matches);
    if (pid !== undefined) await terminate(pid, 10_000);
    fs.rmSync(pidFile(svc), { force: true });
  }
}

export function serviceStates(): { name: string; pid?: number }[] {
  return services().map((svc) => ({ name: svc.name, pid: livePid(pidFile(svc), svc.matches) }));
}

// ---- DNS names ---------------------------------------------------------------------------------------

function readDnsNames(): Record<string, string> {
  try {
    return JSON.parse(fs.readFileSync(labPaths().dnsNames, 'utf8'));
  } catch {
    return {};
  }
}

async function postAddA(name: string, addr: string): Promise<void> {
  const body = JSON.stringify({ host: name, addresses: [addr] });
  // challtestsrv keeps every record added: clear first, or a name re-added at each host re-creation
  // grows past 512 bytes and Pebble's resolver fails with "overflowing header size"
  await sh`curl -fsS --max-time 5 -X POST -d ${JSON.stringify({ host: name })} ${DNS_MANAGEMENT}/clear-a`;
  await sh`curl -fsS --max-time 5 -X POST -d ${body} ${DNS_MANAGEMENT}/add-a`;
}

/** Make `name` resolve to `addr` for every lab host (and for Pebble's validation). Kept across restarts. */
export async function addDnsName(name: string, addr: string): Promise<void> {
  await postAddA(name, addr);
  writeFileAtomic(labPaths().dnsNames, JSON.stringify({ ...readDnsNames(), [name]: addr }, null, 2) + '\n');
}

async function replayDnsNames(): Promise<void> {
  for (const [name, addr] of Object.entries(readDnsNames())) await postAddA(name, addr);
}

export function forgetDnsNames(): void {
  fs.rmSync(labPaths().dnsNames, { force: true });
}

// ---- Pebble ------------------------------------------------------------------------------------------

/** PEM of the root Pebble issues under. Pebble makes a new one at every start: fetch it, never cache it. */
export async function pebbleIssuingRoot(): Promise<string> {
  const r = await sh`curl -fsS --max-time 10 --cacert ${pkiPaths().caCert} ${PEBBLE_MANAGEMENT}/roots/0`;
  return r.stdout;
}

/**
 * Docker's networks against the way this host reaches the controller. dockerd creates docker0 with
 * `bip` (default 172.17.0.1/16) as soon as it starts, and every network compose creates takes a
 * subnet from `default-address-pools` (default 172.17-31.0.0/16 and 192.168.0.0/16 in /20s). When one
 * of them holds the controller's address, the next hop towards it, or the network of the interface
 * the route leaves by, the host's replies go into a bridge and the SSH connection is cut, with no
 * guard able to confirm anything. So the role refuses before the first change, naming the fix.
 * IPv4 only: Docker's bridges are IPv4 unless IPv6 is configured explicitly.
 */
import type { ClientRoute } from '../../src/core/module.js';

interface Net {
  net: number;
  bits: number;
  text: string;
}

function ip4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

const mask = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

/** `a.b.c.d/n` (a host address in it is fine: bip is written that way) as its network. */
export function cidr(s: string): Net | undefined {
  const [addr, len] = s.trim().split('/');
  const a = ip4(addr ?? '');
  const bits = len === undefined ? 32 : Number(len);
  if (a === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  return { net: (a & mask(bits)) >>> 0, bits, text: s.trim() };
}

function overlaps(a: Net, b: Net): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.net ^ b.net) & mask(bits)) >>> 0 === 0;
}

export const DEFAULT_BIP = '172.17.0.1/16';
/** Docker's built-in address pools (libnetwork ipamutils) */
export const DEFAULT_POOLS = [...Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`), '192.168.0.0/16'];

/** The subnets dockerd will take, each with the daemon.json key that sets it. */
export function dockerSubnets(config: Record<string, unknown>): { subnet: string; key: string; defaulted: boolean }[] {
  const out: { subnet: string; key: string; defaulted: boolean }[] = [];
  const bip = typeof config.bip === 'string' ? config.bip : undefined;
  out.push({ subnet: bip ?? DEFAULT_BIP, key: 'bip', defaulted: bip === undefined });
  if (typeof config['fixed-cidr'] === 'string') out.push({ subnet: config['fixed-cidr'], key: 'fixed-cidr', defaulted: false });
  const pools = Array.isArray(config['default-address-pools']) ? (config['default-address-pools'] as { base?: unknown }[]) : undefined;
  if (pools) for (const p of pools) if (typeof p?.base === 'string') out.push({ subnet: p.base, key: 'default-address-pools', defaulted: false });
  if (!pools) for (const p of DEFAULT_POOLS) out.push({ subnet: p, key: 'default-address-pools', defaulted: true });
  return out;
}

/**
 * What the host's way to the controller consists of, each part named for the message. `onLink`: a
 * network the host is attached to; dockerd itself steps around those when it picks a default subnet,
 * but not around an address it reaches through a gateway, nor around a subnet it was told to use.
 */
function pathToController(client: string | undefined, route: ClientRoute | undefined): { what: string; net: Net; onLink: boolean }[] {
  const parts: { what: string; net: Net; onLink: boolean }[] = [];
  const add = (what: string, s: string | undefined, onLink: boolean) => {
    const n = s ? cidr(s) : undefined;
    if (n) parts.push({ what, net: n, onLink });
  };
  // a controller on the host's own link sits in one of its networks: dockerd's own check covers it
  add(`the controller's address ${client} (as this host sees it)`, client, route !== undefined && !route.via);
  add(`the next hop towards the controller, ${route?.via}`, route?.via, true);
  for (const n of route?.nets ?? []) add(`the network ${n} of ${route?.dev ?? 'the interface'} the route to the controller leaves by`, n, true);
  return parts;
}

const BIP_CHOICES = ['10.213.0.1/24', '172.30.213.1/24', '192.168.213.1/24'];
const POOL_CHOICES = ['10.214.0.0/16', '172.29.0.0/16', '192.168.214.0/24'];

/**
 * Why applying this daemon.json would cut the controller off, with the fix; undefined when nothing
 * overlaps (or the way to the controller is not known: a local connection).
 */
export function bridgeOverlap(config: Record<string, unknown>, client: string | undefined, route: ClientRoute | undefined): string | undefined {
  const path = pathToController(client, route);
  if (!path.length) return undefined;
  const clash = (s: string, defaulted = false) => {
    const n = cidr(s);
    return n ? path.find((p) => !(defaulted && p.onLink) && overlaps(p.net, n)) : undefined;
  };
  for (const d of dockerSubnets(config)) {
    const hit = clash(d.subnet, d.defaulted);
    if (!hit) continue;
    const free = (choices: string[]) => choices.find((c) => !clash(c)) ?? choices[0];
    const fix =
      d.key === 'default-address-pools'
        ? `set docker_daemon: { default-address-pools: [{ base: "${free(POOL_CHOICES)}", size: 24 }] } (daemon.json), a range that holds none of it`
        : `set docker_daemon: { bip: "${free(BIP_CHOICES)}" } (daemon.json), a bridge subnet that holds none of it`;
    const which =
      d.key === 'bip' ? `Docker's default bridge docker0 (${d.subnet}${d.defaulted ? ', daemon.json sets no "bip"' : ', daemon.json "bip"'})` : d.key === 'fixed-cidr' ? `Docker's bridge range ${d.subnet} (daemon.json "fixed-cidr")` : `Docker's address pool ${d.subnet} (${d.defaulted ? "Docker's built-in default-address-pools, used by every compose network" : 'daemon.json "default-address-pools"'})`;
    return (
      `${which} overlaps ${hit.what}: once dockerd ${d.key === 'default-address-pools' ? 'creates a network there' : 'starts'}, this host would send its replies to the controller into a Docker bridge and the SSH connection would be cut ` +
      `(no guard can confirm a change that cuts the connection applying it). Nothing was changed. Fix: ${fix}.`
    );
  }
  return undefined;
}

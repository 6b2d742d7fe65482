// Names, addresses and MACs of the lab network. Pure: everything here is derived from a host number,
// so a re-created host gets exactly the same identity on the wire (see LAB-NOTES: stale ARP entries).

export const GATEWAY = '10.99.0.1' as const;
export const PREFIX_LEN = 24;
export const BRIDGE = 'ss-br0';
export const DOMAIN = 'lab.test';
/** hN lives at 10.99.0.(10+N); .255 is broadcast, so N stops at 244. */
export const MAX_HOST_NUMBER = 244;

export interface LabHost {
  name: string; // hN
  addr: string; // 10.99.0.(10+N)
  fqdn: string; // hN.lab.test
}

export function hostNumber(name: string): number {
  if (!isHostName(name)) {
    throw new Error(`invalid lab host name "${name}": expected h1..h${MAX_HOST_NUMBER}`);
  }
  return Number(name.slice(1));
}

export function isHostName(name: string): boolean {
  const m = /^h([1-9][0-9]*)$/.exec(name);
  return m !== null && Number(m[1]) <= MAX_HOST_NUMBER;
}

export function labHost(name: string): LabHost {
  const n = hostNumber(name);
  return { name, addr: `10.99.0.${10 + n}`, fqdn: `${name}.${DOMAIN}` };
}

/** `3` means h1..h3; a list is taken as names (validated, de-duplicated, order kept). */
export function hostNames(spec: number | string[]): string[] {
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < 0 || spec > MAX_HOST_NUMBER) {
      throw new Error(`invalid host count ${spec}: expected 0..${MAX_HOST_NUMBER}`);
    }
    return Array.from({ length: spec }, (_, i) => `h${i + 1}`);
  }
  for (const name of spec) hostNumber(name);
  return [...new Set(spec)];
}

/** Network namespace of hN; also the nspawn unit of identity in pid/cmdline checks. */
export function netnsName(name: string): string {
  return `ss-${name}`;
}

/** Controller-side end of hN's veth pair (the other end is eth0 inside the namespace). <= 15 chars. */
export function vethName(name: string): string {
  return `ss-${name}-br`;
}

/**
 * Fixed, locally administered unicast MACs (first byte 02).
 * Byte 2 = 0x99 for the lab subnet, byte 3 = role, last two bytes = host number.
 * The bridge gets its own so it does not borrow (and change with) its lowest port's MAC.
 */
export function macAddress(role: 'bridge' | 'gateway-side' | 'host-side', n = 0): string {
  const roleByte = { bridge: 0, 'gateway-side': 1, 'host-side': 2 }[role];
  if (role !== 'bridge' && !(Number.isInteger(n) && n >= 1 && n <= MAX_HOST_NUMBER)) {
    throw new Error(`invalid host number ${n}`);
  }
  const bytes = [0x02, 0x99, roleByte, 0, (n >> 8) & 0xff, n & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

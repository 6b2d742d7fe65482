import { isIP } from 'node:net';

/** Does the network `cidr` (an address alone: just it) hold `addr`? An IPv4 client seen as ::ffff:a.b.c.d counts as IPv4. */
export function cidrContains(cidr: string, addr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const family = isIP(net);
  // an IPv4 client may show up as ::ffff:a.b.c.d when sshd listens on both families
  const client = family === 4 ? addr.replace(/^::ffff:/i, '') : addr;
  if (family === 0 || isIP(client) !== family) return false;
  const bits = bitsText === undefined ? (family === 4 ? 32 : 128) : Number(bitsText);
  const a = addressBits(net, family);
  const b = addressBits(client, family);
  const width = family === 4 ? 32n : 128n;
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << (width - BigInt(bits));
  return (a & mask) === (b & mask);
}

/** An address as one number: IPv4 in 32 bits, IPv6 (with :: and an embedded IPv4 tail) in 128. */
export function addressBits(addr: string, family: number): bigint {
  if (family === 4) return addr.split('.').reduce((n, o) => (n << 8n) + BigInt(Number(o)), 0n);
  let text = addr.split('%')[0];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = addressBits(v4[1], 4);
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

/** A source ufw accepts in `from`: an address, or a network in CIDR form, IPv4 or IPv6. */
export function isCidr(text: string): boolean {
  const [net, bits, more] = text.split('/');
  if (more !== undefined) return false;
  const family = isIP(net);
  if (family === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Whether ufw lets a new connection in, judged on the rules ufw loads (the `### tuple ###` lines of
 * user.rules and user6.rules) the way its chains treat a packet: the host's own incoming rules of the
 * connection's family, in file order, the first that matches decides (allow and limit accept, deny and
 * reject drop), and the default incoming policy when none does. One judgment for every firewall check:
 * the SSH port of the controller's connection (ufw's lockout refusal, the SSH port move) and ports that
 * must be open to everyone (Caddy's 80/443).
 */
import { isIP } from 'node:net';
import { cidrContains } from '../core/cidr.js';
import type { AccessInfo, HostInfo } from '../core/module.js';
import { coversPort, renderTuple, type UfwTuple } from './ufw.js';

/**
 * Who connects. `anyone`: a public service's clients, so a rule narrowed to some sources, an address or an
 * interface neither opens the port to them nor closes it. Otherwise the controller as the host sees its SSH
 * connection; a field left out is unknown, and a rule narrowed on it is then not trusted to let it in but
 * is feared to shut it out.
 */
export type Peer =
  | 'anyone'
  | {
      /** the source address ($SSH_CONNECTION's first field) */
      addr?: string;
      /** the host's address it connects to ($SSH_CONNECTION's third field) */
      to?: string;
      /** the interface its packets arrive on (the host's route back to it) */
      iface?: string;
    };

export interface Admission {
  in: boolean;
  /** the rule that decides; none when the default policy does */
  rule?: string;
  /** why, in words for a message: `"allow 22/tcp" lets it in`, `no rule lets it in (default incoming deny)` */
  why: string;
  /** the deciding deny or reject is narrowed to something not known of the peer: it may shut it out */
  maybe?: boolean;
  /** shut out by the default policy: the first allow passed over as narrowed to something not known of the peer */
  unsure?: string;
}

type Match = 'yes' | 'no' | 'maybe';

/** The address family a client's packets have: an IPv4 client seen as ::ffff:a.b.c.d is IPv4 (iptables, user.rules). */
export function familyOf(addr: string | undefined): 4 | 6 {
  return addr !== undefined && isIP(addr) === 6 && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(addr) ? 6 : 4;
}

/**
 * Does ufw let a new `proto` connection to `port` from `peer` in? `tuples` as ufwState reads them (the files'
 * order; user6.rules only while IPv6 is on), `incoming` the default policy. Only the peer's family counts: an
 * IPv6-only rule lets no IPv4 client in. An app profile's rule carries the profile's ports in the tuple (ufw
 * resolves them when the rule is added), so `allow OpenSSH` opens 22/tcp and nothing else.
 */
export function admits(tuples: UfwTuple[], incoming: string | undefined, family: 4 | 6, port: number, proto: 'tcp' | 'udp', peer: Peer): Admission {
  let unsure: UfwTuple | undefined;
  for (const t of tuples) {
    if (t.family !== family || t.route || t.direction !== 'in' || !coversPort(t, port, proto)) continue;
    const m = matches(t, peer);
    if (m === 'no') continue;
    const rule = renderTuple(t);
    // limit accepts a human's rate (ufw rejects a 6th new connection from one address within 30 s)
    if (t.action === 'allow' || t.action === 'limit') {
      if (m === 'yes') return { in: true, rule, why: `"${rule}" lets it in` };
      unsure ??= t;
      continue;
    }
    // deny or reject: a narrowed one that may be the peer's is taken as shutting it out
    return m === 'yes' ? { in: false, rule, why: `"${rule}" comes first and shuts it out` } : { in: false, rule, maybe: true, why: `"${rule}" comes first and may shut it out` };
  }
  if (incoming === 'allow') return { in: true, why: 'no rule decides and the default incoming policy is allow' };
  const aside = unsure ? `; "${renderTuple(unsure)}" is narrowed to a source, address or interface that is not known to be this one` : '';
  return { in: false, why: `no rule lets it in (default incoming ${incoming ?? 'deny'})${aside}`, ...(unsure ? { unsure: renderTuple(unsure) } : {}) };
}

/** Does the rule apply to the peer's connections: surely, surely not, or it depends on what is unknown? */
function matches(t: UfwTuple, peer: Peer): Match {
  const any = (a: string) => a === '0.0.0.0/0' || a === '::/0';
  // the source port of a new connection is whatever the client's kernel picks
  const sport: Match = t.sport === 'any' && t.sapp === '' ? 'yes' : 'maybe';
  if (peer === 'anyone') return any(t.src) && any(t.dst) && t.ifIn === '' && sport === 'yes' ? 'yes' : 'no';
  const src: Match = any(t.src) ? 'yes' : peer.addr === undefined ? 'maybe' : cidrContains(t.src, peer.addr) ? 'yes' : 'no';
  const dst: Match = any(t.dst) ? 'yes' : peer.to === undefined ? 'maybe' : cidrContains(t.dst, peer.to) ? 'yes' : 'no';
  // iptables' -i: a name ending in + is a prefix
  const onIface = (want: string, have: string) => (want.endsWith('+') ? have.startsWith(want.slice(0, -1)) : want === have);
  const iface: Match = t.ifIn === '' ? 'yes' : peer.iface === undefined ? 'maybe' : onIface(t.ifIn, peer.iface) ? 'yes' : 'no';
  const all = [src, dst, iface, sport];
  return all.includes('no') ? 'no' : all.includes('maybe') ? 'maybe' : 'yes';
}

/**
 * The controller as a firewall on the host sees its SSH connection: from the source address sshd reports,
 * to the host's address it reached, arriving on the interface the host routes back to it by (where its
 * packets come in unless the host's routing is asymmetric). Unknown parts stay unknown.
 */
export function controllerPeer(access: AccessInfo, host: HostInfo): Peer {
  return {
    ...(access.client !== undefined ? { addr: access.client } : {}),
    ...(host.server !== undefined ? { to: host.server } : {}),
    ...(host.clientRoute?.dev !== undefined ? { iface: host.clientRoute.dev } : {}),
  };
}

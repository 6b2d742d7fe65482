import { z } from 'zod';
import { isCidr } from '../../src/modules/ufw.js';
import { defineRole } from '../../src/playbook/role.js';

const source = z.string().refine(isCidr, 'an address or a network in CIDR form, e.g. "203.0.113.7", "203.0.113.0/24" or "2001:db8::/32"');
const PORT = /^\d+(:\d+)?(\/(tcp|udp))?$/;

const vars = z.object({
  ssh_port: z.number().int().min(1).max(65535).default(22),
  /** addresses or networks allowed to reach SSH; empty = anywhere */
  ssh_allow_from: z.array(source).default([]),
  /** ports open to anyone ("443/tcp", "60000:61000/udp"), or {port, proto, from_ip} for one source */
  firewall_allow: z
    .array(
      z.union([
        z.string().regex(PORT, 'a port like "443/tcp"'),
        z.object({ port: z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d+(:\d+)?$/)]), proto: z.enum(['tcp', 'udp']).default('tcp'), from_ip: source.default('any') }).strict(),
      ]),
    )
    .default(['80/tcp', '443/tcp']),
  /** remove rules found on the host that no role declared (rules this role added earlier are always removed when dropped) */
  firewall_purge: z.boolean().default(false),
  /** filter IPv6 too; every rule without a source then applies to both families */
  firewall_ipv6: z.boolean().default(true),
});

/** Every rule this role writes carries this comment, so a rule dropped from the variables can be told from a foreign one. */
export const OWNED = 'shipshape';

type Vars = z.infer<typeof vars>;

/** The ufw rules the variables declare: SSH first (from ssh_allow_from when set), then firewall_allow. */
export function firewallRules(v: Vars) {
  const port = String(v.ssh_port);
  const ssh = v.ssh_allow_from.length
    ? v.ssh_allow_from.map((from) => ({ port, proto: 'tcp' as const, from_ip: from, comment: `${OWNED} ssh` }))
    : [{ port, proto: 'tcp' as const, comment: `${OWNED} ssh` }];
  const open = v.firewall_allow.map((a) => {
    if (typeof a !== 'string') return { port: String(a.port), proto: a.proto, from_ip: a.from_ip, comment: `${OWNED} allow` };
    const [p, proto = 'tcp'] = a.split('/');
    // "443/tpc" is refused with its position when the ufw module checks its arguments
    return { port: p, proto: proto as 'tcp' | 'udp', comment: `${OWNED} allow` };
  });
  return [...ssh, ...open];
}

export default defineRole({
  name: 'firewall',
  summary: 'ufw: deny incoming by default, SSH (optionally from given networks only) and the declared ports open, IPv6 too',
  vars,
  tasks: (v) => [
    { name: 'ufw installed', module: 'apt', args: { name: ['ufw'], cache_valid_time: 3600 } },
    {
      name: 'firewall rules',
      module: 'ufw',
      args: {
        state: 'enabled',
        default_incoming: 'deny',
        default_outgoing: 'allow',
        rules: firewallRules(v),
        purge: v.firewall_purge,
        ipv6: v.firewall_ipv6,
        owned_comment: OWNED,
        ssh_port: v.ssh_port,
      },
    },
  ],
});

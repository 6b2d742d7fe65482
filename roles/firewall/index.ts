import { z } from 'zod';
import { defineRole } from '../../src/playbook/role.js';

const vars = z.object({
  ssh_port: z.number().int().min(1).max(65535).default(22),
  /** CIDRs allowed to reach SSH; empty = anywhere */
  ssh_allow_from: z.array(z.string()).default([]),
  firewall_allow: z.array(z.string().regex(/^\d+(:\d+)?(\/(tcp|udp))?$/, 'a port like "443/tcp"')).default(['80/tcp', '443/tcp']),
  /** remove rules found on the host that are not declared */
  firewall_purge: z.boolean().default(false),
});

export default defineRole({
  name: 'firewall',
  summary: 'ufw: deny incoming by default, SSH (optionally from given networks only) and the declared ports open, IPv6 too',
  vars,
  tasks: (v) => {
    const ssh = v.ssh_allow_from.length
      ? v.ssh_allow_from.map((from) => ({ port: String(v.ssh_port), proto: 'tcp', from_ip: from, comment: 'ssh' }))
      : [{ port: String(v.ssh_port), proto: 'tcp', comment: 'ssh' }];
    return [
      { name: 'ufw installed', module: 'apt', args: { name: ['ufw'], cache_valid_time: 3600 } },
      {
        name: 'firewall rules',
        module: 'ufw',
        args: { state: 'enabled', default_incoming: 'deny', default_outgoing: 'allow', rules: [...ssh, ...v.firewall_allow], purge: v.firewall_purge },
      },
    ];
  },
});

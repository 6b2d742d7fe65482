import { z } from 'zod';
import { isCidr } from '../../src/modules/ufw.js';
import { defineRole, type RoleTask } from '../../src/playbook/role.js';
import sshFirewall from './ssh_firewall.js';

const vars = z.object({
  ssh_port: z.number().int().min(1).max(65535).default(22),
  ssh_permit_root_login: z.boolean().default(false),
  ssh_allow_tcp_forwarding: z.boolean().default(false),
  ssh_max_auth_tries: z.number().int().min(2).max(10).default(3),
  /** the firewall role's variable: the new port is opened only to these networks, as that role will */
  ssh_allow_from: z.array(z.string().refine(isCidr, 'an address or a network in CIDR form, e.g. "203.0.113.0/24"')).default([]),
});

/**
 * Algorithms chosen so ssh-audit reports no failure and no warning on OpenSSH 8.9-10.x
 * (Debian 12, Ubuntu 22.04/24.04, Debian 13): no NIST curves, no SHA-1, no 2048-bit groups, no
 * encrypt-and-MAC modes, no 64-bit tags. Ciphers, MACs and host key algorithms are one explicit list
 * every one of those versions knows. shipshape's own client (ssh2) needs one of each list:
 * curve25519-sha256, aes*-gcm / chacha20-poly1305, hmac-sha2-*-etm and ssh-ed25519 / rsa-sha2-* are
 * what it uses.
 *
 * Key exchange is the one list that keeps moving: OpenSSH 10 made the post-quantum
 * mlkem768x25519-sha256 its default, and an explicit list would either drop it there or be refused by
 * OpenSSH 9.2's `sshd -t` (unknown name). So the role REMOVES the weak ones from sshd's own default
 * (`KexAlgorithms -...`, OpenSSH 7.5+) and keeps whatever strong exchange this sshd puts first:
 * mlkem768x25519 on Debian 13, sntrup761x25519 on Debian 12 and Ubuntu 24.04 (see effectiveKex).
 */
export const KEX_REMOVED = [
  'ecdh-sha2-*',
  'diffie-hellman-group1-sha1',
  'diffie-hellman-group14-*',
  'diffie-hellman-group-exchange-sha1',
  // the IANA name of sntrup761x25519-sha512@openssh.com, which stays: the same exchange, but ssh-audit
  // 2.5 (Debian 12's) only knows the old name and warns "unknown algorithm" about this one
  'sntrup761x25519-sha512',
];

/** The list sshd uses for `KexAlgorithms -<removed>` given its default list: OpenSSH's own rule, wildcards included. */
export function effectiveKex(serverDefault: string[], removed: string[] = KEX_REMOVED): string[] {
  const matches = (alg: string, pattern: string) =>
    new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$').test(alg);
  return serverDefault.filter((alg) => !removed.some((p) => matches(alg, p)));
}

export const CIPHERS = ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr', 'aes192-ctr', 'aes128-ctr'];
export const MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'umac-128-etm@openssh.com'];
export const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ssh-ed25519-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'rsa-sha2-512',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256',
  'rsa-sha2-256-cert-v01@openssh.com',
];

/** the role's own modules: its tasks use them, playbooks cannot */
const own = { ssh_firewall: sshFirewall };

export default defineRole<z.infer<typeof vars>, typeof own>({
  name: 'ssh',
  summary: 'sshd locked down: keys only, no root, strong algorithms, in a validated drop-in that must win',
  vars,
  modules: own,
  tasks: (v): RoleTask<typeof own>[] => [
    {
      // group-exchange would otherwise offer 2048-bit primes, which auditors flag
      name: 'only DH moduli of 3072 bits or more',
      module: 'shell',
      args: {
        cmd: "awk '$5 >= 3071' /etc/ssh/moduli > /etc/ssh/moduli.shipshape && mv /etc/ssh/moduli.shipshape /etc/ssh/moduli",
        unless: "awk '$5 < 3071 { bad = 1 } END { exit bad }' /etc/ssh/moduli",
      },
      notify: ['reload ssh'],
    },
    {
      // on a host whose firewall is already up, the new SSH port must be open BEFORE sshd moves
      // there, or the guard's confirmation login is dropped (the firewall role runs after this one);
      // skipped when ufw is not active, or when some rule already lets this port in
      name: 'SSH port open in an active firewall',
      module: 'ssh_firewall',
      args: { port: v.ssh_port, from: v.ssh_allow_from },
    },
    {
      name: 'sshd hardened settings',
      module: 'sshd_config',
      args: {
        settings: {
          Port: v.ssh_port,
          PermitRootLogin: v.ssh_permit_root_login ? 'prohibit-password' : 'no',
          PasswordAuthentication: false,
          KbdInteractiveAuthentication: false,
          PermitEmptyPasswords: false,
          PubkeyAuthentication: true,
          AuthenticationMethods: 'publickey',
          X11Forwarding: false,
          AllowAgentForwarding: false,
          AllowTcpForwarding: v.ssh_allow_tcp_forwarding,
          MaxAuthTries: v.ssh_max_auth_tries,
          LoginGraceTime: 30,
          ClientAliveInterval: 300,
          ClientAliveCountMax: 2,
          // ClientAlive* detects dead peers inside the encrypted channel; TCP keepalives are spoofable
          TCPKeepAlive: false,
          Compression: false,
          LogLevel: 'VERBOSE',
          HostKey: ['/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_rsa_key'],
          KexAlgorithms: `-${KEX_REMOVED.join(',')}`,
          Ciphers: CIPHERS,
          MACs: MACS,
          HostKeyAlgorithms: HOST_KEY_ALGORITHMS,
        },
      },
    },
    { name: 'sshd running', module: 'service', args: { name: 'ssh', state: 'started', enabled: true, masked: false } },
  ],
  handlers: () => [{ name: 'reload ssh', module: 'service', args: { name: 'ssh', state: 'reloaded' } }],
});

import { z } from 'zod';
import { defineRole, type RoleTask } from '../../src/playbook/role.js';
import sysctlOrder from './sysctl_order.js';

/**
 * Kernel parameters of the usual baselines (CIS, dev-sec, Lynis' scan profile) that a Docker host can
 * live with. Left out on purpose: ip_forward / conf.all.forwarding = 0 (Docker's bridge and published
 * ports need forwarding; dockerd refuses to start without it), kernel.modules_disabled (Docker and ufw
 * load modules on demand), IPv6 router advertisements (many VPS get their IPv6 route from them), and
 * tcp_timestamps = 0 (costs PAWS and RTT measurement for no real gain).
 */
export const SYSCTL_DEFAULTS: Record<string, string> = {
  // kernel information and attack surface for local users
  'kernel.kptr_restrict': '2',
  'kernel.dmesg_restrict': '1',
  'kernel.perf_event_paranoid': '3',
  'kernel.unprivileged_bpf_disabled': '1',
  'net.core.bpf_jit_harden': '2',
  'kernel.yama.ptrace_scope': '1',
  'kernel.randomize_va_space': '2',
  'kernel.sysrq': '0',
  'dev.tty.ldisc_autoload': '0',
  // no core dumps of setuid programs; pid in the name of any other
  'fs.suid_dumpable': '0',
  'kernel.core_uses_pid': '1',
  // link and file races in world-writable sticky directories (/tmp)
  'fs.protected_hardlinks': '1',
  'fs.protected_symlinks': '1',
  'fs.protected_fifos': '2',
  'fs.protected_regular': '2',
  // IPv4: no redirects or source routing, spoofed sources dropped and logged, SYN flood protection
  'net.ipv4.conf.all.accept_redirects': '0',
  'net.ipv4.conf.default.accept_redirects': '0',
  'net.ipv4.conf.all.secure_redirects': '0',
  'net.ipv4.conf.default.secure_redirects': '0',
  'net.ipv4.conf.all.send_redirects': '0',
  'net.ipv4.conf.default.send_redirects': '0',
  'net.ipv4.conf.all.accept_source_route': '0',
  'net.ipv4.conf.default.accept_source_route': '0',
  'net.ipv4.conf.all.rp_filter': '1',
  'net.ipv4.conf.default.rp_filter': '1',
  'net.ipv4.conf.all.log_martians': '1',
  'net.ipv4.conf.default.log_martians': '1',
  'net.ipv4.icmp_echo_ignore_broadcasts': '1',
  'net.ipv4.icmp_ignore_bogus_error_responses': '1',
  'net.ipv4.tcp_syncookies': '1',
  'net.ipv4.tcp_rfc1337': '1',
  // IPv6: the same for redirects and source routing
  'net.ipv6.conf.all.accept_redirects': '0',
  'net.ipv6.conf.default.accept_redirects': '0',
  'net.ipv6.conf.all.accept_source_route': '0',
  'net.ipv6.conf.default.accept_source_route': '0',
};

const vars = z.object({
  /** per key: a value replaces the default, null leaves the key alone (e.g. rp_filter on asymmetric routing) */
  sysctl_overrides: z.record(z.string().regex(/^[a-z0-9_.\/-]+$/, 'a sysctl key like "kernel.sysrq"'), z.union([z.string(), z.number(), z.null()])).default({}),
});

export const SYSCTL_FILE = '/etc/sysctl.d/90-shipshape-hardening.conf';

export function sysctlSettings(overrides: Record<string, string | number | null>): [string, string][] {
  const merged: Record<string, string | number | null> = { ...SYSCTL_DEFAULTS, ...overrides };
  return Object.entries(merged).flatMap(([k, v]) => (v === null ? [] : [[k, String(v)] as [string, string]]));
}

/** the role's own modules: its tasks use them, playbooks cannot */
const own = { sysctl_order: sysctlOrder };

export default defineRole<z.infer<typeof vars>, typeof own>({
  name: 'sysctl_hardening',
  summary: 'Kernel hardening sysctls that leave Docker working; skipped with a reason in containers, where they are read-only',
  vars,
  // the sysctl module reports each key as skipped on a container (LXC, OpenVZ, nspawn): the host's kernel decides there
  modules: own,
  tasks: (v): RoleTask<typeof own>[] => {
    const settings = sysctlSettings(v.sysctl_overrides);
    return [
      ...settings.map(([name, value]) => ({
        name: `sysctl ${name} = ${value}`,
        module: 'sysctl' as const,
        args: { name, value, sysctl_file: SYSCTL_FILE },
      })),
      // what a boot applies: a file sorting after ours wins (judged on containers too: the files are the machine's)
      { name: 'no later sysctl.d file overrides these settings', module: 'sysctl_order' as const, args: { file: SYSCTL_FILE, settings: Object.fromEntries(settings) } },
    ];
  },
});

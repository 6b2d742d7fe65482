import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';

/** sysctl prints multi-word values tab-separated (ip_local_port_range); playbooks write them with spaces. */
export function normalizeSysctlValue(value: string): string {
  return value.trim().split(/\s+/).join(' ');
}

/**
 * The file of a key under /proc/sys, as sysctl(8) finds it: when the first separator is a dot, dots and
 * slashes swap (net.ipv4.conf.eth0/100.rp_filter -> net/ipv4/conf/eth0.100/rp_filter). undefined for a
 * name that would leave /proc/sys.
 */
export function sysctlPath(name: string): string | undefined {
  const dot = name.indexOf('.');
  const slash = name.indexOf('/');
  const swap = dot >= 0 && (slash < 0 || dot < slash);
  const rel = swap ? name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.')) : name;
  const parts = rel.split('/').filter(Boolean);
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..')) return undefined;
  return `/proc/sys/${parts.join('/')}`;
}

/**
 * The running kernel's value of one key; undefined when the key does not exist (module not loaded yet).
 * Read from /proc/sys with the shell's own `read`, as `sysctl -n` prints it: no process at all.
 */
export function sysctlValue(name: string) {
  const path = sysctlPath(name);
  const script = path
    ? `{ while IFS= read -r __ss_l; do printf '%s\\n' "$__ss_l"; done; [ -z "$__ss_l" ] || printf '%s\\n' "$__ss_l"; } < ${shq(path)}`
    : 'false';
  return probe<string | undefined>(`sysctl:${name}`, script, (out, code) => (code === 0 ? normalizeSysctlValue(out) : undefined), { inline: true });
}

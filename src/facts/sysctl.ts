import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';
import { batchablePath } from './file-batch.js';
import { fileText } from './file.js';

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
 * In a play, every key's /proc/sys file is read by the play's one `head` over the files it reads (fileText:
 * the same bytes sysctl prints, no process of its own); alone, by `sysctl -n`. Not by the shell's `read`: it
 * reads a byte at a time, and most /proc/sys files answer only a read from offset 0.
 */
export function sysctlValue(name: string) {
  const path = sysctlPath(name);
  return probe<string | undefined>(`sysctl:${name}`, `sysctl -n -- ${shq(name)}`, (out, code) => (code === 0 ? normalizeSysctlValue(out) : undefined), {
    ...(path && batchablePath(path) ? { batch: fileText(path).batch! } : {}),
  });
}

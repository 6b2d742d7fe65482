import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';

/** sysctl prints multi-word values tab-separated (ip_local_port_range); playbooks write them with spaces. */
export function normalizeSysctlValue(value: string): string {
  return value.trim().split(/\s+/).join(' ');
}

/** The running kernel's value of one key; undefined when the key does not exist (module not loaded yet). */
export function sysctlValue(name: string) {
  return probe<string | undefined>(`sysctl:${name}`, `sysctl -n -- ${shq(name)}`, (out, code) =>
    code === 0 ? normalizeSysctlValue(out) : undefined,
  );
}

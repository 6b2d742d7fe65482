import { probe } from '../core/probe.js';

/**
 * The whole filter table of one family (`iptables -w -S` or `ip6tables -w -S`), as the shell keeps it:
 * the output without its trailing newlines, exit 0; exit 1 when that iptables is missing or failed.
 * One probe (one id) for every asker: ufw's state, the ssh role's firewall check and each Docker chain
 * read the same dump.
 */
export function iptablesDump(cmd: 'iptables' | 'ip6tables') {
  return probe<string>(`iptables-S:${cmd}`, `command -v ${cmd} >/dev/null && ${cmd} -w -S 2>/dev/null`, (out) => out, { inline: true, cost: 2.5 });
}

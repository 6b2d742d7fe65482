import { shq } from '../core/quote.js';

/**
 * One run at a time per host. Two controllers applying to one host interleave their changes and
 * their guards (one run's revert undoes the other's work), so `apply` takes a host-wide lock first:
 * a directory in /run (a reboot clears it) holding who took it. A second run waits, bounded, then
 * refuses naming the holder. Every round trip of the holder refreshes it; a lock nobody refreshed
 * for `staleSec` is a dead controller's and is taken over.
 */
export interface HostLock {
  dir: string;
  /** this run's token: only the holder refreshes and releases */
  token: string;
  /** who holds it, for the refusal message of a second run */
  holder: string;
  waitSec: number;
  staleSec: number;
}

export const LOCK_DIR = '/run/shipshape/lock';

/** Exit status of acquireScript when another run holds the lock past the wait. */
export const LOCK_HELD = 75;

/** `force`: take over the lock whoever holds it (its run is known to be gone). */
export function acquireScript(l: HostLock, force = false): string {
  const d = shq(l.dir);
  return [
    `mkdir -p "$(dirname ${d})"`,
    ...(force ? [`rm -rf ${d}`] : []),
    'i=0',
    `while ! mkdir ${d} 2>/dev/null; do`,
    `  seen=$(stat -c %Y ${d}/holder 2>/dev/null || stat -c %Y ${d} 2>/dev/null || echo 0)`,
    `  age=$(( $(date +%s) - seen ))`,
    `  if [ "$age" -gt ${l.staleSec} ]; then rm -rf ${d}; continue; fi`,
    `  if [ "$i" -ge ${l.waitSec} ]; then printf '%s (last active %ss ago)\\n' "$(cat ${d}/holder 2>/dev/null || echo unknown)" "$age"; exit ${LOCK_HELD}; fi`,
    '  sleep 1; i=$((i + 1))',
    'done',
    `printf '%s\\n' ${shq(l.holder)} > ${d}/holder`,
    `printf '%s\\n' ${shq(l.token)} > ${d}/token`,
    'echo "$i"',
  ].join('\n');
}

/** Prepended to every round trip of the holder: the lock stays fresh while the run goes on. */
export function refreshScript(l: HostLock): string {
  return `[ "$(cat ${shq(l.dir + '/token')} 2>/dev/null)" = ${shq(l.token)} ] && touch ${shq(l.dir + '/holder')} 2>/dev/null\n`;
}

export function releaseScript(l: HostLock): string {
  return `if [ "$(cat ${shq(l.dir + '/token')} 2>/dev/null)" = ${shq(l.token)} ]; then rm -rf ${shq(l.dir)}; fi`;
}

// The bench's own hosts (h200..h219 only): booted fresh for every tool, on the release asked for, in
// parallel (the lab boots a batch at once); stopped when the bench is done.
import { labHost } from '../lab/addressing.js';
import { hostProcesses, knownHostNames, stopHost } from '../lab/host.js';
import { labUp, type Dist, type Lab } from '../lab/index.js';
import { writeInventory } from '../lab/inventory.js';
import { withLabLock } from '../lab/lock.js';
import { DNS_MANAGEMENT } from '../lab/services.js';

/**
 * Fresh hosts, as delivered. Their DNS names are cleared first: the lab adds a host's A record again
 * each time it re-creates the host, pebble-challtestsrv keeps every copy, and after about a dozen
 * re-creations the answer outgrows 512 bytes and Pebble's resolver fails ("dns: overflowing header
 * size"), so ACME fails for that host. The bench re-creates its hosts twice per round.
 */
export async function freshBenchHosts(names: string[], dist: Dist): Promise<Lab> {
  for (const n of names) {
    const res = await fetch(`${DNS_MANAGEMENT}/clear-a`, { method: 'POST', body: JSON.stringify({ host: labHost(n).fqdn }) }).catch(() => undefined);
    // not running yet (a first lab start): labUp starts it with no records at all
    if (res && !res.ok) throw new Error(`clearing the lab DNS name of ${n}: HTTP ${res.status}`);
  }
  return labUp({ hosts: names, fresh: true, dist });
}

/**
 * On 2 shared cores, idle hosts running dockerd, caddy and fail2ban slow everyone else down. Only the
 * names given are stopped, under the lab lock; the lab's inventory then lists the hosts still running
 * (as `labUp` writes it).
 */
export async function stopBenchHosts(names: string[]): Promise<void> {
  await withLabLock(async () => {
    await Promise.all(names.map(stopHost));
    writeInventory(knownHostNames().filter((n) => hostProcesses(n).loop !== undefined).map(labHost));
  });
}

// Stopping the bench's own hosts when it is done: on 2 shared cores, idle hosts running dockerd and
// caddy slow down everyone else. Only the names given are touched, under the lab lock, and the lab's
// inventory is rewritten to list the hosts still running (as `labUp` does).
import { labHost } from '../lab/addressing.js';
import { hostProcesses, knownHostNames, stopHost } from '../lab/host.js';
import { writeInventory } from '../lab/inventory.js';
import { withLabLock } from '../lab/lock.js';

export async function stopBenchHosts(names: string[]): Promise<void> {
  await withLabLock(async () => {
    await Promise.all(names.map(stopHost));
    writeInventory(knownHostNames().filter((n) => hostProcesses(n).loop !== undefined).map(labHost));
  });
}

/**
 * A fleet in one process: 100 inventory entries that share one address (the bench's simulation of 100
 * hosts over 20 lab hosts), checked on a real shell. Entries must not wait on each other because they
 * share an address (check takes no host lock), each costs the same work (one login, one round trip),
 * and the reports come back in inventory order. Controller CPU and memory per entry are printed, never
 * asserted on (the bench holds them to the targets).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { HostRunReport } from '../../../src/engine/host-run.js';
import { runAll, type HostJob } from '../../../src/engine/run.js';
import type { PlayInstance, TaskInstance } from '../../../src/engine/types.js';
import { modules } from '../../../src/modules/index.js';
import { LocalTransport } from '../../../src/transport/local.js';
import type { ConnectionSpec, Transport } from '../../../src/transport/types.js';

const dir = mkdtempSync(join(tmpdir(), 'ss-fleet-'));

function task(i: number): TaskInstance {
  const mod = modules.copy;
  return { name: `file ${i}`, module: mod, args: mod.schema.parse({ dest: join(dir, `f${i}`), content: `${i}\n`, mode: '0644' }), tags: [], notify: [], become: false, noLog: false };
}

function jobs(n: number): HostJob[] {
  return Array.from({ length: n }, (_, i) => {
    const spec: ConnectionSpec = { name: `sim${String(i + 1).padStart(3, '0')}`, host: '192.0.2.50', port: 22, user: 'root', knownHostsFiles: [], acceptNewHostKeys: false, connectTimeoutMs: 5000, kind: 'local' };
    const play: PlayInstance = { name: 'site', become: false, tasks: Array.from({ length: 10 }, (_, t) => task(t)), handlers: [] };
    return { spec, plays: [play] };
  });
}

/** Local shells as the hosts; counts the logins in progress at once. */
function fleet() {
  let open = 0;
  let most = 0;
  const make = (spec: ConnectionSpec): Transport => {
    const inner = new LocalTransport(spec);
    return {
      spec,
      async connect() {
        open++;
        most = Math.max(most, open);
        // a login takes a while; entries that waited on each other would never overlap here
        await new Promise((r) => setTimeout(r, 30));
        open--;
      },
      run: (script, opts) => inner.run(script, opts),
      close: async () => undefined,
    };
  };
  return { make, most: () => most };
}

describe('100 inventory entries on one address', () => {
  it('are checked side by side, forks at a time, each with one login and one round trip', async () => {
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `f${i}`), `${i}\n`, { mode: 0o644 });
    const lines: string[] = [];
    for (const n of [1, 20, 100]) {
      const f = fleet();
      const cpu = process.cpuUsage();
      const report = await runAll(jobs(n), { check: true, forks: 20, guardTimeoutSec: 30 }, f.make, () => undefined);
      const used = process.cpuUsage(cpu);
      const hosts = Object.values(report.hosts) as HostRunReport[];
      expect(Object.keys(report.hosts)).toEqual(jobs(n).map((j) => j.spec.name));
      expect(hosts.filter((h) => h.error || h.unreachable || h.changed || h.failed)).toEqual([]);
      for (const h of hosts) expect([h.stats?.logins, h.stats?.roundTrips, h.ok]).toEqual([1, 1, 10]);
      expect(f.most()).toBe(Math.min(n, 20));
      lines.push(`${n} entries: controller CPU ${((used.user + used.system) / 1000 / n).toFixed(1)} ms per entry, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
    }
    console.log(`fleet (local shells): ${lines.join('; ')}`);
  }, 120_000);
});

describe('a fleet run keeps a host\'s expanded tasks only while that host runs', () => {
  it('lets the tasks of a host that has reported be collected while later hosts still run', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `f${i}`), `${i}\n`, { mode: 0o644 });
    const all = jobs(3);
    // held weakly only: the test must not keep them alive itself
    const plays = all.map((j) => new WeakRef(j.plays[0]));
    const tasks = all.map((j) => new WeakRef(j.plays[0].tasks[0]));
    const f = fleet();
    let seenWhileLastRan: boolean[] = [];
    const make = (spec: ConnectionSpec): Transport => {
      const t = f.make(spec);
      if (spec.name !== 'sim003') return t;
      return {
        ...t,
        async connect() {
          // the first two hosts have reported; the third has not finished its first step
          await new Promise((r) => setTimeout(r, 0));
          gc();
          seenWhileLastRan = [...plays, ...tasks].map((w) => w.deref() !== undefined);
          await t.connect();
        },
      };
    };
    const reported: string[] = [];
    const report = await runAll(all, { check: true, forks: 1, guardTimeoutSec: 30 }, make, (e) => e.type === 'host-done' && reported.push(e.host));
    expect(reported).toEqual(['sim001', 'sim002', 'sim003']);
    expect(Object.values(report.hosts).map((h) => h.ok)).toEqual([10, 10, 10]);
    // hosts 1 and 2: gone (plays and tasks); host 3: still in use by its own run
    expect(seenWhileLastRan).toEqual([false, false, true, false, false, true]);
  }, 60_000);
});

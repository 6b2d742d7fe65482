/**
 * Issue 15, controller at fleet scale: 1, 20 and 100 inventory entries that all point at one lab host
 * (each entry its own connection, as the bench simulates 100 hosts over 20), checked with the site
 * playbook. Every entry must be reached with one login and one round trip (one play), none may wait on
 * another because they share an address, and all must report the same thing. The controller's peak
 * memory and start time are printed from the run's own --json stats; the bench holds them to targets.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISTS, FIXTURES, freshHosts, hostFor, labPublicKey, PLAYBOOKS, shipshapeJson, writeInventory, type Lab, type LabHost } from './support.js';

const SITE = join(PLAYBOOKS, 'site.yml');
const FILES = join(FIXTURES, 'scale', 'files.yml');

interface Json {
  stats: { startMs: number; peakRssMb: number };
  hosts: Record<string, { changed: number; failed: number; unreachable: boolean; error?: string; stats: Stats; tasks: { name: string; status: string }[] }>;
}

interface Stats {
  roundTrips: number;
  logins: number;
  timings: { loginMs: number; factsMs: number; applyMs: number };
}

/** An inventory of `n` entries sim001..simN (not e001: the YAML 1.1 reader takes `e001` for a float), all at the host's address. */
function entries(lab: Lab, host: LabHost, n: number): string {
  const dir = writeInventory(lab, [host]);
  const names = Array.from({ length: n }, (_, i) => `sim${String(i + 1).padStart(3, '0')}`);
  const doc = {
    all: {
      vars: { user: 'root', identity_file: lab.keyPath, deploy_authorized_keys: [labPublicKey(lab)] },
      hosts: Object.fromEntries(names.map((name) => [name, { host: host.addr }])),
    },
  };
  writeFileSync(join(dir, 'hosts.yml'), stringify(doc));
  mkdirSync(join(dir, 'host_vars'), { recursive: true });
  return dir;
}

describe.each(DISTS)('one host as 1, 20 and 100 inventory entries (%s)', (dist) => {
  let lab: Lab;
  let host: LabHost;
  beforeAll(async () => {
    lab = await freshHosts([hostFor('h73', dist)], { dist });
    host = lab.hosts[0];
  });
  afterAll(() => undefined);

  it('a no-op is one round trip per entry, a change one more, and entries sharing an address do not wait on each other', async () => {
    // the first apply: one round trip to read, one per change (its steps and the re-read ride together);
    // the host lock rides in the first and is released by the end of the connection
    const first = await shipshapeJson('apply', FILES, entries(lab, host, 1), ['--yes']);
    expect(first.code, first.stderr).toBe(0);
    const one = (first.report as unknown as Json).hosts.sim001;
    const changes = one.tasks.filter((t) => t.status === 'changed').length;
    expect(changes).toBe(8);
    expect(one.stats).toMatchObject({ logins: 1, roundTrips: 1 + changes });
    const again = await shipshapeJson('apply', FILES, entries(lab, host, 1), ['--yes']);
    expect((again.report as unknown as Json).hosts.sim001.stats).toMatchObject({ logins: 1, roundTrips: 1 });
    // check takes no host lock: 100 entries on one address all run, forks at a time, one trip each.
    // At most 8 at once: one sshd lets 10 logins wait for authentication (MaxStartups 10:30:100) and
    // drops some beyond that; the bench spreads its 100 entries over 20 hosts
    const check = await shipshapeJson('check', FILES, entries(lab, host, 100), ['--forks', '8']);
    const hosts = Object.values((check.report as unknown as Json).hosts);
    expect(hosts.filter((h) => h.error).map((h) => h.error)).toEqual([]);
    expect(check.code, check.stderr).toBe(0);
    expect(hosts).toHaveLength(100);
    for (const h of hosts) expect([h.stats.logins, h.stats.roundTrips, h.changed]).toEqual([1, 1, 0]);
  });

  it('the site check: every entry reached with one login, the same verdict and the same work', async () => {
    const seen: string[] = [];
    for (const n of [1, 20, 100]) {
      const r = await shipshapeJson('check', SITE, entries(lab, host, n));
      const report = r.report as unknown as Json;
      const hosts = Object.values(report.hosts);
      expect(hosts).toHaveLength(n);
      // a fresh host: the site would change things (exit 2), and nothing is unreachable or failed
      expect(r.code, r.stderr).toBe(2);
      expect(hosts.filter((h) => h.unreachable || h.failed || h.error)).toEqual([]);
      // one trip for the play, plus one per handler flush the would-be changes notify: the same for all
      expect(new Set(hosts.map((h) => `${h.stats.logins} ${h.stats.roundTrips}`))).toEqual(new Set([`1 ${hosts[0].stats.roundTrips}`]));
      expect(new Set(hosts.map((h) => JSON.stringify(h.tasks.map((t) => [t.name, t.status]))))).toHaveProperty('size', 1);
      const perEntry = (k: keyof Stats['timings']) => Math.round(hosts.reduce((s, h) => s + h.stats.timings[k], 0) / n);
      seen.push(`${n} entries: startMs ${report.stats.startMs}, peakRssMb ${report.stats.peakRssMb}, roundTrips ${hosts[0].stats.roundTrips}, per entry loginMs ${perEntry('loginMs')} factsMs ${perEntry('factsMs')}`);
    }
    // reported, never asserted on: speed and memory targets are the bench's
    console.log(`scale (${dist}):\n  ${seen.join('\n  ')}`);
  });
});

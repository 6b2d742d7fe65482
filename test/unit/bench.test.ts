// Pure parts of the benchmark (scripts/bench/): its command line, the --json stats it reads, the
// simulation's inventory entries, the judges that decide whether a run counts.
import { describe, expect, it } from 'vitest';
import { FIRST_HOST, LAST_HOST, UsageError, benchHostNames, parseArgs, repeatFor, type BenchArgs } from '../../scripts/bench/args.js';
import { simulatedEntries } from '../../scripts/bench/setup.js';
import { breakdown, breakdownLine } from '../../scripts/bench/stats.js';
import { judgeShipshape } from '../../scripts/bench/tools.js';
import { labHost } from '../../scripts/lab/addressing.js';

const args = (...argv: string[]) => parseArgs(argv) as BenchArgs;

describe('bench command line', () => {
  it('defaults to 1, 10 and 20 hosts on Debian 12, Ansible included, no simulation', () => {
    expect(args()).toMatchObject({ hostCounts: [1, 10, 20], dists: ['bookworm'], skipAnsible: false, simulate: [] });
    expect(args().repeat).toBeUndefined();
  });

  it('owns h200..h219 only, whatever the release', () => {
    expect([FIRST_HOST, LAST_HOST]).toEqual([200, 219]);
    expect(benchHostNames(20)).toEqual(Array.from({ length: 20 }, (_, i) => `h${200 + i}`));
    expect(() => parseArgs(['--hosts', '21'])).toThrow(/h200\.\.h219/);
  });

  it('takes a release or both', () => {
    expect(args('--dist', 'trixie').dists).toEqual(['trixie']);
    expect(args('--dist=both').dists).toEqual(['bookworm', 'trixie']);
    expect(() => parseArgs(['--dist', 'jessie'])).toThrow(UsageError);
  });

  it('repeats the cheap runs more than the slow ones unless told', () => {
    const d = args();
    expect([repeatFor(d, 1, 'ansible'), repeatFor(d, 10, 'ansible'), repeatFor(d, 20, 'shipshape')]).toEqual([3, 1, 3]);
    const five = args('--repeat', '5');
    expect([repeatFor(five, 20, 'ansible'), repeatFor(five, 1, 'shipshape')]).toEqual([5, 5]);
    expect(repeatFor(args('--repeat', '1'), 1, 'shipshape')).toBe(3);
  });

  it('refuses a simulation with more entries than the largest round can carry (sshd MaxStartups)', () => {
    expect(args('--hosts', '1,20', '--simulate', '1,20,100').simulate).toEqual([1, 20, 100]);
    expect(() => parseArgs(['--hosts', '1,10', '--simulate', '100'])).toThrow(/at most 50 entries/);
  });
});

describe('simulated inventory entries', () => {
  it('spreads entries round-robin over the hosts, each its own name', () => {
    const hosts = benchHostNames(20).map(labHost);
    const entries = simulatedEntries(hosts, 100);
    expect(new Set(entries.map((e) => e.name)).size).toBe(100);
    expect(entries[0]).toEqual({ name: 's001', host: hosts[0] });
    expect(entries[99]).toEqual({ name: 's100', host: hosts[19] });
    const perHost = new Map<string, number>();
    for (const e of entries) perHost.set(e.host.name, (perHost.get(e.host.name) ?? 0) + 1);
    expect([...perHost.values()].every((n) => n === 5)).toBe(true);
  });
});

describe('shipshape --json stats', () => {
  const run = (trips: number[], script = 40) =>
    JSON.stringify({
      stats: { startMs: 120, peakRssMb: 90 },
      hosts: Object.fromEntries(
        trips.map((t, i) => [`h${200 + i}`, { stats: { roundTrips: t, timings: { loginMs: 150, factsMs: 60, applyMs: 5 }, factScript: { ms: script, processes: 18 } } }]),
      ),
    });

  it('takes medians over hosts and runs, and the range of round trips', () => {
    const b = breakdown([run([1, 1]), run([1, 2], 50), 'not json']);
    expect(b).toMatchObject({ runs: 2, startMs: 120, peakRssMb: 90, loginMs: 150, factsMs: 60, applyMs: 5, factScriptMs: 45, factScriptProcesses: 18, roundTrips: { min: 1, max: 2 } });
    expect(breakdownLine(b, 1)).toBe(
      'CLI start 120 ms, SSH login 150 ms, facts 60 ms (fact script on the host 45 ms, 18 pids allocated meanwhile), apply 5 ms; round trips per host 1-2 (1 play); peak RSS 90 MB',
    );
  });

  it('says n/a for what a shipshape does not report yet', () => {
    const b = breakdown([JSON.stringify({ hosts: { h200: { ok: 3 } } })]);
    expect(b.runs).toBe(1);
    expect(breakdownLine(b, 1)).toBe(
      'CLI start n/a, SSH login n/a, facts n/a (fact script on the host n/a, n/a pids allocated meanwhile), apply n/a; round trips per host n/a (1 play); peak RSS n/a',
    );
  });
});

describe('a run counts only when every host converged', () => {
  const report = (hosts: Record<string, object>) => JSON.stringify({ hosts });
  const ok = { ok: 5, changed: 0, failed: 0, unreachable: false, tasks: [] };
  it('accepts a clean no-op and refuses a change, a missing host or a failure', () => {
    expect(judgeShipshape(report({ s001: ok, s002: ok }), 0, ['s001', 's002'], 'check')).toEqual([]);
    expect(judgeShipshape(report({ s001: ok }), 0, ['s001', 's002'], 'check')).toEqual(['s002 missing from the report']);
    const changed = { ...ok, changed: 1, tasks: [{ name: 'sshd', status: 'changed', reason: 'drift' }] };
    expect(judgeShipshape(report({ s001: changed }), 2, ['s001'], 'check')[0]).toMatch(/check found drift/);
    expect(judgeShipshape('', 1, ['s001'], 'noop')).toEqual(['exit 1, no JSON report on stdout']);
  });
});

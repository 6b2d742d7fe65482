/**
 * Issue 15, first apply: site.yml on a fresh lab host (root + key, as a cloud image is delivered), with
 * Debian's docker.io and caddy and one HTTPS site from the lab's Pebble, as the bench runs it. What an
 * operator relies on: the run converges; apt is asked for the index once and for every package the play
 * installs in ONE download transaction at the start; no package is installed twice; a second apply changes
 * nothing and check then exits 0. The first apply's wall time is printed (never asserted: the machine is shared).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISTS, PLAYBOOKS, freshHosts, hostExec, hostFor, shipshapeJson, siteLabVars, stopwatch, writeInventory, type JsonReport, type Lab, type LabHost } from './support.js';

const SITE = join(PLAYBOOKS, 'site.yml');

type Task = JsonReport['hosts'][string]['tasks'][number] & { module?: string; duration_ms?: number };
const tasksOf = (report: JsonReport, host: string) => report.hosts[host].tasks as Task[];
/** tasks whose reason says they refreshed the apt index / downloaded the play's packages */
const updates = (tasks: Task[]) => tasks.filter((t) => /update apt cache/.test(t.reason)).map((t) => `${t.name}: ${t.reason}`);
const downloads = (tasks: Task[]) => tasks.filter((t) => t.module === 'apt_prefetch' && /download /.test(t.reason)).map((t) => `${t.name}: ${t.reason}`);
/** where a first apply spends its time: the slowest tasks, printed for the report (never asserted) */
const slowest = (tasks: Task[], n = 12) =>
  [...tasks].sort((a, b) => (b.duration_ms ?? 0) - (a.duration_ms ?? 0)).slice(0, n).map((t) => `${((t.duration_ms ?? 0) / 1000).toFixed(1)}s ${t.role ?? ''}/${t.name}`);

describe.each(DISTS)('first apply of site.yml on a fresh host (%s)', (dist) => {
  let lab: Lab;
  let host: LabHost;
  let inv: string;
  let first: JsonReport;
  const { timings, timed } = stopwatch();

  beforeAll(async () => {
    lab = await freshHosts([hostFor('h62', dist)], { dist });
    [host] = lab.hosts;
    inv = writeInventory(lab, [host], {
      vars: siteLabVars(lab),
      hostVars: { [host.name]: { caddy_sites: [{ domain: host.fqdn, respond: `hello from ${host.name}` }] } },
    });
  }, 600_000);

  afterAll(() => console.log(`${dist}: ${timings.join(', ')} (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`));

  it('converges on the first apply, with one apt index update and one download transaction', async () => {
    const r = await timed('first apply', () => shipshapeJson('apply', SITE, inv));
    first = r.report;
    const tasks = tasksOf(first, host.name);
    expect(first.hosts[host.name].failed, JSON.stringify(tasks.filter((t) => t.status === 'failed'), null, 2) + r.stderr.slice(-2000)).toBe(0);
    expect(r.code).toBe(0);
    console.log(`${dist} first apply, slowest tasks:\n  ${slowest(tasks).join('\n  ')}`);
    expect(updates(tasks)).toHaveLength(1);
    expect(downloads(tasks)).toHaveLength(1);
    // the download is the play's first task; the index update rides in it, before any install
    const prefetch = tasks.findIndex((t) => t.module === 'apt_prefetch');
    const firstInstall = tasks.findIndex((t) => t.module === 'apt' && /^install /.test(t.reason));
    expect(prefetch).toBe(0);
    expect(firstInstall).toBeGreaterThan(prefetch);
    expect(tasks[prefetch].reason).toMatch(/^update apt cache \([^)]*\); download .*ufw.*fail2ban.*docker\.io.*caddy/);
    // it changes no managed state: never counted as a change
    expect(tasks[prefetch].status).toBe('ok');
  }, 900_000);

  it('installed no package twice, and the site answers over HTTPS', async () => {
    // apt's own log: one Install: line per transaction, "name:arch (version[, automatic])" entries
    const log = await hostExec(host.name, 'cat /var/log/apt/history.log');
    expect(log.code).toBe(0);
    const installed = log.stdout
      .split('\n')
      .filter((l) => l.startsWith('Install: '))
      .flatMap((l) => l.slice('Install: '.length).split(/\), /).map((e) => e.split(' ')[0]));
    expect(installed.length).toBeGreaterThan(20);
    expect(installed.filter((p, i) => installed.indexOf(p) !== i)).toEqual([]);
    for (const p of ['ufw', 'fail2ban', 'docker.io', 'caddy', 'unattended-upgrades']) expect(installed.some((e) => e.startsWith(`${p}:`))).toBe(true);
    // one apt transaction per installing task, no more: Debian 13's docker-cli rides in docker.io's own
    // transaction, and the task that would install it alone finds the `docker` command there
    const transactions = log.stdout.split('\n').filter((l) => l.startsWith('Install: '));
    const installing = tasksOf(first, host.name).filter((t) => (t.module === 'apt' || t.module === 'docker_packages') && /^install /.test(t.reason));
    expect(transactions).toHaveLength(installing.length);
    const dockerTx = transactions.find((l) => /[ ,]docker\.io:/.test(l));
    if (dist === 'trixie') expect(dockerTx).toMatch(/[ ,]docker-cli:/);
    expect(tasksOf(first, host.name).find((t) => t.name.startsWith('docker command installed'))?.status).toBe('ok');
    const curl = await hostExec(host.name, `curl -sk --resolve ${host.fqdn}:443:127.0.0.1 https://${host.fqdn}/`);
    expect(curl.stdout).toBe(`hello from ${host.name}`);
  });

  it('changes nothing on a second apply, and check then exits 0', async () => {
    const again = await timed('second apply', () => shipshapeJson('apply', SITE, inv));
    const changed = tasksOf(again.report, host.name).filter((t) => t.status === 'changed');
    expect(changed.map((t) => `${t.name}: ${t.reason}`)).toEqual([]);
    expect(again.code).toBe(0);
    // nothing left to download or index on a converged host
    expect(updates(tasksOf(again.report, host.name))).toEqual([]);
    expect(downloads(tasksOf(again.report, host.name))).toEqual([]);
    const check = await timed('check', () => shipshapeJson('check', SITE, inv));
    expect(check.code, JSON.stringify(tasksOf(check.report, host.name).filter((t) => t.status !== 'ok' && t.status !== 'skipped'), null, 2)).toBe(0);
  }, 600_000);
});

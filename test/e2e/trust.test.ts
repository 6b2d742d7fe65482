/**
 * Trust, end to end on real lab hosts (Debian 12 and Debian 13), over real SSH as an unprivileged
 * login user with sudo:
 * - a local user who owns /srv/app or ~/.ssh swaps in symbolic links to /etc: the run refuses, says
 *   so, and writes or chowns nothing outside (the write step, file, authorized_key);
 * - a file in that user's directory is still written right, and a second apply changes nothing;
 * - a become task in a non-become play reads its root-only file as root: no change forever.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deployUserScript, freshHosts, hostExec, labPublicKey, onHost, shipshape, shipshapeJson, sshLogin, stopwatch, writeDeployInventory, type Dist, type Lab, type LabHost } from './support.js';

const { timings, timed } = stopwatch();
const RELEASES: [Dist, string][] = [
  ['bookworm', 'h51'],
  ['trixie', 'h151'],
];

const on = onHost;

/** The local users of the scene: deploy (our login, sudo), mallory (owns /srv/app, swaps links in). */
const SETUP = (key: string) => `${deployUserScript(key)}
useradd -m -s /bin/sh mallory
install -d -o mallory -g mallory /srv/app
su mallory -c 'ln -s /etc /srv/app/conf.d; rm -rf /home/mallory/.ssh; ln -s /etc /home/mallory/.ssh'
`;

const task = (name: string, tag: string, body: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ name, tags: [tag], ...body, ...extra });

function playbook(dir: string): string {
  const plays = [
    {
      hosts: 'all',
      become: true,
      tasks: [
        task('write through a swapped directory', 'swap-write', { copy: { dest: '/srv/app/conf.d/evil.conf', content: 'pwned\n' } }),
        task('chown through a swapped directory', 'swap-chown', { file: { path: '/srv/app/conf.d/passwd', owner: 'mallory' } }),
        task('touch through a swapped directory', 'swap-touch', { file: { path: '/srv/app/conf.d/evil', state: 'touch' } }),
        task('keys into a swapped ~/.ssh', 'swap-keys', { authorized_key: { user: 'mallory', key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x' } }),
        task('app config in the user-owned directory', 'good', { copy: { dest: '/srv/app/app.conf', content: 'port=8080\n', owner: 'root', group: 'root', mode: '0640' } }),
      ],
    },
    {
      hosts: 'all',
      become: false,
      tasks: [
        task('root-only directory', 'become', { file: { path: '/etc/ss-trust', state: 'directory', mode: '0700' } }, { become: true }),
        task('root-only file, from a non-become play', 'become', { copy: { dest: '/etc/ss-trust/secret.conf', content: 'token=1\n', mode: '0400' } }, { become: true }),
      ],
    },
  ];
  const path = join(dir, 'trust.yml');
  writeFileSync(path, stringify(plays));
  return path;
}

let lab: Lab;
const hosts: LabHost[] = [];
let inv: string;
let pb: string;

beforeAll(async () => {
  for (const [dist, name] of RELEASES) {
    lab = await timed(`boot ${name} (${dist})`, () => freshHosts([name], { dist }));
    hosts.push(lab.hosts.find((h) => h.name === name)!);
  }
  const key = labPublicKey(lab);
  for (const h of hosts) {
    const r = await hostExec(h.name, SETUP(key));
    expect(r.code, r.stderr).toBe(0);
  }
  inv = writeDeployInventory(lab, hosts, 'ss-e2e-trust-');
  pb = playbook(inv);
}, 600_000);

afterAll(() => console.log(`trust e2e timings:\n  ${timings.join('\n  ')}`));

type Task = { name: string; status: string; reason: string; output?: string };
const tasksOf = (report: { hosts: Record<string, { tasks: unknown[] }> }, host: string) => report.hosts[host].tasks as Task[];

describe.each(RELEASES)('a local user cannot turn a root run into a write elsewhere (%s)', (_dist, name) => {
  it.each([
    ['swap-write', /refused: \/srv\/app\/conf\.d is a symbolic link owned by mallory/],
    ['swap-chown', /refused: \/srv\/app\/conf\.d is a symbolic link owned by mallory/],
    ['swap-touch', /refused: \/srv\/app\/conf\.d is a symbolic link owned by mallory/],
    ['swap-keys', /\/home\/mallory\/\.ssh is a link, not a directory/],
  ])('%s: refused, named, nothing written outside', async (tag, says) => {
    const r = await timed(`${name} ${tag}`, () => shipshapeJson('apply', pb, inv, ['-l', name, '-t', tag]));
    expect(r.code, r.stderr).toBe(1);
    const t = tasksOf(r.report, name).find((x) => x.status === 'failed')!;
    expect(`${t.reason}\n${t.output ?? ''}`).toMatch(says);
    // nothing landed in /etc, /etc/passwd still root's
    expect(await on(name, 'ls /etc/evil.conf /etc/evil /etc/authorized_keys 2>/dev/null; stat -c %U /etc/passwd')).toBe('root');
  });
});

describe.each(RELEASES)('writes that are allowed, and probes with the task become (%s)', (_dist, name) => {
  it('a file in the user-owned directory is written as asked; the root-only file of a become task converges', async () => {
    const first = await timed(`${name} first apply`, () => shipshapeJson('apply', pb, inv, ['-l', name, '-t', 'good,become']));
    expect(first.code, first.stderr + JSON.stringify(first.report)).toBe(0);
    expect(await on(name, 'stat -c "%U:%G %a" /srv/app/app.conf; cat /srv/app/app.conf')).toBe('root:root 640\nport=8080');
    expect(await on(name, 'stat -c "%U %a" /etc/ss-trust/secret.conf')).toBe('root 400');

    const again = await timed(`${name} second apply`, () => shipshapeJson('apply', pb, inv, ['-l', name, '-t', 'good,become']));
    expect(again.code).toBe(0);
    expect(tasksOf(again.report, name).filter((t) => t.status !== 'ok')).toEqual([]);
    const check = await timed(`${name} check`, () => shipshapeJson('check', pb, inv, ['-l', name, '-t', 'good,become']));
    expect(check.code).toBe(0);
  });
});

describe.each(RELEASES)('one run at a time per host (%s)', (_dist, name) => {
  it('a run holding the host lock makes another wait, then refuse naming it; two runs at once both finish', async () => {
    // another controller's run, live (it has just been active; a lock without anchors lives by its activity alone)
    await on(name, "rm -rf /run/shipshape/lock && mkdir -p /run/shipshape/lock && echo 'a run by eve@elsewhere (pid 42)' > /run/shipshape/lock/holder && echo other > /run/shipshape/lock/token");
    const held = await timed(`${name} lock held`, () => shipshapeJson('apply', pb, inv, ['-l', name, '-t', 'good', '--lock-wait', '2']));
    expect(held.code).toBe(1);
    expect(held.report.hosts[name].error).toMatch(/another shipshape run is applying to .*a run by eve@elsewhere \(pid 42\)/);
    expect(held.report.hosts[name].tasks).toEqual([]);
    await on(name, 'rm -rf /run/shipshape/lock');

    const [a, b] = await timed(`${name} two runs at once`, () =>
      Promise.all([shipshapeJson('apply', pb, inv, ['-l', name, '-t', 'good']), shipshapeJson('apply', pb, inv, ['-l', name, '-t', 'good'])]),
    );
    expect([a.code, b.code]).toEqual([0, 0]);
    // no release trip: the lock left behind is tied to the runs' SSH sessions (sudo in between), all gone now
    const alive = 'while read -r p s; do [ "$(cut -d" " -f22 /proc/$p/stat 2>/dev/null)" = "$s" ] && echo "$p alive"; done < /run/shipshape/lock/anchors; true';
    expect(await on(name, 'grep -c . /run/shipshape/lock/anchors')).toBe('1');
    expect(await on(name, alive)).toBe('');
    // so the next run takes it at once, in its first round trip
    const next = await timed(`${name} run after them`, () => shipshapeJson('apply', pb, inv, ['-l', name, '-t', 'good']));
    expect(next.code).toBe(0);
    expect(next.report.hosts[name].notes ?? []).toEqual([]);
    expect((next.report.hosts[name] as { stats?: { roundTrips: number } }).stats?.roundTrips).toBe(1);
  });
});

describe.each(RELEASES)('a reboot inside the guard window (%s)', (_dist, name) => {
  it('the host reverts the unconfirmed sshd change at boot, though its timer died with the reboot', async () => {
    const host = hosts.find((h) => h.name === name)!;
    const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-reboot-'));
    writeFileSync(join(dir, 'hosts.yml'), stringify({ all: { hosts: { [name]: { host: host.addr, user: 'root', identity_file: lab.keyPath } } } }));
    writeFileSync(join(dir, 'known_hosts'), readFileSync(lab.knownHostsPath));
    const play = join(dir, 'sshd.yml');
    writeFileSync(play, stringify([{ hosts: 'all', tasks: [{ name: 'no root login', sshd_config: { settings: { PermitRootLogin: 'no' } } }] }]));
    const fault = { NODE_OPTIONS: `--import ${join(import.meta.dirname, 'faults', 'reboot-before-confirm.mjs')}` };
    const r = await timed(`${name} apply until reboot`, () => shipshape(['apply', play, '-i', dir, '--yes', '--guard-timeout', '300'], fault));
    expect(r.code, r.stdout + r.stderr).toBe(-1);
    const killedAt = Date.now();
    // back, and root may log in again: the revert ran at boot, long before the 300 s timer would have
    let back = false;
    while (!back && Date.now() < killedAt + 150_000) {
      back = (await sshLogin(lab, 'root', host.addr, 'test ! -e /etc/ssh/sshd_config.d/00-shipshape.conf', ['-o', 'ConnectTimeout=2'])).code === 0;
      if (!back) await new Promise((res) => setTimeout(res, 1000));
    }
    timings.push(`${name} reboot: root back ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    expect(back).toBe(true);
    // it did reboot: the journal knows two boots
    expect(Number(await on(name, 'journalctl --list-boots --no-pager -q | wc -l'))).toBeGreaterThanOrEqual(2);
    expect(await on(name, 'ls /var/lib/shipshape/guard/ /etc/systemd/system/ | grep -c shipshape-revert || true')).toBe('0');
    expect(await on(name, 'journalctl -b -t shipshape --no-pager -q')).toMatch(/reverted access-critical change/);
  }, 300_000);
});

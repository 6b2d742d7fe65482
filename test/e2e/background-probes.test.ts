/**
 * Issue 15 (slow probes at once) and issue 7 (no local user turns a root run's redirection into a write
 * elsewhere), on fresh hosts of both releases (h33 Debian 12, h133 Debian 13). Probes that wait on a
 * daemon (sshd -T, sudo -l) run in the background lane: the left side of a pipeline whose right side runs the
 * rest and then prints the pipe with one `cat`. A `cat` that logs its arguments and stdin (first in the
 * script's PATH) shows that it did. Nothing goes through a file: where /run/shipshape is a link to a local
 * user's directory, or a directory a local user owns, nothing lands there, and the run judges the same.
 */
import { join } from 'node:path';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshHosts, onHost, shipshapeJson, stopwatch, type Lab, type LabHost } from './support.js';

const LOG = '/root/cat-args.log';
/** the fact script's PATH starts with /usr/local/sbin: a `cat` there logs what it is asked to print (its arguments, its stdin) */
const LOGGING_CAT = `printf '#!/bin/sh\\necho "$* $(readlink /proc/$$/fd/0)" >> ${LOG}\\nexec /bin/cat "$@"\\n' > /usr/local/sbin/cat && chmod 755 /usr/local/sbin/cat`;

describe('background probes on fresh hosts (Debian 12 and 13)', () => {
  let lab: Lab;
  let hosts: LabHost[];
  let inv: string;
  let play: string;
  const { timings, timed } = stopwatch();

  beforeAll(async () => {
    const [bookworm, trixie] = await timed('boot h33, h133', () => Promise.all([freshHosts(['h33']), freshHosts(['h133'], { dist: 'trixie' })]));
    lab = bookworm;
    hosts = [bookworm.hosts[0], trixie.hosts[0]];
    const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-bg-'));
    writeFileSync(join(dir, 'hosts.yml'), stringify({ all: { vars: { user: 'root', identity_file: lab.keyPath }, hosts: Object.fromEntries(hosts.map((h) => [h.name, { host: h.addr }])) } }));
    writeFileSync(join(dir, 'known_hosts'), readFileSync(lab.knownHostsPath));
    play = join(dir, 'play.yml');
    writeFileSync(
      play,
      stringify([
        {
          hosts: 'all',
          tasks: [
            { name: 'sshd settings', sshd_config: { settings: { MaxAuthTries: 4 } } },
            { name: 'no sudo for nobody', sudo_policy: { user: 'nobody', sudo: 'none' } },
          ],
        },
      ]),
    );
    inv = dir;
    // the first apply takes the host lock, which makes root's /run/shipshape
    const first = await timed('first apply', () => shipshapeJson('apply', play, inv, ['--yes']));
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    await Promise.all(hosts.map((h) => onHost(h.name, `${LOGGING_CAT} && useradd -m mallory`)));
  }, 600_000);

  afterAll(() => {
    console.log(`background-probes e2e timings:\n  ${timings.join('\n  ')}`);
  });

  const reasons = (r: Awaited<ReturnType<typeof shipshapeJson>>, h: string) => r.report.hosts[h].tasks.map((t) => `${t.status}: ${t.name}: ${t.reason}`);
  /** check, then what `cat` was asked to print meanwhile */
  async function checkRun(label: string) {
    await Promise.all(hosts.map((h) => onHost(h.name, `: > ${LOG}`)));
    const r = await timed(label, () => shipshapeJson('check', play, inv));
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    const cats = await Promise.all(hosts.map((h) => onHost(h.name, `cat ${LOG}`)));
    return { r, cats };
  }

  let normal: Awaited<ReturnType<typeof checkRun>>;

  it('start in the background, meet in a pipe, and leave nothing behind in /run/shipshape', async () => {
    normal = await checkRun('check, background');
    for (const [i, h] of hosts.entries()) {
      // one cat, of the pipe the background lane wrote its sections into
      expect(normal.cats[i], h.name).toMatch(/^ ?pipe:\[\d+\]$/m);
      // (the other line is this test's own cat of the log)
      expect(normal.cats[i].split('\n').filter((l) => l.includes('pipe:')), h.name).toHaveLength(1);
      expect(await onHost(h.name, 'ls -A /run/shipshape | grep -c "^\\.probe-" || true'), h.name).toBe('0');
      expect(reasons(normal.r, h.name).every((l) => l.startsWith('ok: ')), reasons(normal.r, h.name).join('\n')).toBe(true);
      expect(reasons(normal.r, h.name).join('\n')).toMatch(/sudo -l -U nobody/);
    }
  }, 600_000);

  it('write nothing there, and judge the same, where /run/shipshape is a link to a local user\'s directory', async () => {
    await Promise.all(hosts.map((h) => onHost(h.name, 'mv /run/shipshape /run/shipshape.real && install -d -o mallory -m 777 /home/mallory/spool && ln -s /home/mallory/spool /run/shipshape')));
    const linked = await checkRun('check, linked');
    for (const [i, h] of hosts.entries()) {
      expect(linked.cats[i], h.name).toMatch(/^ ?pipe:\[\d+\]$/m);
      expect(await onHost(h.name, 'ls -A /home/mallory/spool'), h.name).toBe('');
      expect(reasons(linked.r, h.name), h.name).toEqual(reasons(normal.r, h.name));
    }
  }, 600_000);

  it('write nothing there, and judge the same, where /run/shipshape is a directory a local user owns', async () => {
    await Promise.all(hosts.map((h) => onHost(h.name, 'rm /run/shipshape && install -d -o mallory -m 777 /run/shipshape')));
    const foreign = await checkRun('check, foreign');
    for (const [i, h] of hosts.entries()) {
      expect(foreign.cats[i], h.name).toMatch(/^ ?pipe:\[\d+\]$/m);
      expect(await onHost(h.name, 'ls -A /run/shipshape'), h.name).toBe('');
      expect(reasons(foreign.r, h.name), h.name).toEqual(reasons(normal.r, h.name));
    }
    await Promise.all(hosts.map((h) => onHost(h.name, 'rm -rf /run/shipshape && mv /run/shipshape.real /run/shipshape && rm -f /usr/local/sbin/cat')));
  }, 600_000);
});

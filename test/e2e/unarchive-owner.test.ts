/**
 * unarchive into a directory a local user owns, on real lab hosts (Debian 12 h46, Debian 13 h146): mallory owns
 * /srv/mallory-app and plants `conf -> /etc/ss-victim` in it; the archive names conf/app.conf without a directory
 * entry for conf/, so root's tar would follow her link and write into /etc. tar runs as mallory now:
 * - the file outside is untouched, the task fails at that entry, the rest of the archive is extracted (as mallory);
 * - a clean directory of hers gets the whole archive, owned by her; a root-owned dest extracts as root (owners
 *   from the archive kept);
 * - a second apply changes nothing and check exits 0.
 * The hole itself is shown first: root's own tar, run by hand the same way, does write into /etc.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DISTS, freshHosts, hostFor, onHost, shipshape, shipshapeJson, type Lab, type LabHost } from './support.js';

const SETUP = `
set -e
useradd -m -s /bin/sh mallory
mkdir -p /root/build/conf /root/build/bin /etc/ss-victim /etc/ss-demo
echo readme > /root/build/README; echo 'from the archive' > /root/build/conf/app.conf; printf '#!/bin/sh\\n' > /root/build/bin/run
tar -czf /var/tmp/app.tgz -C /root/build --no-recursion README conf/app.conf bin bin/run
chmod 644 /var/tmp/app.tgz
echo original > /etc/ss-victim/app.conf; echo original > /etc/ss-demo/app.conf
install -d -o mallory -g mallory /srv/mallory-app /srv/mallory-clean /srv/demo
install -d /opt/app
su mallory -c 'ln -s /etc/ss-victim /srv/mallory-app/conf; ln -s /etc/ss-demo /srv/demo/conf'
`;

const task = (name: string, dest: string, extra: Record<string, unknown> = {}) => ({ name, unarchive: { src: '/var/tmp/app.tgz', dest, remote_src: true }, ...extra });

describe.each(DISTS)('unarchive as the owner of dest (%s)', (dist) => {
  let lab: Lab;
  let host: LabHost;
  let inv: string;
  let pb: string;

  beforeAll(async () => {
    lab = await freshHosts([hostFor('h46', dist)], { dist });
    [host] = lab.hosts;
    expect(await onHost(host.name, `${SETUP}\necho setup-ok`)).toBe('setup-ok');
    inv = mkdtempSync(join(tmpdir(), 'ss-e2e-unarchive-'));
    writeFileSync(join(inv, 'hosts.yml'), stringify({ all: { hosts: { [host.name]: { host: host.addr, user: 'root', identity_file: lab.keyPath } } } }));
    writeFileSync(join(inv, 'known_hosts'), readFileSync(lab.knownHostsPath));
    pb = join(inv, 'unarchive.yml');
    writeFileSync(
      pb,
      stringify([
        {
          hosts: 'all',
          tasks: [
            task('into her directory with a planted link', '/srv/mallory-app', { ignore_errors: true }),
            task('into her clean directory', '/srv/mallory-clean'),
            task("into root's directory", '/opt/app'),
          ],
        },
      ]),
    );
  }, 600_000);

  it("the hole: root's tar, by hand, follows her link and writes into /etc", async () => {
    expect(await onHost(host.name, 'tar -xzf /var/tmp/app.tgz -C /srv/demo; cat /etc/ss-demo/app.conf')).toBe('from the archive');
  });

  it('apply: nothing written outside, her files hers, root dest as root; a second apply changes nothing and check exits 0', async () => {
    const first = await shipshapeJson('apply', pb, inv);
    const tasks = first.report.hosts[host.name].tasks as { name: string; status: string; reason: string; output?: string }[];
    const byName = Object.fromEntries(tasks.map((t) => [t.name, t]));
    // the planted link: tar (as mallory) cannot write through it; the task fails there and names the entry
    expect(byName['into her directory with a planted link'].status, JSON.stringify(tasks)).toBe('failed');
    expect(JSON.stringify(byName['into her directory with a planted link'])).toMatch(/conf\/app\.conf: Cannot open/);
    expect(await onHost(host.name, 'cat /etc/ss-victim/app.conf; stat -c %U /etc/ss-victim/app.conf')).toBe('original\nroot');
    // the rest of the archive is there, as mallory
    expect(await onHost(host.name, 'cd /srv/mallory-app && cat README && stat -c %U README bin bin/run')).toBe('readme\nmallory\nmallory\nmallory');
    expect(byName['into her clean directory'].status).toBe('changed');
    expect(await onHost(host.name, 'cd /srv/mallory-clean && cat README conf/app.conf && stat -c %U README conf conf/app.conf bin/run')).toBe(
      'readme\nfrom the archive\nmallory\nmallory\nmallory\nmallory',
    );
    expect(byName["into root's directory"].status).toBe('changed');
    expect(await onHost(host.name, 'cd /opt/app && cat conf/app.conf && stat -c %U README conf/app.conf bin/run')).toBe('from the archive\nroot\nroot\nroot');

    const again = await shipshapeJson('apply', pb, inv);
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(again.report.hosts[host.name].changed, JSON.stringify(again.report.hosts[host.name].tasks)).toBe(0);
    expect(again.report.hosts[host.name].failed).toBe(0);
    expect(await onHost(host.name, 'cat /etc/ss-victim/app.conf')).toBe('original');
    const check = await shipshape(['check', pb, '-i', inv]);
    expect(check.code, check.stdout.slice(-2000)).toBe(0);
  }, 600_000);
});

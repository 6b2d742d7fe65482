/**
 * Issue 13 (modules and filters) and issue 9 items 5-6, end to end on a fresh lab host of each Debian
 * release: an Ansible-style playbook using the new modules and filters converges, a second apply
 * changes nothing, check after it exits 0; a variable holding `; touch ...` never runs as a command;
 * check runs no command; reboot waits for the host to come back.
 * Hosts: h21 (Debian 12), h121 (Debian 13).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedTasks, DISTS, FIXTURES, freshHosts, hostExec, shipshapeJson, stopwatch, tcpOpen, writeInventory, type Dist, type Lab } from './support.js';

const DIR = join(FIXTURES, 'ansible-modules');
const SITE = join(DIR, 'site.yml');
const REBOOT = join(DIR, 'reboot.yml');
const CLEANUP = join(DIR, 'cleanup.yml');
const HOST: Record<Dist, string> = { bookworm: 'h21', trixie: 'h121' } as Record<Dist, string>;

async function onHost(name: string, cmd: string): Promise<string> {
  const r = await hostExec(name, cmd);
  if (r.code !== 0) throw new Error(`${name}: \`${cmd}\` exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A release tarball served over HTTP from the controller (lab hosts reach no internet): get_url's source. */
async function serveArchive(): Promise<{ server: Server; archive: Buffer; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-archive-'));
  mkdirSync(join(dir, 'app', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'app', 'bin', 'run.sh'), '#!/bin/sh\necho release 1\n', { mode: 0o755 });
  writeFileSync(join(dir, 'app', 'VERSION'), '1.0\n');
  execFileSync('tar', ['-czf', join(dir, 'app.tar.gz'), '-C', join(dir, 'app'), '.']);
  const archive = readFileSync(join(dir, 'app.tar.gz'));
  const server = createServer((req, res) => {
    if (req.url === '/app.tar.gz') res.writeHead(200, { 'content-type': 'application/gzip' }).end(archive);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '0.0.0.0', ok));
  return { server, archive, path: '/app.tar.gz' };
}

describe.each(DISTS)('Ansible modules and filters on Debian %s', (dist) => {
  const h = HOST[dist];
  const { timed, timings } = stopwatch();
  let lab: Lab;
  let inv: string;
  /** the host's own Debian mirror, as a one-line repo for its release's backports */
  let extra: string[];
  let served: Awaited<ReturnType<typeof serveArchive>>;

  beforeAll(async () => {
    lab = await freshHosts([h], { dist });
    // root logs in directly, as on a cloud image: this file is about modules, not the deploy user
    inv = writeInventory(lab, lab.hosts, { vars: { user: 'root' } });
    const mirror = (await onHost(h, "sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1; sed -n 's/^deb \\([^ ]*\\) .*/\\1/p' /etc/apt/sources.list 2>/dev/null | head -n1")).split('\n').find(Boolean)!;
    served = await serveArchive();
    const url = `http://${lab.gateway}:${(served.server.address() as AddressInfo).port}${served.path}`;
    extra = ['-e', `archive_url=${url}`, '-e', `archive_sha256=${createHash('sha256').update(served.archive).digest('hex')}`, '-e', `backports_repo=deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} ${dist}-backports main`];
  }, 600_000);
  afterAll(() => {
    served?.server.close();
    console.log(`${dist}: ${timings.join('; ')}`);
  });

  it("apt's autoremove and autoclean: check lists them and changes nothing, apply removes them, a second apply changes nothing", async () => {
    // a dependency left behind (jq pulls libjq1 and libonig5) and an archive no index offers. First in this
    // file: site.yml's `ufw limit 22/tcp` then refuses a 6th SSH connection within 30 s
    await onHost(h, 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >/dev/null && apt-get remove -y -q jq >/dev/null && : > /var/cache/apt/archives/zzold_0.1_all.deb');
    const installed = "dpkg-query -W -f '${db:Status-Status}\\n' libjq1 libonig5 2>/dev/null || true";
    expect(await onHost(h, installed)).toBe('installed\ninstalled\n');
    const check = await timed('cleanup check', () => shipshapeJson('check', CLEANUP, inv));
    expect(check.code, check.stdout).toBe(2);
    const [planned] = check.report.hosts[h].tasks;
    expect(planned.reason).toMatch(/autoremove libjq1 \S+, libonig5 \S+; autoclean 1 archive no index offers \(zzold 0\.1\)/);
    expect(await onHost(h, installed)).toBe('installed\ninstalled\n');
    expect(await onHost(h, 'ls /var/cache/apt/archives')).toContain('zzold_0.1_all.deb');
    const r = await timed('cleanup apply', () => shipshapeJson('apply', CLEANUP, inv));
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    // dpkg now says not-installed (or nothing at all) for both
    expect((await onHost(h, installed)).split('\n')).not.toContain('installed');
    expect(await onHost(h, 'ls /var/cache/apt/archives')).not.toContain('zzold');
    const again = await timed('cleanup again', () => shipshapeJson('apply', CLEANUP, inv));
    expect(changedTasks(again.report, h)).toEqual([]);
    expect(again.report.hosts[h].tasks[0].reason).toBe('no package to autoremove; no archive to autoclean');
  });

  it('check on the fresh host runs no command: nothing is created, commands are reported skipped', async () => {
    const r = await timed('check (fresh)', () => shipshapeJson('check', SITE, inv, extra));
    expect(r.report.hosts[h].failed, r.stdout).toBe(0);
    const tasks = r.report.hosts[h].tasks;
    // creates decides: the command would run (changed), but did not
    expect(tasks.find((t) => t.name.startsWith('the injection string'))!.status).toBe('changed');
    expect((await hostExec(h, 'test -e /root/echo-ran || test -e /root/quoted.txt')).code).not.toBe(0);
    expect((await hostExec(h, 'test -e /root/pwned-by-command')).code).not.toBe(0);
  });

  it('the playbook converges; the injection string stays an argument', async () => {
    const r = await timed('first apply', () => shipshapeJson('apply', SITE, inv, extra));
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    // issue 9 item 5: no file from the injected command, by the free form nor by argv
    expect((await hostExec(h, 'test -e /root/pwned-by-command')).code).not.toBe(0);
    expect(await onHost(h, 'cat /root/echo-ran')).toBe(';\ntouch\n/root/pwned-by-command\n');
    expect(await onHost(h, "ls /root | grep -c 'argv ; touch _root_pwned'")).toBe('1\n');
    // shell with the quote filter: the value arrived as one word
    expect(await onHost(h, 'cat /root/quoted.txt')).toBe('; touch /root/pwned-by-command\n');
    // timezone, systemd, package
    expect(await onHost(h, 'readlink /etc/localtime; cat /etc/timezone')).toBe('/usr/share/zoneinfo/Europe/Berlin\nEurope/Berlin\n');
    expect(await onHost(h, 'date +%Z')).toMatch(/^CE(S)?T\n$/);
    expect(await onHost(h, 'systemctl is-active cron; systemctl is-enabled cron')).toBe('active\nenabled\n');
    // replace (backreference) and blockinfile
    expect(await onHost(h, 'cat /etc/demo.conf')).toBe(
      '# demo\nlisten = 0.0.0.0 # was 127.0.0.1\nworkers = 2\n# BEGIN ANSIBLE MANAGED BLOCK\nextra = yes\nports = 80,443\n# END ANSIBLE MANAGED BLOCK\n',
    );
    // to_nice_yaml as PyYAML writes it, lookup('file')
    expect(await onHost(h, 'cat /etc/demo-app.yml')).toBe('# managed by shipshape\ndebug: false\nname: demo\nports:\n- 80\n- 443\n\n');
    // lookup('file') strips the trailing newline, as Ansible's does
    expect(await onHost(h, 'cat /etc/motd.d-demo')).toBe('motd line from a file');
    // password_hash: the shadow entry is the sha512-crypt openssl makes for the same salt
    const shadow = (await onHost(h, 'getent shadow demo')).split(':')[1];
    const openssl = (await onHost(h, "openssl passwd -6 -salt fixedsalt 's3cret pass'")).trim();
    expect(shadow).toBe(openssl);
    // omit: the directory got the default mode, not an empty one
    expect(await onHost(h, 'stat -c %a /srv/demo')).toBe('755\n');
    const tasks = r.report.hosts[h].tasks;
    expect(tasks.find((t) => t.name === 'stat of the config')!.reason).toMatch(/^\/etc\/demo\.conf: file, mode 0644, root:root/);
    expect(tasks.find((t) => t.name === 'say what was done')!.reason).toBe(`settings {'name': 'demo', 'ports': [80, 443], 'debug': False} on ${h}`);
    expect(tasks.find((t) => t.name === 'facts hold')!.status).toBe('ok');
    // ufw per-rule arguments: each rule as ufw keeps it, policy, logging, enabled, SSH still open
    const added = await onHost(h, 'ufw show added');
    expect(added).toContain('ufw limit 22/tcp\n');
    expect(added).toContain("ufw allow from 10.99.0.0/24 to any port 8080 proto tcp comment 'lab web'\n");
    const status = await onHost(h, 'ufw status verbose');
    expect(status).toMatch(/^Status: active$/m);
    expect(status).toMatch(/^Logging: on \(low\)$/m);
    expect(status).toMatch(/^Default: deny \(incoming\)/m);
    expect(await tcpOpen(lab.hosts[0].addr, 22)).toBe(true);
    // get_url (checksum) and unarchive (remote_src)
    expect(await onHost(h, 'stat -c %a /opt/app.tar.gz; cat /opt/app/VERSION; /opt/app/bin/run.sh')).toBe('640\n1.0\nrelease 1\n');
    // apt_repository's one-line repo: a deb822 file apt has fetched
    expect(await onHost(h, 'cat /etc/apt/sources.list.d/backports.sources')).toContain(`Suites: ${dist}-backports\n`);
    expect(await onHost(h, 'ls /var/lib/apt/lists')).toMatch(new RegExp(`${dist}-backports_main_binary`));
  });

  it('a second apply changes nothing, and check then exits 0', async () => {
    const again = await timed('second apply', () => shipshapeJson('apply', SITE, inv, extra));
    expect(again.code).toBe(0);
    expect(changedTasks(again.report, h)).toEqual([]);
    const check = await timed('check after apply', () => shipshapeJson('check', SITE, inv, extra));
    expect(check.code, check.stdout).toBe(0);
    expect(changedTasks(check.report, h)).toEqual([]);
  });

  it('reboot: the host reboots, the run waits for it and goes on over a new connection', async () => {
    const before = (await onHost(h, 'cat /proc/sys/kernel/random/boot_id')).trim();
    const r = await timed('reboot apply', () => shipshapeJson('apply', REBOOT, inv));
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const [boot, after] = r.report.hosts[h].tasks;
    expect(boot.status).toBe('changed');
    expect(boot.reason).toMatch(/back after \d+s/);
    expect(after.status).toBe('changed');
    expect((await onHost(h, 'cat /proc/sys/kernel/random/boot_id')).trim()).not.toBe(before);
    // the task after the reboot ran on the new boot
    expect((await onHost(h, 'cat /run/after-reboot')).trim()).toBe('yes');
  });
});

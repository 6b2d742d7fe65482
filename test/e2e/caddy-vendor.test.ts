/**
 * The caddy role's vendor path (Caddy's own repository, Cloudsmith's layout: one suite "any-version",
 * component main) against the lab's signed stand-in (scripts/lab/apt-repo.ts), whose `caddy` is a real web
 * server (Debian's binary, repackaged under a version above Debian's, as Caddy's own package is). What an
 * operator relies on: apt installs Caddy from that repository, verified with the declared key, and not Debian's;
 * Caddy then serves HTTPS with a certificate from the ACME CA (Pebble) that verifies against its root; a wrong
 * key fingerprint is refused before any host is touched; a second apply changes nothing. On Debian 12 (h14) and
 * Debian 13 (h114). Debian's own caddy package is proven in caddy.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAptRepo, hostAptDirectConf, labHost, type LabAptRepo } from '../../scripts/lab/index.js';
import { changedTasks, DISTS, FIXTURES, freshHosts, hostFor, hostExec, shipshape, shipshapeJson, stopwatch, writeInventory, type Lab } from './support.js';

const run = promisify(execFile);
const PLAYBOOK = join(FIXTURES, 'caddy', 'vendor.yml');
const { timings, timed } = stopwatch();

/** this file's host on the release being tested (set by each release's beforeAll) */
let H = 'h14';
let lab: Lab;
let repo: LabAptRepo;
let inv: string;
let rootPem: string;

const root = async (cmd: string) => {
  const r = await hostExec(H, cmd);
  expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const explain = (r: { code: number; stdout: string; stderr: string }) => `exit ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-3000)}`;

afterAll(() => {
  console.log(`caddy vendor e2e timings:\n  ${timings.join('\n  ')}`);
});

describe.each(DISTS)('caddy from the vendor repository stand-in (%s)', (dist) => {
  const name = () => `${H}.lab.test`;
  const addr = () => labHost(H).addr;
  const body = () => `hello from the upstream on ${H}\n`;

  beforeAll(async () => {
    H = hostFor('h14', dist);
    lab = await timed(`fresh ${H} (${dist})`, () => freshHosts([H], { dist }));
    repo = await timed('lab apt repositories', () => ensureAptRepo());
    // lab plumbing, like the apt proxy line of the image: the gateway's repository is fetched directly
    const direct = hostAptDirectConf();
    await root(`printf '%s' '${direct.content}' > ${direct.path}`);
    // the upstream: a transient unit, so it outlives this command
    await root(
      `mkdir -p /srv/upstream && printf '%s' '${body()}' > /srv/upstream/index.html && ` +
        'systemd-run --unit=ss-upstream --property=Restart=always python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv/upstream',
    );
    rootPem = join(mkdtempSync(join(tmpdir(), 'ss-e2e-caddy-vendor-')), 'pebble-root.pem');
    writeFileSync(rootPem, await lab.pebble.issuingRoot());
    inv = writeInventory(lab, lab.hosts, {
      vars: {
        caddy_source: 'vendor',
        caddy_apt_uri: repo.caddy.uri,
        caddy_apt_key: repo.caddy.key,
        caddy_apt_key_fingerprint: repo.caddy.fingerprint,
        caddy_email: 'ops@example.test',
        caddy_acme_ca: lab.pebble.directory,
        caddy_acme_ca_root: lab.pebble.listenerCaPath,
      },
    });
    writeFileSync(join(inv, 'host_vars', `${H}.yml`), stringify({ caddy_sites: [{ domain: name(), upstream: 'localhost:8000' }] }));
  });

  it('a key whose fingerprint is not the declared one is refused before any host is touched', async () => {
    const r = await shipshape(['apply', PLAYBOOK, '-i', inv, '-e', JSON.stringify({ caddy_apt_key_fingerprint: '0'.repeat(40) })]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`its fingerprint is ${repo.caddy.fingerprint}, not the expected 0{40}`));
    expect((await hostExec(H, 'test -e /etc/apt/sources.list.d/caddy-stable.sources || id deploy')).code).not.toBe(0);
  });

  it('installs Caddy from the signed vendor repository (not Debian\'s) and serves HTTPS with a certificate from the ACME CA', async () => {
    const r = await timed(`first apply (${dist})`, () => shipshapeJson('apply', PLAYBOOK, inv));
    const failed = r.report.hosts[H].tasks.filter((t) => t.status === 'failed');
    expect(failed, JSON.stringify(failed, null, 1) + r.stderr.slice(-2000)).toEqual([]);
    expect(r.code, explain(r)).toBe(0);

    expect(await root('cat /etc/apt/sources.list.d/caddy-stable.sources')).toBe(
      [
        '# managed by shipshape (apt_repository)',
        'Types: deb',
        `URIs: ${repo.caddy.uri}`,
        'Suites: any-version',
        'Components: main',
        'Signed-By: /etc/apt/keyrings/caddy-stable.asc',
        '',
      ].join('\n'),
    );
    expect(await root('cat /etc/apt/keyrings/caddy-stable.asc')).toBe(repo.caddy.key.endsWith('\n') ? repo.caddy.key : `${repo.caddy.key}\n`);
    // the vendor's package is installed, from the lab repository, though Debian's caddy is a candidate too
    expect(await root("dpkg-query -W -f='${Version} ${db:Status-Status}' caddy")).toBe('2.6.2+lab1 installed');
    const policy = await root('apt-cache policy caddy');
    expect(policy).toMatch(/Installed: 2\.6\.2\+lab1/);
    expect(policy).toContain(`${repo.caddy.uri} any-version/main amd64 Packages`);
    expect(policy).toMatch(/^ {5}2\.6\.2-\S+ 500$/m);
    // Debian's build says 2.6.2, the vendor's v2.x.y: the binary runs either way
    expect(await root('caddy version')).toMatch(/^v?2\.6\.2\b/);

    // HTTPS from the gateway, as a browser would: verified against Pebble's issuing root only
    const https = await run('curl', ['-sS', '--max-time', '15', '--cacert', rootPem, '--resolve', `${name()}:443:${addr()}`, `https://${name()}/`]);
    expect(https.stdout).toBe(body());
    const issuer = await run('sh', ['-c', `echo | openssl s_client -connect ${addr()}:443 -servername ${name()} 2>/dev/null | openssl x509 -noout -issuer`]);
    expect(issuer.stdout).toMatch(/Pebble Intermediate CA/);
    const head = await run('curl', ['-sS', '-I', '--max-time', '10', '--resolve', `${name()}:80:${addr()}`, `http://${name()}/`]);
    expect(head.stdout).toMatch(/^HTTP\/1\.1 308 /);
    expect(await root('systemctl is-enabled caddy; systemctl is-active caddy')).toBe('enabled\nactive\n');
  });

  it('a second apply changes nothing, and check agrees', async () => {
    const r = await timed(`second apply (${dist})`, () => shipshapeJson('apply', PLAYBOOK, inv));
    expect(r.code, explain(r)).toBe(0);
    expect(changedTasks(r.report, H)).toEqual([]);
    const repoTask = r.report.hosts[H].tasks.find((t) => t.name === 'Caddy apt repository')!;
    expect(repoTask.reason).toBe('/etc/apt/sources.list.d/caddy-stable.sources as declared, signed by /etc/apt/keyrings/caddy-stable.asc, index fetched');
    const check = await shipshapeJson('check', PLAYBOOK, inv);
    expect(check.code, explain(check)).toBe(0);
  });
});

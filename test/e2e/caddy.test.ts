/**
 * Caddy, end to end over real ACME (Pebble on the lab gateway), on a fresh lab host behind the hardening
 * roles. What an operator relies on: HTTPS that verifies against the CA's root and reaches the upstream,
 * HTTP redirected; a second apply changes nothing and asks the CA for nothing; a new site is a reload
 * (same Caddy process) and gets its certificate; a domain that does not point at the host is named as
 * such in the run's output, at once, while the other sites keep being served.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDnsName, labHost } from '../../scripts/lab/index.js';
import { DISTS, FIXTURES, changedTasks, freshHosts, hostFor, hostExec, shipshape, shipshapeJson, writeInventory, type JsonReport, type Lab } from './support.js';
import { stopwatch } from './support.js';

const run = promisify(execFile);
const PLAYBOOK = join(FIXTURES, 'caddy', 'site.yml');
/** this file's host and names on the release being tested (h11 on Debian 12, h111 on Debian 13): see useHost */
let HOST = 'h11';
let ADDR = '10.99.0.21';
let NAME = 'h11.lab.test';
/** a second site, added to the lab DNS for this host */
let APP = 'app.h11.lab.test';
/** in the lab DNS, pointing at an address no lab host has */
let ELSEWHERE = 'nothere.h11.lab.test';
const ELSEWHERE_ADDR = '10.99.0.250';
/** in no DNS at all */
let GHOST = 'ghost.h11.lab.test';
let UPSTREAM_BODY = 'hello from the upstream on h11\n';

function useHost(name: string): void {
  HOST = name;
  ADDR = labHost(name).addr;
  NAME = `${name}.lab.test`;
  APP = `app.${name}.lab.test`;
  ELSEWHERE = `nothere.${name}.lab.test`;
  GHOST = `ghost.${name}.lab.test`;
  UPSTREAM_BODY = `hello from the upstream on ${name}\n`;
}

let lab: Lab;
let inventory: string;
let rootPem: string;
const { timings, timed } = stopwatch();


type Task = JsonReport['hosts'][string]['tasks'][number] & { module: string; output?: string; duration_ms: number };
const caddyTasks = (r: JsonReport) => (r.hosts[HOST].tasks as Task[]).filter((t) => t.role === 'caddy');
const task = (r: JsonReport, name: string) => {
  const t = caddyTasks(r).find((x) => x.name === name);
  if (!t) throw new Error(`no caddy task "${name}" in ${caddyTasks(r).map((x) => x.name).join(', ')}`);
  return t;
};
const explain = (r: { code: number; stdout: string; stderr: string }) => `exit ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-3000)}`;

/** The sites (and anything else) of h11, as the operator would keep them in host_vars/h11.yml. */
function setHostVars(vars: Record<string, unknown>): void {
  writeFileSync(join(inventory, 'host_vars', `${HOST}.yml`), stringify(vars));
}

const site = (domain: string, extra: Record<string, unknown>) => ({ domain, ...extra });
/** what the host serves before a test adds sites (a function: NAME is the current release's) */
const baseSites = () => [site(NAME, { upstream: 'localhost:8000' })];

async function onHost(cmd: string): Promise<string> {
  const r = await hostExec(HOST, cmd);
  expect(r.code, `${cmd}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** From the gateway, as a browser would: TLS verified against Pebble's issuing root only. */
async function curlHttps(name: string): Promise<string> {
  const r = await run('curl', ['-sS', '--max-time', '10', '--cacert', rootPem, '--resolve', `${name}:443:${ADDR}`, `https://${name}/`]);
  return r.stdout;
}

/** SHA-256 fingerprint and serial of the certificate h11 serves for `name`, seen from the gateway. */
async function servedCert(name: string): Promise<string> {
  const r = await run('sh', ['-c', `echo | openssl s_client -connect ${ADDR}:443 -servername ${name} 2>/dev/null | openssl x509 -noout -fingerprint -sha256 -serial`]);
  return r.stdout.trim();
}

const caddyPid = async () => (await onHost('systemctl show -p MainPID --value caddy')).trim();
/** Pebble's log lines about a name (orders, validations): any new one means the CA was asked again. */
const pebbleMentions = (name: string) => readFileSync(join(lab.dir, 'log', 'pebble.log'), 'utf8').split('\n').filter((l) => l.includes(`"${name}"`)).length;
const caddyObtains = async (name: string) => Number((await onHost(`journalctl -u caddy -o cat --no-pager | grep -F '"identifier":"${name}"' | grep -c 'obtaining certificate' || true`)).trim());

describe.each(DISTS)('caddy: TLS over real ACME on a fresh lab host (%s)', (dist) => {
  beforeAll(async () => {
    useHost(hostFor('h11', dist));
    lab = await timed(`fresh ${HOST} (${dist})`, () => freshHosts([HOST], { dist }));
    await addDnsName(APP, ADDR);
    await addDnsName(ELSEWHERE, ELSEWHERE_ADDR);
    rootPem = join(mkdtempSync(join(tmpdir(), 'ss-e2e-caddy-')), 'pebble-root.pem');
    writeFileSync(rootPem, await lab.pebble.issuingRoot());
    // the upstream: a transient unit, so it outlives this command (and is not in Caddy's way)
    await onHost(
      `mkdir -p /srv/upstream && printf '%s' '${UPSTREAM_BODY}' > /srv/upstream/index.html && ` +
        'systemd-run --unit=ss-upstream --property=Restart=always python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv/upstream',
    );
    inventory = writeInventory(lab, lab.hosts, {
      vars: {
        caddy_source: 'debian',
        caddy_email: 'ops@example.test',
        caddy_acme_ca: lab.pebble.directory,
        caddy_acme_ca_root: lab.pebble.listenerCaPath,
      },
    });
    setHostVars({ caddy_sites: baseSites() });
  });

  afterAll(() => {
    console.log(`caddy e2e timings (1 host):\n  ${timings.join('\n  ')}`);
  });

  it('check on the fresh host predicts the whole role without failing', async () => {
    const r = await timed('check before the first apply', () => shipshapeJson('check', PLAYBOOK, inventory));
    expect(r.code, explain(r)).toBe(2);
    expect(r.report.hosts[HOST].failed, explain(r)).toBe(0);
    expect(task(r.report, 'Caddyfile').status).toBe('changed');
    expect(task(r.report, 'caddy runs the current config').status).toBe('changed');
    expect(task(r.report, 'certificates').reason).toMatch(`would wait up to 60 s until Caddy serves certificates for ${NAME}`);
    expect(task(r.report, 'domains resolve to this host').reason).toBe(`${NAME} resolves to ${ADDR} (this host)`);
  });

  it('the first apply installs Caddy and gets a certificate from the ACME CA', async () => {
    const r = await timed('first apply (hardening + caddy)', () => shipshapeJson('apply', PLAYBOOK, inventory));
    expect(r.code, explain(r)).toBe(0);
    const certs = task(r.report, 'certificates');
    expect(certs.status).toBe('changed');
    expect(certs.output).toMatch(new RegExp(`^${NAME.replace(/\./g, '\\.')}: issued after \\d+ s, valid until `, 'm'));
    timings.push(`  of which the certificate wait: ${(certs.duration_ms / 1000).toFixed(1)} s`);
    expect(task(r.report, 'caddy runs the current config').status).toBe('changed');
    expect(await onHost('cat /etc/caddy/Caddyfile')).toContain(`${NAME} {\n\treverse_proxy localhost:8000\n}\n`);
    expect(await onHost('stat -c "%U:%G %a" /etc/caddy/acme-ca-root.pem')).toBe('root:root 644\n');
  });

  it('HTTPS verifies against the CA root and returns the upstream; HTTP redirects to HTTPS', async () => {
    expect(await curlHttps(NAME)).toBe(UPSTREAM_BODY);
    const head = await run('curl', ['-sS', '-I', '--max-time', '10', '--resolve', `${NAME}:80:${ADDR}`, `http://${NAME}/some/path?q=1`]);
    expect(head.stdout).toMatch(/^HTTP\/1\.1 308 /);
    expect(head.stdout).toMatch(new RegExp(`^Location: https://${NAME}/some/path\\?q=1\\r?$`, 'm'));
    // ufw filters, and lets the web ports in (v4 lines; the v6 ones are there too)
    expect((await onHost('ufw status')).match(/^(80|443)\/tcp\s+ALLOW/gm)).toHaveLength(2);
  });

  it('a second apply changes nothing and asks the CA for nothing', async () => {
    const before = { cert: await servedCert(NAME), pid: await caddyPid(), pebble: pebbleMentions(NAME), obtains: await caddyObtains(NAME) };
    expect(before.obtains).toBe(1);
    const r = await timed('second apply (no-op)', () => shipshapeJson('apply', PLAYBOOK, inventory));
    expect(r.code, explain(r)).toBe(0);
    expect(r.report.hosts[HOST].changed, changedTasks(r.report, HOST).join(', ')).toBe(0);
    expect(task(r.report, 'certificates').reason).toMatch(new RegExp(`^${NAME.replace(/\./g, '\\.')}: certificate valid until \\d{4}-\\d\\d-\\d\\d \\(Pebble Intermediate CA [0-9a-f]+, serial [0-9A-F]+\\)$`));
    expect(task(r.report, 'caddy runs the current config').reason).toMatch(/^caddy \(pid \d+\) runs the current \/etc\/caddy\/Caddyfile, \/etc\/caddy\/acme-ca-root\.pem: loaded /);
    const after = { cert: await servedCert(NAME), pid: await caddyPid(), pebble: pebbleMentions(NAME), obtains: await caddyObtains(NAME) };
    expect(after).toEqual(before);

    const check = await timed('check after apply (no drift)', () => shipshapeJson('check', PLAYBOOK, inventory));
    expect(check.code, explain(check)).toBe(0);
  });

  it('adding a site reloads Caddy (same process) and the new site gets its certificate', async () => {
    const before = { cert: await servedCert(NAME), pid: await caddyPid() };
    setHostVars({ caddy_sites: [...baseSites(), site(APP, { respond: `app on ${HOST}`, headers: { 'X-Served-By': 'shipshape "caddy" role' } })] });
    const expected = ['caddy|Caddyfile', 'caddy|caddy runs the current config', 'caddy|certificates'];
    // check predicts the reload too, though nothing was written for it to see
    const predicted = await timed('check with a site added', () => shipshapeJson('check', PLAYBOOK, inventory));
    expect(predicted.code, explain(predicted)).toBe(2);
    expect(changedTasks(predicted.report, HOST)).toEqual(expected);
    expect(task(predicted.report, 'caddy runs the current config').reason).toBe('would reload caddy: /etc/caddy/Caddyfile changes in this run');
    const r = await timed('apply adding a site', () => shipshapeJson('apply', PLAYBOOK, inventory));
    expect(r.code, explain(r)).toBe(0);
    expect(changedTasks(r.report, HOST)).toEqual(expected);
    expect(task(r.report, 'caddy runs the current config').reason).toMatch(/^reload caddy: \/etc\/caddy\/Caddyfile changed after it last loaded its config/);
    expect(task(r.report, 'certificates').output).toMatch(new RegExp(`^${APP.replace(/\./g, '\\.')}: issued after \\d+ s`, 'm'));
    expect(await caddyPid()).toBe(before.pid);
    expect(await servedCert(NAME)).toBe(before.cert);
    expect(await curlHttps(APP)).toBe(`app on ${HOST}`);
    const head = await run('curl', ['-sS', '-I', '--max-time', '10', '--cacert', rootPem, '--resolve', `${APP}:443:${ADDR}`, `https://${APP}/`]);
    expect(head.stdout).toMatch(/^x-served-by: shipshape "caddy" role\r?$/im);
  });

  it('a domain that does not point at the host is named as such in the output, at once; the others keep working', async () => {
    const sites = [...baseSites(), site(APP, { respond: `app on ${HOST}` }), site(ELSEWHERE, { upstream: 'localhost:8000' }), site(GHOST, { respond: 'ghost' })];
    setHostVars({ caddy_sites: sites });
    const r = await timed('apply with two domains that do not point here', () => shipshapeJson('apply', PLAYBOOK, inventory));
    expect(r.code, explain(r)).toBe(1);
    const elsewhere = `${ELSEWHERE} resolves to ${ELSEWHERE_ADDR}, not this host (${ADDR}): Caddy cannot get a certificate for it`;
    const ghost = `${GHOST} does not resolve (no A or AAAA record in DNS): Caddy cannot get a certificate for it`;
    // said before Caddy asks for anything...
    const dns = task(r.report, 'domains resolve to this host');
    expect(dns.status).toBe('ok');
    expect(dns.reason).toContain(elsewhere);
    expect(dns.reason).toContain(ghost);
    // ...and the run fails on it, without waiting for certificates that cannot come
    const certs = task(r.report, 'certificates');
    expect(certs.status).toBe('failed');
    expect(certs.reason).toContain(elsewhere);
    expect(certs.reason).toContain(ghost);
    expect(certs.reason).toMatch(`${NAME}: certificate valid until`);
    expect(certs.duration_ms).toBeLessThan(5_000);
    // the config went live all the same: the other sites are served
    expect(task(r.report, 'caddy runs the current config').status).toBe('changed');
    expect(await curlHttps(NAME)).toBe(UPSTREAM_BODY);
    expect(await curlHttps(APP)).toBe(`app on ${HOST}`);

    // the text an operator reads without --json or -v
    const text = await timed('the same apply, text output', () => shipshape(['apply', PLAYBOOK, '-i', inventory]));
    expect(text.code, explain(text)).toBe(1);
    const failedLine = text.stdout.split('\n').find((l) => l.includes('FAILED') && l.includes('caddy | certificates'));
    expect(failedLine, text.stdout).toBeDefined();
    expect(failedLine).toContain(elsewhere);
    expect(failedLine).toContain(ghost);
  });

  it('a domain the DNS check is told to accept but the CA cannot validate: failed (or pending) with Caddy\'s reason after the bounded wait', async () => {
    // as if 10.99.0.250 were this host's public NAT address: the DNS check passes, ACME cannot
    setHostVars({
      caddy_sites: [...baseSites(), site(ELSEWHERE, { upstream: 'localhost:8000' })],
      caddy_public_addresses: [ELSEWHERE_ADDR],
      caddy_cert_wait: 8,
    });
    const r = await timed('apply waiting 8 s for a certificate that cannot come', () => shipshapeJson('apply', PLAYBOOK, inventory));
    expect(r.code, explain(r)).toBe(1);
    const certs = task(r.report, 'certificates');
    expect(certs.status).toBe('failed');
    expect(certs.reason).toMatch(`wait up to 8 s until Caddy serves certificates for ${ELSEWHERE}`);
    expect(certs.output).toMatch(new RegExp(`^${ELSEWHERE.replace(/\./g, '\\.')}: (failed: .*(urn:ietf:params:acme:error|connection|timeout|solving challenges).*|pending: no certificate after 8 s.*)$`, 'm'));
    console.log(`caddy e2e: what the run said about ${ELSEWHERE}:\n  ${certs.output}`);

    // and back to the good sites: the run is clean again
    setHostVars({ caddy_sites: baseSites() });
    const clean = await timed('apply back to the good site', () => shipshapeJson('apply', PLAYBOOK, inventory));
    expect(clean.code, explain(clean)).toBe(0);
  });
});

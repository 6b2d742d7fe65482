/**
 * The docker role on a fresh lab host with the whole site playbook (hardening + docker from Debian): the deploy
 * user runs containers without sudo, a published port is closed to the outside while open on the host itself,
 * a port in docker_public_ports is open, and all of that holds after a docker restart, a ufw reload and a reboot.
 * Then: a second apply changes nothing; a daemon.json change restarts docker once; a third apply changes nothing.
 * On Debian 12 (h9) and Debian 13 (h109), where the `docker` command is a package of its own (docker-cli).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedTasks, DISTS, freshHosts, hostExec, hostFor, PLAYBOOKS, shipshapeJson, sshLogin, tcpOpen, writeInventory, type JsonReport, type Lab, type LabHost } from './support.js';
import { stopwatch } from './support.js';
import { busyboxRootfs, PAGE, sshWithInput, waitFor } from './fixtures/docker/busybox.js';

/** this file's host on the release being tested (set by each release's beforeAll) */
let H = 'h9';
const SITE = join(PLAYBOOKS, 'site.yml');
const PRIVATE = 8081;
const PUBLIC = 8082;
const IMAGE = 'shipshape/busybox:e2e';

let lab: Lab;
let host: LabHost;
let inv: string;
const { timings, timed } = stopwatch();

async function apply(label: string, extra: string[] = []) {
  const r = await timed(label, () => shipshapeJson('apply', SITE, inv, extra));
  const h = r.report.hosts[H];
  const failed = h.tasks.filter((t) => t.status === 'failed');
  expect(failed, `${label}: ${JSON.stringify(failed, null, 1)}\n${r.stderr.slice(-2000)}`).toEqual([]);
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  return { ...r, host: h };
}

const root = async (cmd: string) => {
  const r = await hostExec(H, cmd);
  expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
};
const asDeploy = (cmd: string) => sshLogin(lab, 'deploy', host.addr, cmd);

/** The published ports as the outside sees them (from the gateway) and as the host itself does. */
async function reachability() {
  const local = async (port: number) => (await hostExec(H, `curl -s -m 5 http://${host.addr}:${port}/`)).stdout;
  return {
    outsidePrivate: await tcpOpen(host.addr, PRIVATE),
    outsidePublic: await tcpOpen(host.addr, PUBLIC),
    hostPrivate: await local(PRIVATE),
    hostLoopback: (await hostExec(H, `curl -s -m 5 http://127.0.0.1:${PRIVATE}/`)).stdout,
  };
}

/** What a fresh kernel has: no rules, no user chains, ACCEPT policies (iptables and ip6tables). */
const FRESH_KERNEL_TABLES = [
  'for f in iptables ip6tables; do',
  '  for t in filter nat mangle raw; do $f -w -t $t -F 2>/dev/null; $f -w -t $t -X 2>/dev/null; done',
  '  for c in INPUT FORWARD OUTPUT; do $f -w -P $c ACCEPT; done',
  'done',
].join('\n');

const CLOSED_TO_OUTSIDE = { outsidePrivate: false, outsidePublic: true, hostPrivate: PAGE, hostLoopback: PAGE };

/** Containers are back (docker restarts them: --restart unless-stopped) once the public one answers from outside. */
async function containersBack(timeoutMs = 90_000) {
  const ok = await waitFor(() => tcpOpen(host.addr, PUBLIC, 1000), timeoutMs, 1000);
  expect(ok, `port ${PUBLIC} did not answer again within ${timeoutMs / 1000} s`).toBe(true);
}

async function dockerUserRules(): Promise<string[]> {
  return (await root('iptables -S DOCKER-USER')).split('\n');
}

const handlerRuns = (report: JsonReport) => report.hosts[H].tasks.filter((t) => t.name === 'restart docker');
const dockerdStart = () => root('systemctl show -p MainPID -p ExecMainStartTimestampMonotonic docker');

afterAll(() => {
  console.log(`docker e2e timings:\n  ${timings.join('\n  ')}`);
});

describe.each(DISTS)('docker role on a fresh host (Debian docker.io), with the hardening roles (%s)', (dist) => {
  beforeAll(async () => {
    H = hostFor('h9', dist);
    lab = await timed(`fresh ${H} (${dist})`, () => freshHosts([H], { dist }));
    host = lab.hosts[0];
    inv = writeInventory(lab, [host], { vars: { docker_source: 'debian', docker_public_ports: [PUBLIC] } });
  });

  it('check on the fresh host predicts the changes without failing (nothing the docker role needs exists yet)', async () => {
    const r = await timed('check on the fresh host', () => shipshapeJson('check', SITE, inv));
    const docker = r.report.hosts[H].tasks.filter((t) => t.role === 'docker');
    expect(docker.filter((t) => t.status === 'failed')).toEqual([]);
    expect(docker.find((t) => t.name === 'published container ports obey the firewall')!.reason).toMatch(/once ufw is installed/);
    expect(r.code).toBe(2);
  });

  it('first apply installs docker behind the firewall', async () => {
    const r = await apply('first apply');
    expect(r.host.changed).toBeGreaterThan(0);
    const ms = (r.host.tasks as { role: string | null; duration_ms?: number }[]).filter((t) => t.role === 'docker').reduce((n, t) => n + (t.duration_ms ?? 0), 0);
    timings.push(`first apply: docker role tasks: ${(ms / 1000).toFixed(1)} s`);
    expect(await root('systemctl is-active docker; systemctl is-enabled docker')).toBe('active\nenabled');
    // systemd has read the drop-in: at boot docker waits for ufw's rules
    expect(await root('systemctl show -p After --value docker')).toMatch(/\bufw\.service\b/);
    expect(JSON.parse(await root('cat /etc/docker/daemon.json'))).toEqual({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '3' } });
    expect(await root('grep -c "^# BEGIN shipshape docker_ufw" /etc/ufw/after.rules /etc/ufw/after6.rules')).toBe('/etc/ufw/after.rules:1\n/etc/ufw/after6.rules:1');
    // docker and ufw use the same iptables backend (nf_tables on Debian 12), so they see the same tables
    expect(await root('iptables -V')).toMatch(/nf_tables/);
    expect(await root("update-alternatives --query iptables | sed -n 's/^Value: //p'")).toBe('/usr/sbin/iptables-nft');
    expect(await root("iptables-nft -S | grep -c -e '^-N DOCKER$' -e '^-N DOCKER-USER$' -e '^-N ufw-user-input$'")).toBe('3');
    expect(await root('iptables -S FORWARD | sed -n 2p')).toBe('-A FORWARD -j DOCKER-USER');
  });

  it('a second apply changes nothing', async () => {
    const r = await apply('second apply (no-op)');
    expect(changedTasks(r.report, H)).toEqual([]);
  });

  it('the deploy user runs containers without sudo, from an image imported offline', async () => {
    expect(await asDeploy('id -nG')).toMatchObject({ code: 0, stdout: expect.stringMatching(/\bdocker\b/) });
    // the client is there and talks to this daemon (Debian 13 ships it as docker-cli, only Recommended by docker.io)
    const version = await asDeploy("command -v docker && docker version --format '{{.Client.Version}} {{.Server.Version}}'");
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(dist === 'trixie' ? /^\/usr\/bin\/docker\n26\.\d+\.\d+\S* 26\./ : /^\/usr\/bin\/docker\n20\.10\.\d+\S* 20\.10\./);
    const tar = await busyboxRootfs();
    const imported = await timed('docker import', () => sshWithInput(lab, 'deploy', host.addr, `docker import - ${IMAGE}`, tar));
    expect(imported.code, imported.stderr).toBe(0);
    // --stop-timeout: busybox httpd as PID 1 ignores SIGTERM; without it every docker stop waits 10 s
    const runArgs = `-d --restart unless-stopped --stop-timeout 2 ${IMAGE} httpd -f -p 80 -h /www`;
    const r = await asDeploy(`docker run --name private -p ${PRIVATE}:80 ${runArgs} && docker run --name public -p ${PUBLIC}:80 ${runArgs}`);
    expect(r.code, r.stderr).toBe(0);
    await containersBack(30_000);
  });

  it('a published port is closed from outside and open on the host; a docker_public_ports port is open', async () => {
    expect(await reachability()).toEqual(CLOSED_TO_OUTSIDE);
    // containers still reach out (the rules only filter what comes in)
    expect((await asDeploy('docker exec private nc -w 3 10.99.0.1 3142 </dev/null; echo rc=$?')).stdout).toMatch(/rc=0/);
  });

  it('holds after systemctl restart docker', async () => {
    const before = await dockerUserRules();
    await timed('docker restart', async () => {
      await root('systemctl restart docker');
      await containersBack();
    });
    expect(await dockerUserRules()).toEqual(before);
    expect(await reachability()).toEqual(CLOSED_TO_OUTSIDE);
  });

  it('holds after ufw reload (and the chain is not duplicated)', async () => {
    const before = await dockerUserRules();
    await root('ufw reload');
    expect(await dockerUserRules()).toEqual(before);
    expect(await reachability()).toEqual(CLOSED_TO_OUTSIDE);
  });

  it('holds after a reboot of the host', async () => {
    await root('touch /run/shipshape-before-reboot');
    await timed('reboot', async () => {
      // A lab host's network namespace outlives its reboot, and with it the kernel's netfilter rules: ufw would
      // then find itself "already started" at boot and load nothing. A real machine boots with empty tables:
      // empty them (as a fresh kernel has them) so the boot order is really tested (ufw, then docker).
      await root(FRESH_KERNEL_TABLES);
      await hostExec(H, 'systemctl reboot');
      // /run is empty after a reboot: the marker tells the new boot from the old one
      const booted = 'test ! -e /run/shipshape-before-reboot && { systemctl is-system-running --wait >/dev/null; true; }';
      const back = await waitFor(async () => (await hostExec(H, booted).catch(() => ({ code: 1 }))).code === 0, 120_000, 1000);
      expect(back, 'the host did not come back from the reboot').toBe(true);
      await containersBack();
    });
    expect(await reachability()).toEqual(CLOSED_TO_OUTSIDE);
    expect(await root('iptables -S FORWARD | sed -n 2p')).toBe('-A FORWARD -j DOCKER-USER');
    // ufw loaded its rules at this boot (not "already started"), before docker started
    const boot = await root("journalctl -b -o cat -u ufw -u docker | grep -m1 -e 'Finished ufw' -e 'already started' -e 'Starting docker'");
    expect(boot).toMatch(/Finished ufw/);
  });

  it('the hole is real without the rules (someone flushed them), and an apply closes it again', async () => {
    await root('iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN');
    expect((await reachability()).outsidePrivate).toBe(true);
    const r = await apply('apply repairing flushed rules');
    expect(changedTasks(r.report, H)).toEqual(['docker|published container ports obey the firewall']);
    expect(r.host.tasks.find((t) => t.role === 'docker' && t.status === 'changed')!.reason).toBe('load the IPv4 DOCKER-USER rules');
    expect(await reachability()).toEqual(CLOSED_TO_OUTSIDE);
  });

  it('an apply after all that changes nothing', async () => {
    const r = await apply('apply after reboot (no-op)');
    expect(changedTasks(r.report, H)).toEqual([]);
  });

  it('changing docker_daemon rewrites daemon.json and restarts docker once; the next apply changes nothing', async () => {
    const daemon = ['-e', JSON.stringify({ docker_daemon: { 'log-opts': { 'max-file': '5' } } })];
    const started = await dockerdStart();
    const r = await apply('apply with a daemon.json change', daemon);
    expect(changedTasks(r.report, H)).toEqual(['docker|daemon.json', 'docker|restart docker']);
    expect(handlerRuns(r.report).map((t) => t.status)).toEqual(['changed']);
    expect(await dockerdStart()).not.toBe(started);
    expect(JSON.parse(await root('cat /etc/docker/daemon.json'))['log-opts']).toEqual({ 'max-size': '10m', 'max-file': '5' });
    await containersBack();
    // new containers get the new defaults
    const cfg = await asDeploy(`docker create ${IMAGE} true | xargs docker inspect -f '{{json .HostConfig.LogConfig.Config}}'`);
    expect(JSON.parse(cfg.stdout)).toEqual({ 'max-file': '5', 'max-size': '10m' });
    expect(await reachability()).toEqual(CLOSED_TO_OUTSIDE);

    const again = await dockerdStart();
    const third = await apply('third apply (no-op)', daemon);
    expect(changedTasks(third.report, H)).toEqual([]);
    expect(handlerRuns(third.report)).toEqual([]);
    expect(await dockerdStart()).toBe(again);
  });
});

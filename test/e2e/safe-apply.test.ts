/**
 * Safe apply (issue 4), end to end: no run can lock the operator out. Each scenario gets a fresh lab
 * host (h5..h8 belong to this file; h105..h108 on Debian 13) and judges the outcome from outside: the system ssh client,
 * TCP from the gateway, and the host's own state read without SSH (hostExec).
 *
 * 1. the deploy user's keys hold none of the controller's: refused before anything is applied
 *    (and 1b: a login that works but cannot sudo: the sshd change is applied, fails its
 *    confirmation, is reverted at once, and the report says what was kept and what reverted);
 * 2. ssh_port 2222: the run moves over, records the host key and the port, the next run is a no-op;
 * 3. the controller dies between the sshd change and its confirmation: the host reverts by itself;
 * 4. a firewall without the SSH port is refused before anything is applied; so is one whose allow would come
 *    after a deny for the controller made by hand on the host (kept, and first in ufw's order).
 * `check` flags access-critical changes (text and JSON).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DISTS, FIXTURES, PLAYBOOKS, freshHosts, hostFor, hostExec, shipshape, shipshapeJson, sshLogin, tcpOpen, writeInventory, type Dist, type Lab, type LabHost } from './support.js';
import { stopwatch } from './support.js';

const SITE = join(PLAYBOOKS, 'site.yml');
const NO_SSH_FIREWALL = join(FIXTURES, 'safe-apply', 'firewall-without-ssh.yml');
/** the roles that decide who gets in; the rest of site.yml is other work and not needed here */
const ACCESS = ['-t', 'deploy_user,ssh,firewall'];
const DROP_IN = '/etc/ssh/sshd_config.d/00-shipshape.conf';

const { timings, timed } = stopwatch();
afterAll(() => console.log(`safe-apply timings:\n  ${timings.join('\n  ')}`));


async function fresh(name: string, dist: Dist): Promise<{ lab: Lab; host: LabHost }> {
  const lab = await timed(`fresh ${hostFor(name, dist)} (${dist})`, () => freshHosts([hostFor(name, dist)], { dist }));
  return { lab, host: lab.hosts[0] };
}

async function on(host: LabHost, cmd: string): Promise<string> {
  const r = await hostExec(host.name, cmd);
  return r.stdout.trim();
}

/** What decides who can log in, read inside the host without SSH. */
async function accessState(host: LabHost) {
  return {
    sshd: await on(host, 'sshd -T 2>&1 | sort'),
    dropIns: await on(host, 'ls -A /etc/ssh/sshd_config.d/'),
    ufw: await on(host, 'if command -v ufw >/dev/null; then ufw status verbose; ufw show added; else echo "ufw not installed"; fi'),
    deploy: await on(host, 'getent passwd deploy || echo "no deploy user"'),
  };
}

/** No armed revert and no snapshot left on the host. */
async function expectNoGuardLeft(host: LabHost) {
  expect(await on(host, 'systemctl list-timers --all --no-pager | grep shipshape || true')).toBe('');
  expect(await on(host, 'systemctl list-units --all --no-pager | grep shipshape-revert || true')).toBe('');
  expect(await on(host, 'ls -A /var/lib/shipshape/guard 2>/dev/null || true')).toBe('');
}

function fingerprint(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubFile], { encoding: 'utf8' }).split(' ')[1];
}

describe.each(DISTS)('safe apply: a run can never lock the operator out (%s)', (dist) => {
  it('1. deploy keys the operator does not hold: refused before anything is applied, the host as it was', async () => {
    const { lab, host } = await fresh('h5', dist);
    const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nobody-has-this', '-f', join(dir, 'id')]);
    const inv = writeInventory(lab, [host], { vars: { deploy_authorized_keys: [readFileSync(join(dir, 'id.pub'), 'utf8').trim()] } });
    const before = await accessState(host);

    const r = await timed('1 wrong key: apply', () => shipshapeJson('apply', SITE, inv));
    expect(r.code).toBe(1);
    const h = r.report.hosts[host.name];
    expect([h.changed, h.failed]).toEqual([0, 1]);
    const why = h.tasks.find((t) => t.status === 'failed')!;
    expect(why.name).toBe('authorized keys of deploy');
    // which login was rejected, why, and which keys do not match
    // (the engine now asks first whether deploy exists, instead of a failed login sshd and fail2ban would count)
    expect(why.reason).toMatch(new RegExp(`the login deploy@${host.addr}:22 was rejected \\((authentication failed for user deploy|user deploy does not exist on ${host.addr} yet)`));
    expect(why.reason).toContain(`would give deploy only ssh-ed25519 ${fingerprint(join(dir, 'id.pub'))} (nobody-has-this)`);
    expect(why.reason).toContain(`this controller logs in with ssh-ed25519 ${fingerprint(`${lab.keyPath}.pub`)}`);
    expect(why.reason).toContain(`Nothing was changed on ${host.name}`);
    expect(h.error).toMatch(/refused before anything was applied/);

    expect((await sshLogin(lab, 'root', host.addr, 'true')).code).toBe(0);
    const after = await accessState(host);
    expect(after).toEqual(before);
    expect(after.dropIns).not.toContain('00-shipshape.conf');
    expect(after.sshd).toMatch(/^permitrootlogin without-password$/m);
    expect(after.deploy).toBe('no deploy user');
    await expectNoGuardLeft(host);
  });

  it('1b. a deploy login that cannot sudo: the sshd change fails its confirmation and is reverted at once', async () => {
    const { lab, host } = await fresh('h5', dist);
    const inv = writeInventory(lab, [host], { vars: { deploy_sudo: 'none' } });
    const before = await accessState(host);

    const r = await timed('1b no sudo: apply', () => shipshape(['apply', SITE, '-i', inv]));
    expect(r.code).toBe(1);
    const out = r.stdout;
    expect(out).toMatch(new RegExp(`FAILED +ssh \\| sshd hardened settings: .*then a new login as deploy@${host.addr}:22 with sudo failed: sudo asked for a password`));
    expect(out).toMatch(new RegExp(`reverted at once \\(restored ${DROP_IN}.*\\); a new login as root@${host.addr}:22 works again`));
    // the report names what stayed and what did not
    expect(out).toMatch(/applied and kept: "user deploy", "authorized keys of deploy"/);
    expect(out).toMatch(/not kept: "sshd hardened settings"; the tasks after it did not run/);

    expect((await sshLogin(lab, 'root', host.addr, 'true')).code).toBe(0);
    const after = await accessState(host);
    expect(after.sshd).toBe(before.sshd);
    expect(after.dropIns).toBe(before.dropIns);
    expect(after.ufw).toBe(before.ufw);
    await expectNoGuardLeft(host);
  });

  it('2. ssh_port 2222: check flags it, apply moves over and records key and port, the next apply changes nothing', async () => {
    const { lab, host } = await fresh('h6', dist);
    const inv = writeInventory(lab, [host], { vars: { ssh_port: 2222 } });
    const hostsYml = join(inv, 'hosts.yml');
    // an operator's comments, which the in-place update must keep
    const written = `# the lab fleet\n${readFileSync(hostsYml, 'utf8').replace(`    ${host.name}:\n`, `    ${host.name}:\n      # the address the lab gave it\n`)}`;
    writeFileSync(hostsYml, written);

    // check: access-critical changes flagged in text and JSON, with the port move predicted (and the
    // firewall for port 2222 not refused for lacking port 22)
    const text = await timed('2 port 2222: check', () => shipshape(['check', SITE, '-i', inv, ...ACCESS]));
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/sshd hardened settings: would create .*\n +access-critical: changes how sshd accepts logins; SSH moves from port 22 to 2222/);
    expect(text.stdout).toMatch(/firewall rules: would add "allow 2222\/tcp.*\n +access-critical: changes the firewall in front of SSH/);
    const check = await shipshapeJson('check', SITE, inv, ACCESS);
    const critical = Object.fromEntries(check.report.hosts[host.name].tasks.map((t) => [t.name, (t as { access_critical?: string }).access_critical]));
    expect(critical['sshd hardened settings']).toMatch(/SSH moves from port 22 to 2222/);
    expect(critical['firewall rules']).toBe('changes the firewall in front of SSH');
    expect(critical['user deploy']).toBeUndefined();
    expect(check.report.hosts[host.name].failed).toBe(0);

    const first = await timed('2 port 2222: apply', () => shipshapeJson('apply', SITE, inv, ACCESS));
    expect(first.code, first.stderr).toBe(0);
    const h = first.report.hosts[host.name];
    expect(h.failed).toBe(0);
    expect(h.tasks.find((t) => t.name === 'sshd hardened settings')!.reason).toMatch(new RegExp(`confirmed by a new login as deploy@${host.addr}:2222`));
    expect((first.report.hosts[host.name] as { moved?: unknown }).moved).toEqual({ from: 22, to: 2222 });
    expect(h.notes!.join('\n')).toMatch(new RegExp(`sshd now listens on port 2222: added \`port: 2222\` .*for ${host.name} in .*hosts\\.yml:\\d+`));

    expect(await tcpOpen(host.addr, 2222)).toBe(true);
    expect(await tcpOpen(host.addr, 22)).toBe(false);
    // the inventory: port added under the host, every comment still there
    const updated = readFileSync(hostsYml, 'utf8');
    expect(updated).toBe(written.replace(`    ${host.name}:\n`, `    ${host.name}:\n      port: 2222\n`));
    // the host key seen on port 22 was pinned and recorded for port 2222
    const ed25519 = (await on(host, 'cat /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1];
    expect(readFileSync(join(inv, 'known_hosts'), 'utf8')).toContain(`[${host.addr}]:2222 ssh-ed25519 ${ed25519}`);

    const second = await timed('2 port 2222: second apply', () => shipshapeJson('apply', SITE, inv, ACCESS));
    expect(second.code, second.stderr).toBe(0);
    expect(second.report.hosts[host.name].changed).toBe(0);
    expect(second.report.hosts[host.name].notes ?? []).toEqual([]);
    expect(second.stderr).not.toMatch(/recorded/);
    expect(readFileSync(hostsYml, 'utf8')).toBe(updated);
    await expectNoGuardLeft(host);
  });

  it('3. the controller dies between the sshd change and its confirmation: the host reverts by itself', async () => {
    const { lab, host } = await fresh('h7', dist);
    const inv = writeInventory(lab, [host]);
    const before = await accessState(host);
    const timeout = 20;

    const r = await timed('3 die before confirm: apply until killed', () =>
      shipshape(['apply', SITE, '-i', inv, ...ACCESS, '--guard-timeout', String(timeout)], { NODE_OPTIONS: `--import ${join(import.meta.dirname, 'faults', 'die-before-confirm.mjs')}` }),
    );
    const killedAt = Date.now();
    // killed by a signal: no exit code, and the run got as far as the ssh role
    expect(r.code).toBe(-1);
    expect(r.stdout).toMatch(/changed +deploy_user \| sudo for deploy/);
    // the change is in place and root is locked out right now: this is what must not last
    expect(await on(host, `cat ${DROP_IN}`)).toMatch(/^PermitRootLogin no$/m);
    expect((await sshLogin(lab, 'root', host.addr, 'true')).code).not.toBe(0);
    expect(await on(host, 'systemctl list-timers --all --no-pager | grep -c shipshape-revert')).toBe('1');

    // poll until root gets in again; the timer was armed before the change, so within the timeout
    let back = false;
    while (!back && Date.now() < killedAt + (timeout + 15) * 1000) {
      back = (await sshLogin(lab, 'root', host.addr, 'true', ['-o', 'ConnectTimeout=2'])).code === 0;
      if (!back) await new Promise((res) => setTimeout(res, 500));
    }
    timings.push(`3 die before confirm: root back ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (guard timeout ${timeout} s)`);
    expect(back).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan((timeout + 15) * 1000);

    const after = await accessState(host);
    expect(after.sshd).toBe(before.sshd);
    expect(after.dropIns).toBe(before.dropIns);
    expect(after.ufw).toBe(before.ufw);
    expect(await on(host, 'journalctl -t shipshape --no-pager -q')).toMatch(/reverted access-critical change/);
    await expectNoGuardLeft(host);
  });

  it('4. a firewall without the SSH port is refused before anything is applied, naming port and controller', async () => {
    const { lab, host } = await fresh('h8', dist);
    const inv = writeInventory(lab, [host], { vars: { ssh_allow_from: ['192.0.2.0/24'] } });
    const before = await accessState(host);

    // the firewall role, narrowed to a network the controller is not in
    const r = await timed('4 ssh_allow_from elsewhere: apply', () => shipshapeJson('apply', SITE, inv));
    expect(r.code).toBe(1);
    const h = r.report.hosts[host.name];
    expect([h.changed, h.failed]).toEqual([0, 1]);
    const refused = h.tasks.find((t) => t.status === 'failed')!;
    expect(refused.name).toBe('firewall rules');
    expect(refused.reason).toMatch(/refused before any task of this play ran/);
    expect(refused.reason).toMatch(new RegExp(`no rule allows SSH port 22/tcp from ${lab.gateway.replace(/\./g, '\\.')} \\(this controller\\)`));
    expect(await accessState(host)).toEqual(before);
    expect(before.ufw).toBe('ufw not installed');

    // the ufw module used directly, web ports only: ufw gets installed by its own play, then the
    // firewall play is refused before its first task; ufw stays inactive with no rule
    const direct = await timed('4 ufw module without SSH: apply', () => shipshapeJson('apply', NO_SSH_FIREWALL, inv));
    expect(direct.code).toBe(1);
    const d = direct.report.hosts[host.name];
    expect(d.tasks.map((t) => [t.name, t.status])).toEqual([
      ['ufw installed', 'changed'],
      ['web ports only', 'failed'],
    ]);
    expect(d.tasks[1].reason).toMatch(/no rule allows SSH port 22\/tcp from .* \(this controller\)/);
    expect(await on(host, 'ufw status')).toBe('Status: inactive');
    expect(await on(host, 'ufw show added')).toMatch(/^Added user rules.*\n\(None\)$/);
    expect(await on(host, 'test -e /root/firewall-play-ran && echo ran || echo no')).toBe('no');
    expect((await sshLogin(lab, 'root', host.addr, 'true')).code).toBe(0);
    await expectNoGuardLeft(host);

    // a deny made by hand for the controller's network on the SSH port, ufw still inactive, and one for another
    // network: the declarative form keeps undeclared denies, and they come BEFORE the allow it appends
    const net = `${lab.gateway.split('.').slice(0, 3).join('.')}.0/24`;
    const handMade = await hostExec(host.name, `ufw deny from 192.0.2.0/24 to any port 22 proto tcp && ufw deny from ${net} to any port 22 proto tcp`);
    expect(handMade.code, handMade.stderr).toBe(0);
    const plain = writeInventory(lab, [host]);
    const withDeny = await accessState(host);
    const denied = await timed('4 hand-made deny: apply', () => shipshapeJson('apply', SITE, plain));
    expect(denied.code).toBe(1);
    const dh = denied.report.hosts[host.name];
    expect([dh.changed, dh.failed]).toEqual([0, 1]);
    const deniedWhy = dh.tasks.find((t) => t.status === 'failed')!;
    expect(deniedWhy.name).toBe('firewall rules');
    expect(deniedWhy.reason).toMatch(/refused before any task of this play ran/);
    expect(deniedWhy.reason).toContain(`"deny from ${net} to any port 22 proto tcp" is on the host already`);
    expect(deniedWhy.reason).not.toContain('192.0.2.0/24');
    expect(await accessState(host)).toEqual(withDeny);
    expect(withDeny.ufw).toMatch(/^Status: inactive/);
    expect((await sshLogin(lab, 'root', host.addr, 'true')).code).toBe(0);

    // the operator removes it: the same playbook passes, the other network's deny is kept, SSH still works
    expect((await hostExec(host.name, `ufw delete deny from ${net} to any port 22 proto tcp`)).code).toBe(0);
    const passed = await timed('4 deny removed: apply', () => shipshapeJson('apply', SITE, plain, ACCESS));
    expect(passed.code, passed.stdout + passed.stderr).toBe(0);
    expect(await on(host, 'ufw status')).toMatch(/^Status: active/);
    expect(await on(host, 'ufw show added')).toContain('ufw deny from 192.0.2.0/24 to any port 22 proto tcp');
    expect((await sshLogin(lab, 'deploy', host.addr, 'true')).code).toBe(0);
    expect(await tcpOpen(host.addr, 22)).toBe(true);
    const again = await timed('4 deny removed: second apply', () => shipshapeJson('apply', SITE, plain, ACCESS));
    expect(again.code, again.stderr).toBe(0);
    expect(again.report.hosts[host.name].changed).toBe(0);
    await expectNoGuardLeft(host);
  });
});

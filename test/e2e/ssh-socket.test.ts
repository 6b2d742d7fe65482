/**
 * Socket-activated sshd: ssh.socket enabled and listening, ssh.service disabled and started by the first
 * connection. That is Debian's own documented arrangement (README.Debian, "Socket-based activation with
 * systemd": `systemctl disable --now ssh.service`, `systemctl enable --now ssh.socket`; the socket is Accept=no)
 * and Ubuntu 24.04's default. Ubuntu cannot be booted here; this proves the mechanism on a real systemd and sshd
 * of Debian 12 (h15) and 13 (h115): the ssh role's "sshd running, enabled" leaves ssh.service disabled and keeps
 * the socket, its sshd reloads never stop sshd, and a port move moves the socket's ListenStream (the old port
 * closed, the new one open), guarded; a second run changes nothing.
 *
 * Why "never stop sshd": a SIGHUP (what `systemctl reload ssh` sends) kills a socket-activated sshd on both
 * releases: it re-executes itself without the socket systemd handed it, binds the port itself and dies with
 * "fatal: Cannot bind any address". On Debian 12 `systemctl reload` still exits 0 and the next login quietly
 * starts a new sshd; on 13 (OpenSSH 10 reports reloads to systemd) the reload fails. So shipshape restarts a
 * socket-activated sshd instead (src/modules/ssh-reload.ts).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedTasks, DISTS, freshHosts, hostExec, hostFor, PLAYBOOKS, shipshapeJson, stopwatch, tcpOpen, writeInventory, type Lab } from './support.js';

const ACCESS = ['-t', 'deploy_user,ssh,firewall'];
const site = join(PLAYBOOKS, 'site.yml');
const DROPIN = '/etc/systemd/system/ssh.socket.d/shipshape-listen.conf';
const { timings, timed } = stopwatch();
let lab: Lab;
let H = 'h15';
let inventory: string;

const root = async (cmd: string) => {
  const r = await hostExec(H, cmd);
  expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const units = () => root('systemctl is-enabled ssh.service ssh.socket || true; systemctl show -p Listen --value ssh.socket');

afterAll(() => {
  console.log(`ssh socket e2e timings:\n  ${timings.join('\n  ')}`);
});

describe.each(DISTS)('socket-activated sshd, as Debian documents it and Ubuntu 24.04 has it (%s)', (dist) => {
  beforeAll(async () => {
    H = hostFor('h15', dist);
    lab = await timed(`fresh ${H} (${dist})`, () => freshHosts([H], { dist }));
    // Ubuntu 24.04's arrangement: the socket listens on 22 and starts sshd on demand; ssh.service is disabled
    await root('systemctl disable --quiet ssh.service && systemctl stop ssh.service && systemctl enable --quiet --now ssh.socket');
    expect(await units()).toBe('disabled\nenabled\n[::]:22 (Stream)\n');
    expect(await tcpOpen(lab.hosts[0].addr, 22)).toBe(true);
    inventory = writeInventory(lab, lab.hosts);
  });

  it('the ssh role keeps the socket as the SSH server: ssh.service is not enabled beside it', async () => {
    const r = await timed(`first apply (${dist})`, () => shipshapeJson('apply', site, inventory, ACCESS));
    expect(r.code, JSON.stringify(r.report.hosts[H].tasks.filter((t) => t.status === 'failed'), null, 1) + r.stderr.slice(-1500)).toBe(0);
    const running = r.report.hosts[H].tasks.find((t) => t.name === 'sshd running')!;
    expect(running.status).toBe('ok');
    expect(running.reason).toMatch(/^ssh needs nothing: socket-activated, ssh\.socket enabled, ssh\.socket active .* on \[::\]:22 \(Stream\)/);
    expect(await units()).toBe('disabled\nenabled\n[::]:22 (Stream)\n');
    expect(await root(`cat ${DROPIN}`)).toMatch(/^\[Socket\]\nListenStream=\nListenStream=22\n$/m);
    // the role's reloads (its sshd_config and the "reload ssh" handler) never killed sshd: a SIGHUP would have
    expect(await root("journalctl -u ssh.service --no-pager | grep -c 'Cannot bind any address' || true")).toBe('0\n');
    expect(await root('systemctl show -p Result --value ssh.service')).toBe('success\n');
  });

  it('a port move moves the socket: the new port takes logins, the old one is closed; then nothing changes', async () => {
    const { addr } = lab.hosts[0];
    const moved = await timed(`port move (${dist})`, () => shipshapeJson('apply', site, inventory, [...ACCESS, '-e', 'ssh_port=2222']));
    expect(moved.code, JSON.stringify(moved.report.hosts[H].tasks.filter((t) => t.status === 'failed'), null, 1) + moved.stderr.slice(-1500)).toBe(0);
    const sshd = moved.report.hosts[H].tasks.find((t) => t.name === 'sshd hardened settings')!;
    expect(sshd.reason).toMatch(/ssh\.socket \(sshd is socket-activated\) listens on port 2222/);
    expect(await units()).toBe('disabled\nenabled\n[::]:2222 (Stream)\n');
    expect(await tcpOpen(addr, 2222)).toBe(true);
    expect(await tcpOpen(addr, 22)).toBe(false);
    const again = await timed(`re-apply (${dist})`, () => shipshapeJson('apply', site, inventory, [...ACCESS, '-e', 'ssh_port=2222']));
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(changedTasks(again.report, H)).toEqual([]);
  });
});

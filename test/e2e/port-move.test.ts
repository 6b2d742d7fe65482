/**
 * Moving SSH to another port on a host that is ALREADY hardened (ufw active, only the old port
 * open): the new port must be opened before sshd moves, or the guard's confirmation login is
 * dropped and the move can never succeed. A rule for the new port in user6.rules alone does not open it
 * for the IPv4 login that confirms the move. Host h13 (Debian 12) and h113 (Debian 13).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { changedTasks, DISTS, freshHosts, hostExec, hostFor, PLAYBOOKS, shipshapeJson, sshLogin, tcpOpen, writeInventory, type Lab } from './support.js';

const ACCESS = ['-t', 'deploy_user,ssh,firewall'];
const site = join(PLAYBOOKS, 'site.yml');
let lab: Lab;
let inventory: string;

describe.each(DISTS)('moving SSH to a new port behind an active firewall (%s)', (dist) => {
  beforeAll(async () => {
    lab = await freshHosts([hostFor('h13', dist)], { dist });
    inventory = writeInventory(lab, lab.hosts);
    const first = await shipshapeJson('apply', site, inventory, ACCESS);
    expect(first.code, first.stderr).toBe(0);
    expect(await tcpOpen(lab.hosts[0].addr, 2222)).toBe(false);
  });

  it('opens the new port first, moves sshd, confirms, and closes nothing the operator needs', async () => {
    const { addr } = lab.hosts[0];
    // a rule for the new port in user6.rules only: it lets no IPv4 client in, so it must not pass for an opening
    const v6only = await hostExec(lab.hosts[0].name, 'ufw allow from 2001:db8::/32 to any port 2222 proto tcp');
    expect(v6only.code, v6only.stderr).toBe(0);
    expect((await hostExec(lab.hosts[0].name, 'grep -c "tuple.* 2222 " /etc/ufw/user.rules /etc/ufw/user6.rules')).stdout).toMatch(/user\.rules:0\n.*user6\.rules:1/);
    const moved = await shipshapeJson('apply', site, inventory, [...ACCESS, '-e', 'ssh_port=2222']);
    expect(moved.code, moved.stdout + moved.stderr).toBe(0);
    expect(changedTasks(moved.report, lab.hosts[0].name)).toEqual(expect.arrayContaining(['ssh|SSH port open in an active firewall', 'ssh|sshd hardened settings']));
    expect(await tcpOpen(addr, 2222)).toBe(true);
    expect(await tcpOpen(addr, 22)).toBe(false);
    // the inventory now says where SSH is, so the next run needs no flag to find it
    expect(readFileSync(join(inventory, 'hosts.yml'), 'utf8')).toMatch(/port: 2222/);
  });

  it('the next run connects on the new port and changes nothing', async () => {
    const again = await shipshapeJson('apply', site, inventory, [...ACCESS, '-e', 'ssh_port=2222']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.report.hosts[lab.hosts[0].name].changed).toBe(0);
  });

  it('refuses to enable ufw when only rules that do not let the controller in would open the moved port', async () => {
    const { name, addr } = lab.hosts[0];
    // ufw off, and three rules that each look like an SSH opening: OpenSSH's profile (22/tcp only, sshd is on
    // 2222 now), a source that is not the controller (it logs in from the gateway), and an IPv6-only source
    const set = await hostExec(
      name,
      'ufw --force reset >/dev/null && ufw allow OpenSSH && ufw allow from 192.0.2.0/24 to any port 2222 proto tcp && ufw allow from 2001:db8::/32 to any port 2222 proto tcp',
    );
    expect(set.code, set.stderr).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-ufw-'));
    const play = join(dir, 'enable.yml');
    writeFileSync(play, '- hosts: all\n  become: true\n  tasks:\n    - name: ufw on\n      ufw: { state: enabled }\n');
    const refused = await shipshapeJson('apply', play, inventory);
    // a failed task: exit 1 (README, exit codes), refused before ufw ran
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    const task = refused.report.hosts[name].tasks.find((t) => t.name === 'ufw on');
    expect(task?.status).toBe('failed');
    expect(task?.reason).toMatch(/refusing: after this task ufw would be active .* no rule allowing SSH port 2222\/tcp/);
    expect((await hostExec(name, 'ufw status')).stdout).toMatch(/Status: inactive/);
    expect((await sshLogin(lab, 'deploy', addr, 'true', [], 2222)).code).toBe(0);
    // the controller's own address does count: the same task then enables ufw, and the login still works
    expect((await hostExec(name, `ufw allow from ${lab.gateway} to any port 2222 proto tcp`)).code).toBe(0);
    const enabled = await shipshapeJson('apply', play, inventory);
    expect(enabled.code, enabled.stdout + enabled.stderr).toBe(0);
    expect((await hostExec(name, 'ufw status')).stdout).toMatch(/Status: active/);
    expect((await sshLogin(lab, 'deploy', addr, 'true', [], 2222)).code).toBe(0);
  });
});

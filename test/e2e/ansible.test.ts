/**
 * An Ansible-style playbook with an Ansible YAML role (loops, register, block/rescue, handlers,
 * facts in `when`, a vaulted variable, include_tasks/include_role in loops, tasks_from, a vault-encrypted
 * task file, stat/debug/assert through register, check_mode: false), on fresh Debian 12 and Debian 13
 * hosts: shipshape converges it, a second apply changes nothing, check predicted the first apply exactly,
 * and Debian's ansible-playbook on a twin host of each release reaches the same files, users and services.
 * shipshape reaches its hosts only through a bastion named in the inventory's ansible_ssh_common_args
 * (the hosts refuse any login that does not come from the bastion).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ansiblePlaybook, FIXTURES, freshHosts, hostExec, shipshape, shipshapeJson, stopwatch, type JsonReport, type Lab, type LabHost } from './support.js';

const DIR = join(FIXTURES, 'ansible');
const PLAYBOOK = join(DIR, 'site.yml');
const VAULT = ['--vault-password-file', join(DIR, 'vault-password')];
const { timings, timed } = stopwatch();

let lab: Lab;
const ours = ['h91', 'h191'];
const twins = ['h92', 'h192'];
/** the bastion each of ours is reached through */
const bastionOf: Record<string, string> = { h91: 'h93', h191: 'h193' };
/** the operator's HOME: ~/.ssh/config gives the bastion's key, as an Ansible user's ssh config would */
let env: Record<string, string>;

const addr = (name: string) => lab.hosts.find((h) => h.name === name)!.addr;

/** An inventory as Ansible users write it (ansible_host, ansible_user root), with the vaulted group_vars. */
function inventory(hosts: LabHost[], viaBastion = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-ansible-'));
  const jump = (h: LabHost) => (viaBastion ? [`      ansible_ssh_common_args: '-o ProxyJump=root@${addr(bastionOf[h.name])}'`] : []);
  const lines = ['all:', '  hosts:', ...hosts.flatMap((h) => [`    ${h.name}:`, `      ansible_host: ${h.addr}`, '      ansible_user: root', `      ansible_ssh_private_key_file: ${lab.keyPath}`, ...jump(h)])];
  writeFileSync(join(dir, 'hosts.yml'), lines.join('\n') + '\n');
  copyFileSync(lab.knownHostsPath, join(dir, 'known_hosts'));
  mkdirSync(join(dir, 'group_vars'));
  copyFileSync(join(DIR, 'group_vars', 'all.yml'), join(dir, 'group_vars', 'all.yml'));
  return dir;
}

/** What both tools must agree on: files (content hash, mode, owner), users, the service. */
const STATE = [
  'for f in /etc/webapp/app.conf /etc/webapp/secret.env /etc/webapp/release /etc/webapp/rescued /etc/webapp/notes /etc/webapp/stat /etc/webapp/mark-1 /etc/webapp/mark-2 /etc/webapp/vhost-a.conf /etc/webapp/vhost-b.conf; do echo "$f $(stat -c "%a %U:%G" $f) $(sha256sum < $f | cut -c1-16)"; done',
  'for d in /srv/webapp /srv/webapp/logs /srv/webapp/data /srv/webapp/spool1 /srv/webapp/spool2; do echo "$d $(stat -c "%a %U:%G" $d)"; done',
  'test -e /etc/webapp/unreached && echo unreached-exists',
  'getent passwd alice bob | cut -d: -f1,7',
  'systemctl is-active cron',
].join('; ');

async function state(host: string): Promise<string> {
  const r = await hostExec(host, STATE);
  return r.stdout.trim();
}

const changed = (report: JsonReport, host: string) => report.hosts[host].tasks.filter((t) => t.status === 'changed').map((t) => t.name);
const explain = (r: { code: number; stdout: string; stderr: string }) => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;

describe('an Ansible playbook and YAML role, shipshape and ansible-playbook side by side (Debian 12 and 13)', () => {
  let inv: string;
  let predicted: JsonReport;

  beforeAll(async () => {
    const [d12, d13] = await timed('fresh h91, h92, h93 (Debian 12), h191, h192, h193 (Debian 13)', () =>
      Promise.all([freshHosts(['h91', 'h92', 'h93']), freshHosts(['h191', 'h192', 'h193'], { dist: 'trixie' })]),
    );
    lab = { ...d12, hosts: [...d12.hosts, ...d13.hosts] };
    // ours accept logins only from their bastion's address
    for (const h of ours) {
      const only = await hostExec(h, `printf 'AllowUsers *@${addr(bastionOf[h])}\\n' > /etc/ssh/sshd_config.d/01-only-bastion.conf && systemctl reload ssh`);
      expect(only.code, only.stderr).toBe(0);
    }
    const home = mkdtempSync(join(tmpdir(), 'ss-e2e-home-'));
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'config'), Object.values(bastionOf).map((b) => `Host ${addr(b)}\n  IdentityFile ${lab.keyPath}\n  IdentitiesOnly yes\n`).join(''));
    env = { HOME: home, XDG_STATE_HOME: join(home, 'state'), SSH_AUTH_SOCK: '' };
    inv = inventory(lab.hosts.filter((h) => ours.includes(h.name)), true);
  });

  afterAll(() => console.log(`ansible e2e timings:\n  ${timings.join('\n  ')}`));

  it('check on fresh hosts predicts changes, touching nothing', async () => {
    const r = await timed('check (fresh)', () => shipshapeJson('check', PLAYBOOK, inv, VAULT, env));
    expect(r.code, explain(r)).toBe(2);
    predicted = r.report;
    for (const h of ours) {
      expect(r.report.hosts[h].failed).toBe(0);
      expect((await hostExec(h, 'test -e /etc/webapp && echo yes')).stdout.trim()).toBe('');
    }
  });

  it('apply converges, doing exactly what check predicted; the vaulted secret never shows', async () => {
    const r = await timed('first apply', () => shipshapeJson('apply', PLAYBOOK, inv, VAULT, env));
    expect(r.code, explain(r)).toBe(0);
    for (const h of ours) {
      expect(changed(r.report, h)).toEqual(changed(predicted, h));
      expect(changed(r.report, h)).toEqual(
        expect.arrayContaining(['app users (alice)', 'app users (bob)', 'app config', 'note the rescue', 'always runs', 'restart cron', 'record the release (Debian hosts only)', 'record what stat saw']),
      );
      // include_tasks and include_role (tasks_from, from a vault-encrypted file) once per loop item
      expect(changed(r.report, h).filter((n) => n === 'marker file')).toHaveLength(2);
      expect(changed(r.report, h).filter((n) => n === 'vhost file')).toHaveLength(2);
      const asserted = r.report.hosts[h].tasks.find((t) => t.name === 'the release file is world-readable')!;
      expect(asserted.status).toBe('ok');
      const rescued = r.report.hosts[h].tasks.find((t) => t.name === 'refuse on Debian')!;
      expect(rescued.status).toBe('failed');
      expect(r.report.hosts[h].failed).toBe(0);
    }
    expect(r.stdout + r.stderr).not.toContain('tr0ub4dor');
    const release = await hostExec('h191', 'cat /etc/webapp/release');
    expect(release.stdout).toMatch(/^Debian 13 \(/);
    expect((await hostExec('h91', 'cat /etc/webapp/stat')).stdout).toBe('True 0644 root True True\n');
    expect((await hostExec('h91', 'cat /etc/webapp/vhost-b.conf')).stdout).toBe('listen 8080\nserver_name b.webapp.test\n');
    // reached through the bastion named in ansible_ssh_common_args: sshd saw the bastion's address
    for (const h of ours) {
      const journal = await hostExec(h, "journalctl --no-pager -o cat _COMM=sshd + _COMM=sshd-session 2>/dev/null; true");
      expect(journal.stdout).toContain(`Accepted publickey for root from ${addr(bastionOf[h])}`);
    }
  });

  it('a second apply changes nothing, and check then exits 0', async () => {
    const again = await timed('second apply', () => shipshapeJson('apply', PLAYBOOK, inv, VAULT, env));
    expect(again.code, explain(again)).toBe(0);
    for (const h of ours) expect(changed(again.report, h)).toEqual([]);
    const check = await timed('check (converged)', () => shipshapeJson('check', PLAYBOOK, inv, VAULT, env));
    expect(check.code, explain(check)).toBe(0);
  });

  it('without the bastion the hosts refuse the controller: the bastion was needed, and an ssh option shipshape cannot honour is refused up front', async () => {
    const direct = inventory(lab.hosts.filter((h) => h.name === 'h91'));
    const r = await shipshapeJson('check', PLAYBOOK, direct, VAULT, env);
    expect(r.code, explain(r)).toBe(4);
    const bad = inventory(lab.hosts.filter((h) => h.name === 'h91'));
    writeFileSync(join(bad, 'hosts.yml'), readFileSync(join(bad, 'hosts.yml'), 'utf8') + "      ansible_ssh_common_args: '-o ProxyCommand=\"ssh -W %h:%p bastion\"'\n");
    const refused = await shipshape(['check', PLAYBOOK, '-i', bad, ...VAULT], env);
    expect(refused.code).toBe(64);
    expect(refused.stderr).toMatch(/hosts\.yml:7:\d+.*`ansible_ssh_common_args`: `-o ProxyCommand=ssh -W %h:%p bastion` is not supported/);
    expect(refused.stderr).toMatch(/ProxyJump/);
  });

  it("Debian's ansible-playbook on a twin host reaches the same files, users and service", async () => {
    const twinInv = inventory(lab.hosts.filter((h) => twins.includes(h.name)));
    const r = await timed('ansible-playbook (twins)', () => ansiblePlaybook(lab, ['-i', join(twinInv, 'hosts.yml'), PLAYBOOK, ...VAULT]));
    expect(r.code, `${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    expect(r.stdout).toMatch(/rescued=1/);
    for (const [a, b] of [
      ['h91', 'h92'],
      ['h191', 'h192'],
    ]) {
      const mine = await state(a);
      expect(mine).toContain('alice:/bin/bash');
      expect(await state(b)).toBe(mine);
    }
  });
});

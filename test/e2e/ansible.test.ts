/**
 * An Ansible-style playbook with an Ansible YAML role (loops, register, block/rescue, handlers,
 * facts in `when`, a vaulted variable), on fresh Debian 12 and Debian 13 hosts: shipshape converges
 * it, a second apply changes nothing, check predicted the first apply exactly, and Debian's
 * ansible-playbook on a twin host of each release reaches the same files, users and services.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, freshHosts, hostExec, shipshapeJson, stopwatch, type JsonReport, type Lab, type LabHost } from './support.js';

const run = promisify(execFile);
const DIR = join(FIXTURES, 'ansible');
const PLAYBOOK = join(DIR, 'site.yml');
const VAULT = ['--vault-password-file', join(DIR, 'vault-password')];
const { timings, timed } = stopwatch();

let lab: Lab;
const ours = ['h91', 'h191'];
const twins = ['h92', 'h192'];

/** An inventory as Ansible users write it (ansible_host, ansible_user root), with the vaulted group_vars. */
function inventory(hosts: LabHost[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-e2e-ansible-'));
  const lines = ['all:', '  hosts:', ...hosts.flatMap((h) => [`    ${h.name}:`, `      ansible_host: ${h.addr}`, '      ansible_user: root', `      ansible_ssh_private_key_file: ${lab.keyPath}`])];
  writeFileSync(join(dir, 'hosts.yml'), lines.join('\n') + '\n');
  copyFileSync(lab.knownHostsPath, join(dir, 'known_hosts'));
  mkdirSync(join(dir, 'group_vars'));
  copyFileSync(join(DIR, 'group_vars', 'all.yml'), join(dir, 'group_vars', 'all.yml'));
  return dir;
}

/** What both tools must agree on: files (content hash, mode, owner), users, the service. */
const STATE = [
  'for f in /etc/webapp/app.conf /etc/webapp/secret.env /etc/webapp/release /etc/webapp/rescued /etc/webapp/notes; do echo "$f $(stat -c "%a %U:%G" $f) $(sha256sum < $f | cut -c1-16)"; done',
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
    const [d12, d13] = await timed('fresh h91, h92 (Debian 12), h191, h192 (Debian 13)', () =>
      Promise.all([freshHosts(['h91', 'h92']), freshHosts(['h191', 'h192'], { dist: 'trixie' })]),
    );
    lab = { ...d12, hosts: [...d12.hosts, ...d13.hosts] };
    inv = inventory(lab.hosts.filter((h) => ours.includes(h.name)));
  });

  afterAll(() => console.log(`ansible e2e timings:\n  ${timings.join('\n  ')}`));

  it('check on fresh hosts predicts changes, touching nothing', async () => {
    const r = await timed('check (fresh)', () => shipshapeJson('check', PLAYBOOK, inv, VAULT));
    expect(r.code, explain(r)).toBe(2);
    predicted = r.report;
    for (const h of ours) {
      expect(r.report.hosts[h].failed).toBe(0);
      expect((await hostExec(h, 'test -e /etc/webapp && echo yes')).stdout.trim()).toBe('');
    }
  });

  it('apply converges, doing exactly what check predicted; the vaulted secret never shows', async () => {
    const r = await timed('first apply', () => shipshapeJson('apply', PLAYBOOK, inv, VAULT));
    expect(r.code, explain(r)).toBe(0);
    for (const h of ours) {
      expect(changed(r.report, h)).toEqual(changed(predicted, h));
      expect(changed(r.report, h)).toEqual(expect.arrayContaining(['app users (alice)', 'app users (bob)', 'app config', 'note the rescue', 'always runs', 'restart cron', 'record the release (Debian hosts only)']));
      const rescued = r.report.hosts[h].tasks.find((t) => t.name === 'refuse on Debian')!;
      expect(rescued.status).toBe('failed');
      expect(r.report.hosts[h].failed).toBe(0);
    }
    expect(r.stdout + r.stderr).not.toContain('tr0ub4dor');
    const release = await hostExec('h191', 'cat /etc/webapp/release');
    expect(release.stdout).toMatch(/^Debian 13 \(/);
  });

  it('a second apply changes nothing, and check then exits 0', async () => {
    const again = await timed('second apply', () => shipshapeJson('apply', PLAYBOOK, inv, VAULT));
    expect(again.code, explain(again)).toBe(0);
    for (const h of ours) expect(changed(again.report, h)).toEqual([]);
    const check = await timed('check (converged)', () => shipshapeJson('check', PLAYBOOK, inv, VAULT));
    expect(check.code, explain(check)).toBe(0);
  });

  it("Debian's ansible-playbook on a twin host reaches the same files, users and service", async () => {
    const twinInv = inventory(lab.hosts.filter((h) => twins.includes(h.name)));
    const env = {
      ...process.env,
      ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${lab.knownHostsPath} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
    };
    const r = await timed('ansible-playbook (twins)', () =>
      run('ansible-playbook', ['-i', join(twinInv, 'hosts.yml'), PLAYBOOK, ...VAULT], { env, maxBuffer: 16 << 20, timeout: 600_000 }).then(
        (x) => ({ code: 0, ...x }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
      ),
    );
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

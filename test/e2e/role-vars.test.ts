/**
 * An Ansible role folder's vars/ and defaults/ in the play's later tasks, end to end (Debian 12 h47, Debian 13
 * h147): the same project applied by shipshape and by Debian's ansible-playbook to the same host, each writing
 * its own file; the two files must be the same, byte for byte (role vars over play vars, defaults below the
 * inventory, the last role's value, include_role `public: true`). A second shipshape apply changes nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ansiblePlaybook, DISTS, freshHosts, hostFor, onHost, shipshapeJson, type Lab, type LabHost } from './support.js';


const FILES: Record<string, string> = {
  'roles/base/defaults/main.yml': 'greeting: hello\napp_port: 80\n',
  'roles/base/vars/main.yml': 'app_dir: /srv/base\nowner_name: base\n',
  'roles/base/tasks/main.yml': '- name: base dir\n  file: { path: "{{ app_dir }}", state: directory, mode: "0755" }\n',
  'roles/web/vars/main.yml': 'owner_name: web\n',
  'roles/web/tasks/main.yml': '- name: web marker\n  copy: { dest: "/etc/ss-web-{{ tool }}", content: "{{ owner_name }}\\n", mode: "0644" }\n',
  'roles/extra/vars/main.yml': 'extra_value: public\n',
  'roles/extra/tasks/main.yml': '- name: extra ran\n  command: /bin/true\n  changed_when: false\n',
  'site.yml': [
    '- hosts: all',
    '  vars: { app_dir: /srv/play, greeting: play-greeting }',
    '  roles: [base, web]',
    '  tasks:',
    '    - include_role: { name: extra, public: true }',
    '    - name: what the play sees after its roles',
    '      copy:',
    '        dest: "/etc/ss-rolevars-{{ tool }}"',
    '        mode: "0644"',
    '        content: "app_dir={{ app_dir }} greeting={{ greeting }} port={{ app_port }} owner={{ owner_name }} extra={{ extra_value }}\\n"',
    '',
  ].join('\n'),
};

describe.each(DISTS)("a role's vars/ and defaults/ in the play's later tasks, shipshape and ansible-playbook on one host (%s)", (dist) => {
  let lab: Lab;
  let host: LabHost;
  let dir: string;

  beforeAll(async () => {
    lab = await freshHosts([hostFor('h47', dist)], { dist });
    [host] = lab.hosts;
    dir = mkdtempSync(join(tmpdir(), 'ss-e2e-rolevars-'));
    for (const [p, text] of Object.entries(FILES)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
    mkdirSync(join(dir, 'inv'));
    writeFileSync(join(dir, 'inv', 'hosts.yml'), `all:\n  hosts:\n    ${host.name}:\n      ansible_host: ${host.addr}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${lab.keyPath}\n      app_port: 8080\n`);
    writeFileSync(join(dir, 'inv', 'known_hosts'), readFileSync(lab.knownHostsPath));
  }, 600_000);

  it('both tools write the same values; a second shipshape apply changes nothing', async () => {
    const site = join(dir, 'site.yml');
    const inv = join(dir, 'inv');
    const first = await shipshapeJson('apply', site, inv, ['-e', 'tool=shipshape']);
    expect(first.code, first.stdout.slice(-3000) + first.stderr.slice(-2000)).toBe(0);
    const ans = await ansiblePlaybook(lab, ['-i', join(inv, 'hosts.yml'), site, '-e', 'tool=ansible'], { cwd: dir });
    expect(ans.code, ans.stdout.slice(-3000) + ans.stderr.slice(-2000)).toBe(0);
    const ours = await onHost(host.name, 'cat /etc/ss-rolevars-shipshape /etc/ss-web-shipshape');
    // role vars over play vars (app_dir), play vars over defaults (greeting), inventory over defaults (app_port),
    // the last role's vars (owner), a public include_role's vars after it (extra)
    expect(ours).toBe('app_dir=/srv/base greeting=play-greeting port=8080 owner=web extra=public\nweb');
    expect(await onHost(host.name, 'cat /etc/ss-rolevars-ansible /etc/ss-web-ansible')).toBe(ours);
    expect(await onHost(host.name, 'stat -c %F /srv/base')).toBe('directory');
    const again = await shipshapeJson('apply', site, inv, ['-e', 'tool=shipshape']);
    expect(again.code).toBe(0);
    expect(again.report.hosts[host.name].changed, JSON.stringify(again.report.hosts[host.name].tasks)).toBe(0);
  }, 600_000);
});

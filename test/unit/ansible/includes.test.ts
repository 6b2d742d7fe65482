/**
 * include_tasks / include_role with loops, include_role / import_role `tasks_from`, and task files
 * encrypted whole with ansible-vault: read before connecting, with Ansible's meaning.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVaultPasswords } from '../../../src/ansible/vault.js';
import { expand, tasksOf } from './helpers.js';

const VAULT = join(import.meta.dirname, '../../fixtures/ansible-vault');

describe('includes', () => {
  it('include_tasks with a loop: the file once per item, the item (loop_var, index_var) visible inside, `when` per item', async () => {
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        '  vars: { sites: [alpha, beta, gamma] }',
        '  tasks:',
        '    - include_tasks: per-site.yml',
        '      loop: "{{ sites }}"',
        '      loop_control: { loop_var: site, index_var: n }',
        '      when: site != "beta"',
        '',
      ].join('\n'),
      'tasks/per-site.yml': '- name: site dir\n  file: { path: "/srv/{{ n }}-{{ site }}", state: directory }\n',
    });
    expect(tasksOf(plays[0])).toEqual([
      ['site dir', { path: '/srv/0-alpha', state: 'directory' }],
      ['site dir', { path: '/srv/2-gamma', state: 'directory' }],
    ]);
  });

  it('include_role with a loop and tasks_from; import_role tasks_from; the role keeps its defaults and handlers (once)', async () => {
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        '  tasks:',
        '    - import_role: { name: app, tasks_from: install }',
        '    - include_role: { name: app, tasks_from: vhost.yml }',
        '      loop: [a.example, b.example]',
        '      vars: { port: 8080 }',
        '',
      ].join('\n'),
      'roles/app/defaults/main.yml': 'app_root: /srv/app\nport: 80\n',
      'roles/app/tasks/main.yml': '- name: never\n  file: { path: /never, state: touch }\n',
      'roles/app/tasks/install.yml': '- name: app root\n  file: { path: "{{ app_root }}", state: directory }\n',
      'roles/app/tasks/vhost.yml': '- name: vhost\n  copy: { dest: "/etc/app/{{ item }}", content: "{{ port }}" }\n  notify: reload app\n',
      'roles/app/handlers/main.yml': '- name: reload app\n  service: { name: app, state: reloaded }\n',
    });
    expect(tasksOf(plays[0])).toEqual([
      ['app root', { path: '/srv/app', state: 'directory' }],
      ['vhost', expect.objectContaining({ dest: '/etc/app/a.example', content: '8080' })],
      ['vhost', expect.objectContaining({ dest: '/etc/app/b.example', content: '8080' })],
    ]);
    expect(plays[0].handlers.map((h) => h.name)).toEqual(['reload app']);
  });

  it('refused with the reason: a loop on import_tasks/import_role (as Ansible), a missing tasks_from, an include loop over a registered result', async () => {
    await expect(expand({ 'site.yml': '- hosts: all\n  tasks:\n    - import_tasks: t.yml\n      loop: [1]\n', 't.yml': '- debug: msg=x\n' })).rejects.toMatchObject({ message: expect.stringMatching(/`loop` on `import_tasks` is not possible/), hint: expect.stringMatching(/include_tasks/) });
    await expect(expand({ 'site.yml': '- hosts: all\n  tasks:\n    - include_role: { name: app, tasks_from: nope }\n', 'roles/app/tasks/main.yml': '- debug: msg=x\n' })).rejects.toMatchObject({ line: 3, message: 'role `app` has no task file `nope`' });
    await expect(
      expand({
        'site.yml': '- hosts: all\n  tasks:\n    - command: ls /etc\n      register: out\n    - include_tasks: t.yml\n      loop: "{{ out.stdout_lines }}"\n',
        't.yml': '- debug: msg=x\n',
      }),
    ).rejects.toThrow(/only the host can give/);
    await expect(expand({ 'site.yml': '- hosts: all\n  tasks:\n    - include_role: { name: app, vars_from: x }\n', 'roles/app/tasks/main.yml': '- debug: msg=x\n' })).rejects.toThrow(/`vars_from` is not supported/);
  });
});

describe('vault-encrypted files', () => {
  beforeAll(() => setVaultPasswords([{ password: 'correct horse' }]));
  afterAll(() => setVaultPasswords([]));

  it('a task file and a vars file encrypted whole with ansible-vault are read as Ansible reads them', async () => {
    const { plays } = await expand({
      'site.yml': '- hosts: all\n  vars_files: [secret.yml]\n  tasks:\n    - include_tasks: tasks.yml\n',
      'tasks.yml': readFileSync(join(VAULT, 'tasks.yml'), 'utf8'),
      'secret.yml': readFileSync(join(VAULT, 'vars.yml'), 'utf8'),
    });
    expect(plays[0].tasks.map((t) => t.name)).toEqual(['from a vaulted task file']);
  });
});

import { describe, expect, it } from 'vitest';
import { loopItems } from '../../../src/ansible/loops.js';
import { InputError } from '../../../src/core/input-error.js';
import { expand, tasksOf } from './helpers.js';

describe('loops, unrolled before connecting', () => {
  it('loop, with_items (flattened), with_dict, with_sequence, with_subelements, with_indexed_items', () => {
    expect(loopItems('loop', ['a', ['b']])).toEqual(['a', ['b']]);
    expect(loopItems('with_items', ['a', ['b', 'c']])).toEqual(['a', 'b', 'c']);
    expect(loopItems('with_dict', { x: 1, y: 2 })).toEqual([{ key: 'x', value: 1 }, { key: 'y', value: 2 }]);
    expect(loopItems('with_sequence', 'start=1 end=3 format=web%02d')).toEqual(['web01', 'web02', 'web03']);
    expect(loopItems('with_sequence', 'count=3')).toEqual(['1', '2', '3']);
    expect(loopItems('with_sequence', 'start=10 end=0 stride=-5')).toEqual(['10', '5', '0']);
    expect(loopItems('with_subelements', [[{ n: 'a', k: [1, 2] }, { n: 'b', k: [3] }], 'k'])).toEqual([
      [{ n: 'a', k: [1, 2] }, 1],
      [{ n: 'a', k: [1, 2] }, 2],
      [{ n: 'b', k: [3] }, 3],
    ]);
    expect(loopItems('with_indexed_items', ['a', 'b'])).toEqual([[0, 'a'], [1, 'b']]);
    expect(() => loopItems('loop', { a: 1 })).toThrow(/dict2items/);
  });

  it('one task per item, `item`/loop_var/index_var/label, `when` per item, templated lists', async () => {
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        '  vars:',
        '    users: [alice, bob, carol]',
        '    dirs: { logs: "0750", data: "0700" }',
        '  tasks:',
        '    - name: user',
        '      user: { name: "{{ item }}" }',
        '      loop: "{{ users }}"',
        '      when: item != "bob"',
        '    - name: dir',
        '      file: { path: "/srv/{{ d.key }}", state: directory, mode: "{{ d.value }}" }',
        '      with_dict: "{{ dirs }}"',
        '      loop_control: { loop_var: d, label: "{{ d.key }}" }',
        '    - name: numbered',
        '      file: { path: "/srv/n{{ i }}-{{ item }}", state: touch }',
        '      with_sequence: count=2',
        '      loop_control: { index_var: i }',
        '',
      ].join('\n'),
    });
    expect(tasksOf(plays[0]).map(([n, a]) => `${n}: ${(a as { name?: string; path?: string }).name ?? (a as { path: string }).path}`)).toEqual([
      'user (alice): alice',
      'user (carol): carol',
      'dir (logs): /srv/logs',
      'dir (data): /srv/data',
      'numbered (1): /srv/n0-1',
      'numbered (2): /srv/n1-2',
    ]);
  });

  it('a loop over something that is not a list is refused at the loop, before connecting', async () => {
    await expect(expand({ 'site.yml': '- hosts: all\n  vars: { x: 5 }\n  tasks:\n    - file: { path: "/a{{ item }}", state: touch }\n      loop: "{{ x }}"\n' })).rejects.toThrow(/`loop` needs a list, not the number 5/);
    await expect(expand({ 'site.yml': '- hosts: all\n  tasks:\n    - file: { path: /a, state: touch }\n      with_fileglob: "*.conf"\n' })).rejects.toThrow(InputError);
  });
});

describe('blocks, includes and Ansible role folders', () => {
  const role = {
    'roles/web/defaults/main.yml': 'web_port: 80\nweb_root: /srv/www\nweb_domain: "{{ inventory_hostname }}.example.com"\n',
    'roles/web/vars/main.yml': 'web_user: www-data\n',
    'roles/web/meta/main.yml': 'dependencies:\n  - role: common\n    common_motd: hello\n',
    'roles/web/tasks/main.yml': '- name: root dir\n  file: path={{ web_root }} state=directory owner={{ web_user }}\n- import_tasks: site.yml\n',
    'roles/web/tasks/site.yml': '- name: site config\n  template: { src: site.conf.j2, dest: "/etc/site-{{ web_port }}.conf" }\n  notify: reload web\n',
    'roles/web/templates/site.conf.j2': 'server {{ web_domain }}:{{ web_port }} enabled={{ web_enabled | default(true) }}\n',
    'roles/web/handlers/main.yml': '- name: reload web\n  service: { name: nginx, state: reloaded }\n',
    'roles/common/tasks/main.yml': '- name: motd\n  copy: { dest: /etc/motd, content: "{{ common_motd }}\\n" }\n',
    'roles/common/defaults/main.yml': 'common_motd: welcome\n',
  };

  it('a role folder: defaults, vars, meta dependencies, imported task files, templates, handlers; templated defaults', async () => {
    const { plays } = await expand({ ...role, 'site.yml': '- hosts: all\n  roles:\n    - { role: web, web_port: 8080 }\n    - common\n' });
    const p = plays[0];
    // common runs as web's dependency (its params), then again as listed (other params), as in Ansible
    expect(p.tasks.map((t) => `${t.role}: ${t.name}`)).toEqual(['common: motd', 'web: root dir', 'web: site config', 'common: motd']);
    expect(p.tasks[3].args).toMatchObject({ content: 'welcome\n' });
    expect(p.tasks[0].args).toMatchObject({ content: 'hello\n' });
    expect(p.tasks[1].args).toMatchObject({ path: '/srv/www', owner: 'www-data' });
    expect(p.tasks[2].args).toMatchObject({ dest: '/etc/site-8080.conf', rendered: 'server web1.example.com:8080 enabled=True\n' });
    expect(p.handlers.map((h) => h.name)).toEqual(['reload web']);
  });

  it('an error inside a role task file points at that file and line', async () => {
    const bad = { ...role, 'roles/web/tasks/site.yml': '- name: site config\n  template: { src: site.conf.j2, dest: /etc/x, mood: "0644" }\n' };
    const e = await expand({ ...bad, 'site.yml': '- hosts: all\n  roles: [web]\n' }).catch((x: unknown) => x as InputError);
    expect(e).toBeInstanceOf(InputError);
    expect([(e as InputError).file.endsWith('roles/web/tasks/site.yml'), (e as InputError).line, (e as InputError).message]).toEqual([true, 2, 'unknown argument `mood` for `template`']);
  });

  it('block/rescue/always keep their tasks in order with the block recorded; block when and become apply inside', async () => {
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        '  vars: { enabled: true }',
        '  tasks:',
        '    - name: guarded',
        '      when: enabled',
        '      become: true',
        '      block:',
        '        - name: a',
        '          command: /bin/true',
        '      rescue:',
        '        - name: b',
        '          command: /bin/true',
        '      always:',
        '        - name: c',
        '          command: /bin/true',
        '    - block:',
        '        - name: skipped',
        '          command: /bin/true',
        '      when: not enabled',
        '    - include_role: { name: common }',
        '      vars: { common_motd: hi }',
        '    - meta: flush_handlers',
        '',
      ].join('\n'),
      'roles/common/tasks/main.yml': '- name: motd\n  copy: { dest: /etc/motd, content: "{{ common_motd }}" }\n',
    });
    const t = plays[0].tasks;
    expect(t.map((x) => [x.name, x.become, x.blocks?.map((b) => b.part)])).toEqual([
      ['a', true, ['body']],
      ['b', true, ['rescue']],
      ['c', true, ['always']],
      ['motd', false, undefined],
      ['meta: flush_handlers', false, undefined],
    ]);
  });

  it('tasks that use gathered facts or registered results wait for the host; the rest is decided now', async () => {
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        '  tasks:',
        '    - name: probe',
        '      command: cat /etc/debian_version',
        '      register: deb',
        '      changed_when: false',
        '    - name: on debian only',
        '      file: { path: /srv/debian, state: directory }',
        '      when: ansible_distribution == "Debian"',
        '    - name: by result',
        '      copy: { dest: /srv/version, content: "{{ deb.stdout }}" }',
        '    - name: static',
        '      file: { path: /srv/x, state: directory }',
        '',
      ].join('\n'),
    });
    const p = plays[0];
    expect(p.facts).toBe(true);
    expect(p.tasks.map((t) => [t.name, !!t.deferred])).toEqual([
      ['probe', false],
      ['on debian only', true],
      ['by result', true],
      ['static', false],
    ]);
  });

  it('gather_facts: false with a task using facts is refused before connecting', async () => {
    await expect(expand({ 'site.yml': '- hosts: all\n  gather_facts: no\n  tasks:\n    - file: { path: /a, state: directory }\n      when: ansible_os_family == "Debian"\n' })).rejects.toThrow(/gather_facts: false/);
  });
});

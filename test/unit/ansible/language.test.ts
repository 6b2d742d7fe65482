import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { parseKeyValue, splitWords } from '../../../src/ansible/kv-args.js';
import { YamlFile } from '../../../src/inventory/yaml-doc.js';
import { renderString } from '../../../src/playbook/template.js';
import { expand, tasksOf } from './helpers.js';

async function refusal(files: Record<string, string>): Promise<string> {
  try {
    await expand(files);
  } catch (e) {
    if (e instanceof InputError) return [e, ...e.others].map((x) => `${x.line}:${x.column} ${x.message}${x.hint ? ` (${x.hint})` : ''}`).join('\n');
    throw e;
  }
  throw new Error('loaded without an error');
}

describe('YAML 1.1 scalars, as Ansible (PyYAML) reads them', () => {
  it('yes/no/on/off are booleans, 0644 is octal, y/n and dates stay strings', () => {
    const f = YamlFile.parse('x.yml', 'a: yes\nb: No\nc: on\nd: OFF\ne: 0644\nf: y\ng: n\nh: 2024-01-02\ni: 09\nj: "yes"\nk: 1_000\n');
    expect(f.js(f.root)).toEqual({ a: true, b: false, c: true, d: false, e: 420, f: 'y', g: 'n', h: '2024-01-02', i: '09', j: 'yes', k: 1000 });
  });

  it('`when: enable_thing` with `enable_thing: no` does not run the task', async () => {
    const { plays } = await expand({
      'site.yml': '- hosts: all\n  vars:\n    enable_thing: no\n    other: on\n  tasks:\n    - name: skipped\n      command: /bin/true\n      when: enable_thing\n    - name: runs\n      command: /bin/false\n      when: other\n',
    });
    expect(plays[0].tasks.map((t) => t.name)).toEqual(["runs"]);
  });

  it('an unquoted octal mode means that mode; a bare decimal 644 is refused', async () => {
    const { plays } = await expand({ 'site.yml': '- hosts: all\n  tasks:\n    - file: { path: /srv, state: directory, mode: 0750 }\n' });
    expect((plays[0].tasks[0].args as { mode: string }).mode).toBe('0750');
    expect(await refusal({ 'site.yml': '- hosts: all\n  tasks:\n    - file: { path: /srv, state: directory, mode: 750 }\n' })).toMatch(/3:51 `mode` written as a decimal number \(`mode: 750` is the decimal number 750 in YAML, which Ansible applies as mode 01356/);
  });

  it('a boolean in a string renders as Python prints it: True/False', () => {
    expect(renderString('enabled={{ a }} {{ b }}', { a: true, b: false })).toBe('enabled=True False');
    expect(renderString('{{ a }}', { a: true })).toBe('True');
  });

  it('module arguments are converted to their type as Ansible does (`update_cache: "yes"`, templated booleans)', async () => {
    const { plays } = await expand({ 'site.yml': '- hosts: all\n  vars: { fresh: "true" }\n  tasks:\n    - apt: { name: nginx, update_cache: "yes", install_recommends: "{{ fresh }}" }\n' });
    expect(plays[0].tasks[0].args).toMatchObject({ update_cache: true, install_recommends: true });
  });
});

describe('key=value argument strings', () => {
  it('splits on blanks outside quotes and Jinja', () => {
    expect(splitWords(`name="a b" x={{ y | default('c d') }} z='q'`)).toEqual(['name="a b"', "x={{ y | default('c d') }}", "z='q'"]);
    expect(parseKeyValue('chdir=/srv echo a=b', ['chdir'])).toEqual({ args: { chdir: '/srv' }, free: 'echo a=b', stray: [] });
  });

  it('`apt: name=x state=present`, `file: dest=... mode=0644`, `command: chdir=/srv make`, and `args:`', async () => {
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        '  tasks:',
        '    - apt: name=nginx state=present update_cache=yes',
        '    - file: dest=/srv/app state=directory mode=0755 owner=www-data',
        '    - command: chdir=/srv make all creates=/srv/out',
        '    - command: /usr/bin/make',
        '      args: { chdir: /srv }',
        '',
      ].join('\n'),
    });
    expect(tasksOf(plays[0]).map(([, a]) => a)).toEqual([
      expect.objectContaining({ name: ['nginx'], state: 'present', update_cache: true }),
      expect.objectContaining({ path: '/srv/app', state: 'directory', mode: '0755', owner: 'www-data' }),
      expect.objectContaining({ cmd: 'make all', chdir: '/srv', creates: '/srv/out' }),
      expect.objectContaining({ cmd: '/usr/bin/make', chdir: '/srv' }),
    ]);
  });

  it('a word that is not key=value is refused at its line', async () => {
    expect(await refusal({ 'site.yml': '- hosts: all\n  tasks:\n    - apt: name=nginx latest\n' })).toMatch(/^3:12 `latest` is not a `key=value` argument of `apt`/);
  });
});

describe('argument aliases (each module declares Ansible\'s)', () => {
  it('`lineinfile dest`, `apt pkg`, `file name`, `sysctl key/val`, `user user` mean the canonical argument', async () => {
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        '  tasks:',
        '    - lineinfile: { dest: /etc/x.conf, line: "a=1", regex: "^a=" }',
        '    - apt: { pkg: [curl, git] }',
        '    - file: { name: /srv, state: directory }',
        '    - sysctl: { key: vm.swappiness, val: "10" }',
        '    - user: { user: app }',
        '',
      ].join('\n'),
    });
    expect(tasksOf(plays[0]).map(([, a]) => a)).toEqual([
      expect.objectContaining({ path: '/etc/x.conf', regexp: '^a=' }),
      expect.objectContaining({ name: ['curl', 'git'] }),
      expect.objectContaining({ path: '/srv' }),
      expect.objectContaining({ name: 'vm.swappiness', value: '10' }),
      expect.objectContaining({ name: 'app' }),
    ]);
  });

  it('an alias beside its argument is refused, naming both', async () => {
    expect(await refusal({ 'site.yml': '- hosts: all\n  tasks:\n    - file: { path: /a, dest: /b }\n' })).toMatch(/^3:25 `dest` is another name for `path` in `file`: give only one of them/);
  });
});

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFacts } from '../../../src/ansible/facts.js';
import { runHost } from '../../../src/engine/host-run.js';
import type { PlayInstance } from '../../../src/engine/types.js';
import { LocalTransport } from '../../../src/transport/local.js';
import type { ConnectionSpec } from '../../../src/transport/types.js';
import { expand } from './helpers.js';

const spec: ConnectionSpec = { name: 'local', host: 'localhost', port: 22, user: 'root', knownHostsFiles: [], acceptNewHostKeys: false, connectTimeoutMs: 5000, kind: 'local' };

async function run(plays: PlayInstance[], check = false) {
  const t = new LocalTransport(spec);
  return runHost(spec, () => t, plays, { check, forks: 1, guardTimeoutSec: 30 }, () => undefined);
}

describe('register, when on results, blocks, handlers: on a real shell', () => {
  it('runs the Ansible flow: register + when, changed_when, failed_when, ignore_errors, block/rescue/always, set_fact, flush_handlers, facts', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ss-flow-'));
    const { plays } = await expand(
      {
        'site.yml': [
          '- hosts: all',
          '  vars: { out: ' + JSON.stringify(out) + ' }',
          '  tasks:',
          '    - name: read a value',
          '      command: echo green',
          '      register: colour',
          '      changed_when: false',
          '    - name: only when green',
          '      copy: { dest: "{{ out }}/green", content: "{{ colour.stdout }}\\n" }',
          '      when: colour.stdout == "green"',
          '      notify: mark',
          '    - name: never',
          '      copy: { dest: "{{ out }}/red", content: "x" }',
          '      when: "\'red\' in colour.stdout_lines"',
          '    - meta: flush_handlers',
          '    - name: handler ran before this',
          '      command: test -f {{ out }}/handled',
          '      changed_when: false',
          '    - name: a failure that is fine',
          '      command: "false"',
          '      ignore_errors: yes',
          '      register: f',
          '    - name: exit 1 is not a failure here',
          '      command: sh -c "exit 1"',
          '      failed_when: false',
          '      changed_when: false',
          '    - block:',
          '        - name: breaks',
          '          command: "false"',
          '        - name: not reached',
          '          copy: { dest: "{{ out }}/unreached", content: "x" }',
          '      rescue:',
          '        - set_fact: { rescued_from: "{{ f.rc }}" }',
          '        - name: record',
          '          copy: { dest: "{{ out }}/rescued", content: "{{ rescued_from }}" }',
          '      always:',
          '        - name: always',
          '          copy: { dest: "{{ out }}/always", content: "{{ ansible_facts.os_family }} {{ ansible_distribution_major_version is string }}" }',
          '  handlers:',
          '    - name: mark',
          '      copy: { dest: "{{ out }}/handled", content: "yes" }',
          '',
        ].join('\n'),
      },
      'web1',
    );
    const report = await run(plays);
    expect(report.tasks.map((t) => `${t.name}: ${t.status}${t.handled ? ` (${t.handled})` : ''}`)).toEqual([
      'read a value: ok',
      'only when green: changed',
      'mark: changed',
      'handler ran before this: ok',
      'a failure that is fine: failed (ignored)',
      'exit 1 is not a failure here: ok',
      'breaks: failed (rescued)',
      'set_fact: ok',
      'record: changed',
      'always: changed',
    ]);
    expect(report.failed).toBe(0);
    expect(readFileSync(join(out, 'green'), 'utf8')).toBe('green\n');
    expect(existsSync(join(out, 'red'))).toBe(false);
    expect(existsSync(join(out, 'unreached'))).toBe(false);
    expect(readFileSync(join(out, 'rescued'), 'utf8')).toBe('1');
    expect(readFileSync(join(out, 'always'), 'utf8')).toMatch(/^\w+ True$/);
  });

  it('a failure in a block without rescue runs always, then stops the host', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ss-flow-'));
    const { plays } = await expand({
      'site.yml': `- hosts: all\n  tasks:\n    - block:\n        - command: "false"\n      always:\n        - copy: { dest: "${out}/always", content: "x" }\n    - copy: { dest: "${out}/after", content: "x" }\n`,
    });
    const report = await run(plays);
    expect(report.failed).toBe(1);
    expect(existsSync(join(out, 'always'))).toBe(true);
    expect(existsSync(join(out, 'after'))).toBe(false);
  });
});

describe('registered results of stat, debug and assert, as Ansible returns them', () => {
  it('register: st, then when: st.stat.exists, debug: var=st, assert on st.stat.mode; debug and assert register too', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ss-stat-'));
    const { plays } = await expand({
      'site.yml': [
        '- hosts: all',
        `  vars: { out: ${JSON.stringify(out)} }`,
        '  tasks:',
        '    - copy: { dest: "{{ out }}/f", content: "x", mode: "0644" }',
        '    - stat: path={{ out }}/f',
        '      register: st',
        '    - name: seen',
        '      copy: { dest: "{{ out }}/seen", content: "{{ st.stat.size }} {{ st.stat.isreg }} {{ st.changed }}" }',
        '      when: st.stat.exists',
        '    - stat: { path: "{{ out }}/missing" }',
        '      register: gone',
        '    - name: never',
        '      copy: { dest: "{{ out }}/never", content: "x" }',
        '      when: gone.stat.exists',
        '    - debug: var=st',
        '      register: shown',
        '    - assert:',
        '        that: st.stat.mode == "0644"',
        '      register: checked',
        '    - name: results of debug and assert',
        '      copy: { dest: "{{ out }}/results", content: "{{ shown.st.stat.mode }} {{ checked.msg }}" }',
        '',
      ].join('\n'),
    });
    const report = await run(plays);
    expect(report.failed, JSON.stringify(report.tasks.filter((t) => t.status === 'failed'))).toBe(0);
    expect(readFileSync(join(out, 'seen'), 'utf8')).toBe('1 True False');
    expect(existsSync(join(out, 'never'))).toBe(false);
    expect(readFileSync(join(out, 'results'), 'utf8')).toBe('0644 All assertions passed');
  });
});

describe('gathered facts parser', () => {
  it('reads one probe into Ansible-named facts', () => {
    const f = parseFacts(
      [
        'os_id=debian',
        'os_name=Debian GNU/Linux',
        'os_version=12',
        'os_codename=bookworm',
        'debian_version=12.7',
        'machine=x86_64',
        'kernel=6.1.0-25-amd64',
        'system=Linux',
        'hostname=web1',
        'fqdn=web1.example.com',
        'mem=2048000',
        'swap=0',
        'nproc=2',
        'virt=systemd-nspawn',
        'init=systemd',
        'route=default via 10.99.0.1 dev eth0 onlink',
        'devaddr=2: eth0    inet 10.99.0.91/24 brd 10.99.0.255 scope global eth0\\       valid_lft forever preferred_lft forever',
        'macaddress=02:00:00:00:00:5b',
        'addrs=10.99.0.91/24 ',
      ].join('\n'),
    );
    expect(f).toMatchObject({
      distribution: 'Debian',
      distribution_release: 'bookworm',
      distribution_version: '12.7',
      distribution_major_version: '12',
      os_family: 'Debian',
      architecture: 'x86_64',
      hostname: 'web1',
      fqdn: 'web1.example.com',
      domain: 'example.com',
      memtotal_mb: 2000,
      default_ipv4: { address: '10.99.0.91', gateway: '10.99.0.1', interface: 'eth0', netmask: '255.255.255.0', network: '10.99.0.0', prefix: '24' },
      all_ipv4_addresses: ['10.99.0.91'],
      virtualization_type: 'systemd-nspawn',
      service_mgr: 'systemd',
    });
  });
});

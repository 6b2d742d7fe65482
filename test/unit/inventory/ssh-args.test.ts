/**
 * ansible_ssh_common_args / ansible_ssh_extra_args: a bastion (`-o ProxyJump=...`, `-J`) is honoured
 * through the same path as ProxyJump in ~/.ssh/config; every other option is refused, positioned at
 * the value, with why. Never ignored.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { loadInventory } from '../../../src/inventory/index.js';
import { parseSshArgs } from '../../../src/inventory/ssh-args.js';
import { resolveSshConfig } from '../../../src/transport/ssh-config.js';
import { project } from '../ansible/helpers.js';

const load = (hosts: string, config = '') => loadInventory(project({ 'hosts.yml': hosts }), { home: '/home/op', localUser: 'op', sshConfig: (a) => resolveSshConfig(a, config, { home: '/home/op' }) });

describe('ssh options in the inventory', () => {
  it('reads a bastion from every way Ansible users write it', () => {
    expect(parseSshArgs('-o ProxyJump=deploy@bastion.example.com')).toEqual({ proxyJump: 'deploy@bastion.example.com' });
    expect(parseSshArgs("-o 'ProxyJump bastion:2222'")).toEqual({ proxyJump: 'bastion:2222' });
    expect(parseSshArgs('-oProxyJump=a,b')).toEqual({ proxyJump: 'a,b' });
    expect(parseSshArgs('-J ops@hop')).toEqual({ proxyJump: 'ops@hop' });
    expect(parseSshArgs('-Jhop')).toEqual({ proxyJump: 'hop' });
    expect(parseSshArgs('-o proxyjump=none')).toEqual({});
    expect(parseSshArgs('')).toEqual({});
    expect(parseSshArgs('-o ProxyCommand="ssh -W %h:%p -q bastion"')).toMatchObject({ refused: { option: '-o ProxyCommand=ssh -W %h:%p -q bastion', why: expect.stringMatching(/ProxyJump/) } });
    expect(parseSshArgs('-o StrictHostKeyChecking=no')).toMatchObject({ refused: { why: expect.stringMatching(/host keys are always checked/) } });
    expect(parseSshArgs('-J hop -o ControlMaster=auto')).toMatchObject({ refused: { option: '-o ControlMaster=auto' } });
    expect(parseSshArgs('-C')).toMatchObject({ refused: { option: '-C' } });
  });

  it('the bastion is the host\'s jump, resolved from ~/.ssh/config like any hop, and wins over ProxyJump there', async () => {
    const inv = await load(
      [
        'all:',
        '  hosts:',
        '    app1: { ansible_host: 10.1.0.5, ansible_ssh_common_args: "-o ProxyJump=jump@203.0.113.1:2201" }',
        '    app2: { ansible_host: 10.1.0.6 }',
        '  children:',
        '    behind:',
        '      hosts: { app2: }',
        '      vars: { ansible_ssh_extra_args: "-J hop1,bastion" }',
        '',
      ].join('\n'),
      'Host bastion\n  HostName 203.0.113.9\n  User ops\nHost 10.1.0.*\n  ProxyJump elsewhere\n',
    );
    expect(inv.hosts.get('app1')!.connection.jump).toMatchObject({ host: '203.0.113.1', port: 2201, user: 'jump' });
    const app2 = inv.hosts.get('app2')!.connection;
    expect(app2.jump).toMatchObject({ host: '203.0.113.9', user: 'ops' });
    expect(app2.jump!.jump).toMatchObject({ host: 'hop1', user: 'op' });
  });

  it('anything else is refused at the value, with why; two different bastions too', async () => {
    const err = (await load('all:\n  hosts:\n    app1:\n      ansible_ssh_common_args: -o StrictHostKeyChecking=no\n').catch((e: unknown) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({ line: 4, message: '`ansible_ssh_common_args`: `-o StrictHostKeyChecking=no` is not supported', hint: expect.stringMatching(/known_hosts/) });
    const two = (await load('all:\n  hosts:\n    app1: { ansible_ssh_common_args: "-J a", ansible_ssh_extra_args: "-J b" }\n').catch((e: unknown) => e)) as InputError;
    expect(two.message).toMatch(/names the bastion `b`, but `ansible_ssh_common_args` names `a`/);
  });
});

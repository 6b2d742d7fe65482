import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandHostRange } from '../../../src/inventory/host-range.js';
import { loadInventory, magicVars } from '../../../src/inventory/index.js';

describe('expandHostRange', () => {
  it.each([
    ['web1', undefined],
    ['web[01:03].example.com', ['web01.example.com', 'web02.example.com', 'web03.example.com']],
    ['db-[a:c]', ['db-a', 'db-b', 'db-c']],
    ['n[1:9:4]', ['n1', 'n5', 'n9']],
    ['r[1:2]-[a:b]', ['r1-a', 'r1-b', 'r2-a', 'r2-b']],
  ])('%s', (name, expected) => {
    expect(expandHostRange(name)).toEqual(expected);
  });

  it('explains a malformed range', () => {
    expect(() => expandHostRange('web[3:1]')).toThrow('host range `[3:1]` runs backwards');
    expect(() => expandHostRange('web[1:c]')).toThrow('host range `[1:c]` needs two numbers or two letters, like [01:10] or [a:f]');
  });
});

describe('magicVars', () => {
  it("gives Ansible's inventory_hostname, group_names, groups and ansible_host", async () => {
    const inv = await loadInventory(join(import.meta.dirname, '../../fixtures/inventory/basic'), { sshConfig: false, localUser: 'op' });
    const m = magicVars(inv, 'web1');
    expect(m).toMatchObject({ inventory_hostname: 'web1', inventory_hostname_short: 'web1', group_names: ['prod', 'web'], ansible_host: '10.0.0.1' });
    expect((m.groups as Record<string, string[]>).prod).toEqual(['web1', 'web2', 'db1']);
    expect((m.groups as Record<string, string[]>).all).toHaveLength(5);
  });
});

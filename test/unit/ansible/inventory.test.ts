import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/index.js';
import { project } from './helpers.js';

describe('inventories laid out the ways Ansible reads them', () => {
  it('extension-less host_vars/NAME and group_vars/NAME, a host named like a domain, nested group_vars/all/ folders', async () => {
    const dir = project({
      'hosts.yml': 'all:\n  children:\n    web:\n      hosts:\n        web1:\n        db.example.com:\n',
      'host_vars/web1': 'ansible_host: 10.0.0.5\nrole_name: frontend\n',
      'host_vars/db.example.com': 'role_name: database\n',
      'group_vars/web': 'tier: web\n',
      'group_vars/all/10-base.yml': 'base: 1\nlevel: base\n',
      'group_vars/all/sub/20-more.yml': 'more: 2\nlevel: more\n',
      'group_vars/all/notes.txt~': 'ignored: true\n',
    });
    const inv = await loadInventory(join(dir, 'hosts.yml'));
    const web1 = inv.hosts.get('web1')!;
    expect(web1.connection.host).toBe('10.0.0.5');
    expect(web1.vars).toMatchObject({ role_name: 'frontend', tier: 'web', base: 1, more: 2, level: 'more' });
    expect(inv.hosts.get('db.example.com')!.vars).toMatchObject({ role_name: 'database' });
    expect(inv.warnings.map((w) => w.message)).toEqual([]);
  });
});

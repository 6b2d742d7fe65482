/**
 * The corpus (test/fixtures/ansible-corpus): playbooks, roles and inventories in the styles real
 * projects use. Each must validate with shipshape and mean what it means in Ansible: the outputs of
 * Debian's ansible 2.14 on the same files (`ansible-playbook --list-tasks`, `ansible-inventory
 * --list`) are recorded in ansible-outputs/, so CI needs no Ansible.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVaultPasswords } from '../../../src/ansible/vault.js';
import { expandForHost } from '../../../src/engine/expand.js';
import { loadInventory } from '../../../src/inventory/index.js';
import { modules } from '../../../src/modules/index.js';
import { loadPlaybook, loadRoles } from '../../../src/playbook/index.js';

const CORPUS = join(import.meta.dirname, '../../fixtures/ansible-corpus');
const OUT = join(CORPUS, 'ansible-outputs');
const playbooks = readdirSync(join(CORPUS, 'playbooks')).filter((f) => f.endsWith('.yml')).sort();

beforeAll(() => setVaultPasswords([{ password: 'correct horse' }]));
afterAll(() => setVaultPasswords([]));

/** Task names Ansible lists, per play (roles as `role : name`). */
function ansibleTasks(name: string): string[] {
  const text = readFileSync(join(OUT, `${name}.list-tasks.txt`), 'utf8');
  return text
    .split('\n')
    .filter((l) => /^ {6}\S/.test(l))
    .map((l) => l.trim().replace(/\tTAGS: .*$/, ''));
}

describe('the Ansible corpus validates and means what Ansible says', () => {
  it('has at least 25 files', () => {
    const count = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(dir, e.name)) : e.name.endsWith('.txt') || e.name.endsWith('.json') ? 0 : 1), 0);
    expect(count(CORPUS)).toBeGreaterThanOrEqual(25);
  });

  it.each(playbooks)('%s: loads, expands for a host, and runs the tasks Ansible lists, in its order', async (file) => {
    const inventory = await loadInventory(join(CORPUS, 'inventories/ini-style-yaml/hosts.yml'));
    const roles = await loadRoles([join(CORPUS, 'roles')]);
    const playbook = await loadPlaybook(join(CORPUS, 'playbooks', file), { modules, roles });
    const plays = playbook.plays.map((p) => expandForHost({ playbook, inventory, roles, modules, extraVars: {}, tags: [], skipTags: [] }, p, 'web1'));
    // ours: loop iterations folded to their task, roles as `role : name`; Ansible's: an include is one line
    const ours = plays
      .flatMap((p) => p.tasks)
      // Ansible's list shows a block's body, not its rescue and always sections
      .filter((t) => !t.flush && !(t.blocks ?? []).some((b) => b.part !== 'body'))
      .map((t) => `${t.role ? `${t.role} : ` : ''}${t.loop ? t.name.replace(/ \(.*\)$/, '') : t.name}`)
      .filter((n, i, a) => a[i - 1] !== n);
    const theirs = ansibleTasks(file.replace(/\.yml$/, ''));
    // every task we run is one Ansible lists, in the same order (Ansible also lists tasks a false `when` skips)
    let at = 0;
    for (const name of ours) {
      const found = theirs.indexOf(name, at);
      const viaInclude = found < 0 && theirs.slice(at).some((t) => /^(include|import)_(tasks|role)$/.test(t));
      expect(found >= 0 || viaInclude, `${name} not in Ansible's list after position ${at}: ${theirs.join(' | ')}`).toBe(true);
      if (found >= 0) at = found + 1;
    }
  });

  it('group_vars/ and host_vars/ beside the playbook: read as ansible-inventory --playbook-dir and ansible-playbook read them (above the inventory\'s)', async () => {
    const theirs = JSON.parse(readFileSync(join(OUT, 'inventory-split+playbook-vars.json'), 'utf8')) as { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    const inv = await loadInventory(join(CORPUS, 'inventories/split'), { playbookDir: join(CORPUS, 'playbook-vars') });
    for (const [host, vars] of Object.entries(theirs._meta.hostvars)) {
      const { ansible_host, ...rest } = vars;
      expect(inv.hosts.get(host)!.vars, host).toEqual(rest);
      expect(inv.hosts.get(host)!.connection.host).toBe(ansible_host);
    }
    // and the play sees them as ansible-playbook printed them
    const roles = await loadRoles([join(CORPUS, 'roles')]);
    const playbook = await loadPlaybook(join(CORPUS, 'playbook-vars/site.yml'), { modules, roles });
    const run = readFileSync(join(OUT, 'playbook-vars.run.txt'), 'utf8');
    for (const host of ['web1', 'web2', 'db1']) {
      const p = expandForHost({ playbook, inventory: inv, roles, modules, extraVars: {}, tags: [], skipTags: [] }, playbook.plays[0], host);
      const msg = (p.tasks[0].args as { msg: string }).msg;
      expect(run).toContain(`ok: [${host}] => {\n    "msg": "${msg}"`);
    }
  });

  it('11-includes-loops: an include per loop item, tasks_from per vhost, the vaulted task file, check_mode: false on a read-only command', async () => {
    const inventory = await loadInventory(join(CORPUS, 'inventories/ini-style-yaml/hosts.yml'));
    const roles = await loadRoles([join(CORPUS, 'roles')]);
    const playbook = await loadPlaybook(join(CORPUS, 'playbooks/11-includes-loops.yml'), { modules, roles });
    const p = expandForHost({ playbook, inventory, roles, modules, extraVars: {}, tags: [], skipTags: [] }, playbook.plays[0], 'web1');
    const dest = (name: string) => p.tasks.filter((t) => t.name === name).map((t) => (t.args as { dest?: string; path?: string }).dest ?? (t.args as { path: string }).path);
    expect(dest('user home marker')).toEqual(['/home/alice/.managed', '/home/bob/.managed']);
    expect(dest('vhost file')).toEqual(['/etc/nginx/sites-available/default.example.org', '/etc/nginx/sites-available/www.example.org', '/etc/nginx/sites-available/api.example.org']);
    expect(dest('vaulted step')).toEqual(['/etc/motd']);
    expect(p.tasks.find((t) => t.name === 'kernel release')?.runInCheck).toBe(true);
  });

  it('08-yaml11: `enable_firewall: no` skips the task, `mode: 0644` is 0644, a boolean prints True', async () => {
    const inventory = await loadInventory(join(CORPUS, 'inventories/ini-style-yaml/hosts.yml'));
    const roles = await loadRoles([join(CORPUS, 'roles')]);
    const playbook = await loadPlaybook(join(CORPUS, 'playbooks/08-yaml11.yml'), { modules, roles });
    const p = expandForHost({ playbook, inventory, roles, modules, extraVars: {}, tags: [], skipTags: [] }, playbook.plays[0], 'web1');
    expect(p.tasks.map((t) => t.name)).toEqual(['cron file']);
    expect(p.tasks[0].args).toMatchObject({ mode: '0644', content: '# enabled=True\n' });
  });

  // folder, mixed-folder: folders without hosts.yml, read file by file as Ansible reads them (INI and YAML, skipped extensions, subfolders)
  it.each(['ini-style-yaml', 'vps', 'folder', 'mixed-folder'])('inventory %s: the same hosts, groups and variables as ansible-inventory --list', async (name) => {
    const theirs = JSON.parse(readFileSync(join(OUT, `inventory-${name}.json`), 'utf8')) as { _meta: { hostvars: Record<string, Record<string, unknown>> } } & Record<string, { hosts?: string[]; children?: string[] }>;
    const inv = await loadInventory(join(CORPUS, 'inventories', name));
    for (const [group, entry] of Object.entries(theirs)) {
      if (group === '_meta') continue;
      const g = entry as { hosts?: string[]; children?: string[] };
      if (g.hosts) expect([...(inv.groups.get(group)?.hosts ?? [])].sort(), group).toEqual([...g.hosts].sort());
      // Ansible lists an empty `ungrouped` under all; shipshape has no empty group
      for (const child of (g.children ?? []).filter((c) => theirs[c])) expect(inv.groups.get(child)?.parents, `${child} in ${group}`).toContain(group);
    }
    expect([...inv.hosts.keys()].sort()).toEqual(Object.keys(theirs._meta.hostvars).sort());
    for (const [host, vars] of Object.entries(theirs._meta.hostvars)) {
      const h = inv.hosts.get(host)!;
      const { ansible_host, ansible_port, ansible_user, ansible_become, ...rest } = vars;
      expect(h.vars, host).toMatchObject(rest);
      if (ansible_host !== undefined) expect(h.connection.host).toBe(ansible_host);
      if (ansible_port !== undefined) expect(h.connection.port).toBe(ansible_port);
      if (ansible_user !== undefined) expect(h.connection.user).toBe(ansible_user);
      if (ansible_become !== undefined) expect(h.become).toBe(ansible_become);
    }
  });
});

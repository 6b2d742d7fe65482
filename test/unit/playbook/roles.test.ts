import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { builtinRolesDir, loadRoles } from '../../../src/playbook/index.js';
import { taskFromRoleTask } from '../../../src/playbook/task.js';
import { modules } from './fake-modules.js';

const fixtures = join(import.meta.dirname, '../../fixtures');

describe('loadRoles', () => {
  it('loads index.ts and index.js roles by directory name, skipping _private and missing dirs', async () => {
    const roles = await loadRoles([join(fixtures, 'no-such-dir'), join(fixtures, 'roles')]);
    expect(Object.keys(roles).sort()).toEqual(['plainjs', 'webserver']);
    const web = roles.webserver;
    expect(web.dir).toBe(join(fixtures, 'roles/webserver'));
    expect(web.tasks(web.vars.parse({}))).toEqual([{ name: 'listen on 80', module: 'listen_port', args: { port: 80 } }]);
    expect(roles.plainjs.tasks(roles.plainjs.vars.parse({ greeting: 'hi' }))[0].args).toEqual({ cmd: 'echo hi' });
  });

  it('lets the first directory holding a role name win, like roles_path', async () => {
    const roles = await loadRoles([join(fixtures, 'roles-override'), join(fixtures, 'roles')]);
    expect(roles.webserver.summary).toBe('a project role shadowing a later one');
    expect(Object.keys(roles).sort()).toEqual(['plainjs', 'webserver']);
  });

  it('refuses a role whose name differs from its directory', async () => {
    const e = (await loadRoles([join(fixtures, 'roles-bad')]).catch((x) => x)) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect([e.file, e.message]).toEqual([
      join(fixtures, 'roles-bad/misnamed/index.ts'),
      'role is named `other_name` but lives in directory `misnamed`; playbooks name roles by directory',
    ]);
  });

  it('finds the built-in roles directory from source', () => {
    expect(builtinRolesDir()).toBe(join(import.meta.dirname, '../../../roles/'));
    expect(existsSync(builtinRolesDir())).toBe(true);
  });
});

describe('taskFromRoleTask', () => {
  it('turns a role task into a TaskSpec positioned at the role entry, resolving module aliases', () => {
    const at = { file: 'site.yml', line: 9, column: 7 };
    const t = taskFromRoleTask({ name: 'pkgs', module: 'ansible.builtin.apt', args: { name: 'x' }, notify: ['h'] }, 'docker', { a: 1 }, at, modules);
    expect(t).toEqual({
      kind: 'task',
      name: 'pkgs',
      module: 'apt',
      args: { name: 'x' },
      tags: [],
      notify: ['h'],
      no_log: false,
      role: 'docker',
      roleVars: { a: 1 },
      phase: 'main',
      source: at,
      argSources: {},
    });
    expect(() => taskFromRoleTask({ name: 'x', module: 'aptt', args: {} }, 'docker', {}, at, modules)).toThrow('role docker: task "x" uses unknown module aptt (did you mean apt?)');
  });
});

describe('the built-in roles', () => {
  it('all load through the role loader, each named after its directory', async () => {
    const roles = await loadRoles([builtinRolesDir()]);
    expect(Object.keys(roles).length).toBeGreaterThan(0);
    for (const [name, role] of Object.entries(roles)) {
      expect(role.name).toBe(name);
      expect(typeof role.tasks).toBe('function');
    }
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { loadPlaybook, type RoleItem, type TaskSpec } from '../../../src/playbook/index.js';
import { modules, roles } from './fake-modules.js';

const dir = join(import.meta.dirname, '../../fixtures/playbooks');
const load = (name: string) => loadPlaybook(join(dir, name), { modules, roles });

async function inputError(name: string): Promise<InputError> {
  try {
    await load(name);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error(`${name} loaded without an error`);
}

/** [line:column, message, hint] of every problem, headline first */
function problems(e: InputError): [string, string, string | undefined][] {
  return [e, ...e.others].map((x) => [`${x.line}:${x.column}`, x.message, x.hint]);
}

describe('loadPlaybook: the normalized shape', () => {
  it('reads plays with hosts, vars (vars_files over vars), become, tags', async () => {
    const pb = await load('site.yml');
    expect(pb.plays.map((p) => [p.name, p.hosts, p.become, p.tags])).toEqual([
      ['base', 'web,&prod', true, ['base']],
      ['db1,web1', 'db1,web1', undefined, []],
    ]);
    expect(pb.plays[0].vars).toEqual({ app: 'shop', app_dir: '/srv/{{ app }}', from_vars_file: 1 });
    expect(pb.plays[0].hostsSource).toEqual({ file: join(dir, 'site.yml'), line: 2, column: 10 });
  });

  it('orders items pre_tasks, roles, tasks, post_tasks, and keeps role entries unexpanded', async () => {
    const items = (await load('site.yml')).plays[0].items;
    expect(items.map((i) => `${i.phase}:${i.kind === 'role' ? `role ${i.role}` : i.name}`)).toEqual([
      'pre_tasks:refresh apt',
      'main:role firewall',
      'main:role docker',
      'main:app directory',
      'main:command systemctl daemon-reload',
      'main:guarded',
      'post_tasks:done marker',
    ]);
    const docker = items[2] as RoleItem;
    expect(docker).toEqual({
      kind: 'role',
      role: 'docker',
      params: { docker_source: 'distro' },
      tags: ['docker'],
      when: 'install_docker | default(true)',
      phase: 'main',
      source: { file: join(dir, 'site.yml'), line: 15, column: 7 },
    });
  });

  it('normalizes tasks: aliases, free-form command, args, notify, when lists, tags strings', async () => {
    const items = (await load('site.yml')).plays[0].items as TaskSpec[];
    const pick = (t: TaskSpec) => ({ name: t.name, module: t.module, args: t.args, tags: t.tags, notify: t.notify, when: t.when, become: t.become, no_log: t.no_log });
    expect(pick(items[0])).toMatchObject({ module: 'apt', args: { name: [], update_cache: true } }); // ansible.builtin.apt
    expect(pick(items[3])).toEqual({
      name: 'app directory',
      module: 'file',
      args: { path: '{{ app_dir }}', state: 'directory', mode: '0750' },
      tags: [],
      notify: ['restart docker'], // a role's handler
      when: 'app is defined', // the {{ }} Ansible warns about is dropped
      become: undefined,
      no_log: false,
    });
    expect(pick(items[4])).toMatchObject({ name: 'command systemctl daemon-reload', args: { cmd: 'systemctl daemon-reload' }, tags: ['systemd', 'boot'], no_log: true });
    expect(pick(items[5])).toMatchObject({ args: { cmd: '/bin/true', creates: '/etc/done' }, when: "(app == 'shop') and (not (skip | default(false)))" });
    expect(items[3].source).toEqual({ file: join(dir, 'site.yml'), line: 21, column: 7 });
    expect(items[3].argSources.mode).toMatchObject({ key: { line: 25, column: 9 }, value: { line: 25, column: 15 }, raw: '"0750"' });
  });

  it('expands YAML merge keys, and positions errors inside anchored mappings where they are written', async () => {
    const e = await inputError('anchors.yml');
    expect(problems(e)).toEqual([['17:29', 'unknown argument `ownr` for `file`', 'did you mean `owner`?']]);
  });

  it('reads handlers with listen', async () => {
    const [h] = (await load('site.yml')).plays[0].handlers;
    expect([h.name, h.module, h.listen]).toEqual(['restart app', 'service', ['app changed']]);
  });
});

describe('loadPlaybook: errors carry file:line:column', () => {
  it('malformed YAML', async () => {
    const e = await inputError('errors/malformed.yml');
    expect(e.location).toBe(`${join(dir, 'errors/malformed.yml')}:5:5`);
    expect(e.message).toBe('invalid YAML: flow map in block collection must be sufficiently indented and end with a }');
  });

  it('an unknown key in a task', async () => {
    const e = await inputError('errors/task-key-typo.yml');
    expect(problems(e)).toEqual([['3:7', 'unknown key `nmae` in task', 'did you mean `name`?']]);
    expect(e.format()).toBe(
      [`${join(dir, 'errors/task-key-typo.yml')}:3:7: unknown key \`nmae\` in task`, '  3 |     - nmae: create the app dir', '    |       ^ did you mean `name`?'].join('\n'),
    );
  });

  it('an unknown module argument (the missing argument it stands for is not reported twice)', async () => {
    const e = await inputError('errors/unknown-arg.yml');
    expect(problems(e)).toEqual([['5:9', 'unknown argument `nme` for `apt`', 'did you mean `name`?']]);
  });

  it('an unknown module', async () => {
    expect(problems(await inputError('errors/unknown-module.yml'))).toEqual([['4:7', 'unknown module `aptt`', 'did you mean `apt`?']]);
  });

  it('an unknown role', async () => {
    expect(problems(await inputError('errors/unknown-role.yml'))).toEqual([['4:13', 'unknown role `dockr`', 'did you mean `docker`?']]);
  });

  it('a missing required argument, at the module key', async () => {
    expect(problems(await inputError('errors/missing-arg.yml'))).toEqual([['4:7', '`file` needs argument `path`', undefined]]);
  });

  it('a wrong type', async () => {
    expect(problems(await inputError('errors/wrong-type.yml'))).toEqual([
      ['5:15', 'bad value for argument `port` of `listen_port`: invalid input: expected number, received string', undefined],
    ]);
  });

  it('a play without hosts', async () => {
    expect(problems(await inputError('errors/no-hosts.yml'))).toEqual([['1:3', 'this play has no `hosts`', 'add `hosts: all`, a group or a host pattern']]);
  });

  it('a mode written as a decimal number (Ansible would apply 01204), at the value, with the text to write instead', async () => {
    const e = await inputError('errors/unquoted-mode.yml');
    expect(problems(e)).toEqual([
      ['7:15', '`mode` written as a decimal number', '`mode: 644` is the decimal number 644 in YAML, which Ansible applies as mode 01204; write `mode: "0644"` (or `0644` with its leading zero)'],
    ]);
  });

  it('two modules in one task', async () => {
    expect(problems(await inputError('errors/two-modules.yml'))).toEqual([['5:7', 'a task runs one module, but this one names `file` and `apt`', 'split it into two tasks']]);
  });

  it('a playbook that is not a list, and a misspelled play key', async () => {
    expect(problems(await inputError('errors/not-a-list.yml'))).toEqual([['1:1', 'a playbook is a list of plays (each starting with `- hosts:`), not a mapping', undefined]]);
    expect(problems(await inputError('errors/play-key-typo.yml'))).toEqual([['2:3', 'unknown key `taks` in play', 'did you mean `tasks`?']]);
  });

  it('role params not in the role schema, and bad role param values', async () => {
    expect(problems(await inputError('errors/role-params.yml'))).toEqual([
      ['5:9', 'unknown variable `docker_sorce` for role `docker`', 'did you mean `docker_source`?'],
      ['7:22', 'bad value for variable `docker_source` of role `docker`: invalid option: expected one of "vendor"|"distro"', undefined],
      ['8:7', 'unknown variable `tgas` for role `docker`', 'did you mean `tags`?'],
    ]);
  });

  it('reports every problem of a file at once, in file order; templated values wait for the engine', async () => {
    expect(problems(await inputError('errors/several.yml'))).toEqual([
      ['2:11', '`become` must be true or false, not a string', undefined],
      ['5:33', 'bad value for argument `state` of `apt`: invalid option: expected one of "present"|"absent"|"latest"', 'did you mean `present`?'],
      // path and mode are templates, and owner 5 is the string "5" as Ansible converts it
      ['10:15', 'no handler named `restart ngnix` in this play', 'did you mean `restart nginx`?'],
      ['13:7', '`delegate_to` is not supported', 'each task runs on its own host'],
      ['16:13', '`when`: template syntax error in `x ==`: the expression ends too early (an operand is missing at its end)', undefined],
    ]);
  });

  it('a missing playbook file', async () => {
    const e = await inputError('nope.yml');
    expect([e.location, e.message]).toEqual([join(dir, 'nope.yml'), 'cannot read file: no such file']);
  });
});

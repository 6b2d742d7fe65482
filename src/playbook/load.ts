/**
 * Loads a playbook (a YAML list of plays) into Plays whose items are tasks and role entries, every
 * problem of the file collected into one InputError. Role tasks are not expanded here: they depend
 * on each host's variables, so the engine expands them per host.
 */
import { dirname, resolve } from 'node:path';
import { InputError, sortErrors, uniqueErrors } from '../core/input-error.js';
import type { ModuleDef } from '../core/module.js';
import { nearest } from '../core/suggest.js';
import { mergeVars, type Vars } from '../inventory/vars.js';
import { YamlFile, describeNode, type YNode } from '../inventory/yaml-doc.js';
import { bool, stringList, text, type FieldContext } from './fields.js';
import type { RoleDef } from './role.js';
import { roleList } from './role-entry.js';
import { itemList, prepareAnsibleRole, type ItemContext } from './items.js';
import { parseTask } from './task.js';
import type { Phase, Play, PlayItem, Playbook, RoleItem, TaskSpec } from './types.js';

export interface LoadPlaybookOptions {
  modules: Record<string, ModuleDef>;
  roles: Record<string, RoleDef>;
}

const PLAY_KEYS = ['name', 'hosts', 'vars', 'vars_files', 'become', 'gather_facts', 'roles', 'pre_tasks', 'tasks', 'post_tasks', 'handlers', 'tags'];
const UNSUPPORTED_PLAY: Record<string, string> = {
  serial: 'hosts run in parallel; use --limit to roll out in batches',
  strategy: 'every host runs its tasks independently',
  become_user: 'become always means root',
  remote_user: 'set `user` in the inventory',
  connection: 'set `connection` in the inventory',
  environment: 'pass environment to the command module',
  vars_prompt: 'pass values with -e',
  import_playbook: 'run the playbooks one after another',
  include_playbook: 'run the playbooks one after another',
};

interface PlayContext extends FieldContext {
  opts: LoadPlaybookOptions;
  dir: string;
}

export async function loadPlaybook(path: string, opts: LoadPlaybookOptions): Promise<Playbook> {
  const file = await YamlFile.read(path);
  const c: PlayContext = { file, errors: [], opts, dir: dirname(path) };
  const root = file.root;
  if (root === null || file.scalar(root) === null) throw file.error(root, 'the playbook is empty', 'a playbook is a list of plays, each starting with `- hosts:`');
  if (!file.isSeq(root)) throw file.error(root, `a playbook is a list of plays (each starting with \`- hosts:\`), not ${describeNode(file, root)}`);
  const plays: Play[] = [];
  for (const node of file.items(root)) {
    const play = await parsePlay(c, node);
    if (play) plays.push(play);
  }
  const err = InputError.combine(sortErrors(uniqueErrors(c.errors)));
  if (err) throw err;
  return { path, plays };
}

async function parsePlay(c: PlayContext, node: YNode): Promise<Play | undefined> {
  const { file, errors } = c;
  if (!file.isMap(node)) {
    errors.push(file.error(node, `a play is a mapping with \`hosts\` and \`tasks\` or \`roles\`, not ${describeNode(file, node)}`));
    return undefined;
  }
  const kw = new Map<string, YNode | null>();
  for (const e of file.entries(node)) {
    if (PLAY_KEYS.includes(e.key)) kw.set(e.key, e.value);
    else if (e.key in UNSUPPORTED_PLAY) errors.push(file.error(e.keyNode, `\`${e.key}\` is not supported`, UNSUPPORTED_PLAY[e.key]));
    else {
      const near = nearest(e.key, PLAY_KEYS);
      errors.push(file.error(e.keyNode, `unknown key \`${e.key}\` in play`, near ? `did you mean \`${near}\`?` : undefined));
    }
  }
  const hosts = hostsOf(c, node, kw);
  const get = (k: string) => kw.get(k) ?? null;

  // roles and handler names first: every `notify` is checked against them
  const roleItems = roleList({ file, errors, roles: c.opts.roles }, get('roles'));
  // Ansible role folders named anywhere in the play: their task files are parsed now
  const ictx = { errors, modules: c.opts.modules, roles: c.opts.roles };
  for (const r of roleItems) prepareAnsibleRole(ictx, r.role);
  for (const k of ['pre_tasks', 'tasks', 'post_tasks']) for (const r of includedRoles(file, get(k))) prepareAnsibleRole(ictx, r);
  const handlerNames = knownHandlers(c, handlerNamesIn(file, get('handlers')), [
    ...roleItems,
    ...['pre_tasks', 'tasks', 'post_tasks'].flatMap((k) => includedRoles(file, get(k)).map((role) => ({ role, params: {} }))),
  ]);
  const handlers = taskList(c, get('handlers'), 'main', { handler: true, handlerNames }) as TaskSpec[];
  const items: PlayItem[] = [
    ...taskList(c, get('pre_tasks'), 'pre_tasks', { handlerNames }),
    ...roleItems,
    ...taskList(c, get('tasks'), 'main', { handlerNames }),
    ...taskList(c, get('post_tasks'), 'post_tasks', { handlerNames }),
  ];

  const vars = kw.has('vars') ? varsMapping(c.file, c, get('vars'), '`vars`') : {};
  const filesVars = kw.has('vars_files') ? await varsFiles(c, get('vars_files')) : [];
  const play: Play = {
    name: (kw.has('name') ? text(c, 'name', get('name')) : undefined) ?? hosts?.pattern ?? 'play',
    hosts: hosts?.pattern ?? '',
    hostsSource: hosts?.source ?? file.source(node),
    vars: mergeVars(vars, ...filesVars),
    tags: stringList(c, 'tags', get('tags')),
    ...(kw.has('gather_facts') ? { gatherFacts: bool(c, 'gather_facts', get('gather_facts')) ?? true } : {}),
    items,
    handlers,
    source: file.source(node),
  };
  if (kw.has('become')) {
    const b = bool(c, 'become', get('become'));
    if (b !== undefined) play.become = b;
  }
  return play;
}

function hostsOf(c: PlayContext, play: YNode, kw: Map<string, YNode | null>): { pattern: string; source: Play['hostsSource'] } | undefined {
  const { file } = c;
  const node = kw.get('hosts') ?? null;
  if (!kw.has('hosts') || node === null || file.scalar(node) === null) {
    c.errors.push(file.error(play, 'this play has no `hosts`', 'add `hosts: all`, a group or a host pattern'));
    return undefined;
  }
  const parts = stringList(c, 'hosts', node, false).map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !p)) {
    c.errors.push(file.error(node, '`hosts` must name hosts or groups'));
    return undefined;
  }
  const source = file.source(node);
  // point into the pattern text itself, so selectHosts can place its caret under the bad name
  const raw = file.raw(node) ?? '';
  if (/^["']/.test(raw)) source.column += 1;
  return { pattern: parts.join(','), source };
}

function taskList(c: PlayContext, node: YNode | null, phase: Phase, extra: { handler?: boolean; handlerNames?: ReadonlySet<string> }): PlayItem[] {
  const { file, errors } = c;
  if (node === null || file.scalar(node) === null) return [];
  if (!file.isSeq(node)) {
    errors.push(file.error(node, `a task list is a list of tasks (each starting with \`- name:\`), not ${describeNode(file, node)}`));
    return [];
  }
  const tc: ItemContext = { file, errors, modules: c.opts.modules, roles: c.opts.roles, phase, handler: extra.handler, handlerNames: extra.handlerNames, includeDir: c.dir };
  if (!extra.handler) return itemList(tc, node);
  const tasks = file.items(node).flatMap((t) => parseTask(tc, t) ?? []);
  for (const t of file.items(node)) {
    const hasName = file.isMap(t) && file.entries(t).some((e) => e.key === 'name');
    if (!hasName && file.isMap(t)) c.errors.push(file.error(t, 'a handler needs a `name`: tasks notify it by name'));
  }
  return tasks;
}

/** Role names of `include_role`/`import_role` anywhere in a task list (blocks included), read before parsing it. */
function includedRoles(file: YamlFile, node: YNode | null): string[] {
  const out: string[] = [];
  for (const t of file.items(node)) {
    for (const e of file.entries(file.isMap(t) ? t : null)) {
      if (/^(ansible\.builtin\.)?(include|import)_role$/.test(e.key)) {
        const n = file.scalar(file.entries(e.value).find((x) => x.key === 'name')?.value ?? null);
        if (typeof n === 'string') out.push(n);
      }
      if (['block', 'rescue', 'always'].includes(e.key)) out.push(...includedRoles(file, e.value));
    }
  }
  return out;
}

/**
 * Handler names tasks may notify, or undefined when a role's handlers cannot be listed without host
 * variables (then the engine reports an unknown name at run time).
 */
function knownHandlers(c: PlayContext, names: Set<string>, roles: { role: string; params: Vars }[]): Set<string> | undefined {
  for (const item of roles) {
    const role = c.opts.roles[item.role];
    for (const h of role?.ansible?.handlers ?? []) [h.name, ...(h.listen ?? [])].forEach((n) => names.add(n));
    if (!role?.handlers) continue;
    try {
      for (const h of role.handlers(role.vars.parse(item.params))) names.add(h.name);
    } catch {
      return undefined;
    }
  }
  return names;
}

/** `name` and `listen` of the play's handlers, read before the handlers are parsed (they may notify each other) */
function handlerNamesIn(file: YamlFile, node: YNode | null): Set<string> {
  const names = new Set<string>();
  for (const h of node && file.isSeq(node) ? file.items(node) : []) {
    for (const e of file.entries(file.isMap(h) ? h : null)) {
      if (e.key !== 'name' && e.key !== 'listen') continue;
      const values = e.value && file.isSeq(e.value) ? file.items(e.value) : [e.value];
      for (const v of values) {
        const s = file.scalar(v);
        if (typeof s === 'string' || typeof s === 'number') names.add(String(s));
      }
    }
  }
  return names;
}

function varsMapping(file: YamlFile, c: FieldContext, node: YNode | null, what: string): Vars {
  if (node === null || file.scalar(node) === null) return {};
  if (!file.isMap(node)) {
    c.errors.push(file.error(node, `${what} must be a mapping of variable names to values, not ${describeNode(file, node)}`));
    return {};
  }
  return file.js(node) as Vars;
}

async function varsFiles(c: PlayContext, node: YNode | null): Promise<Vars[]> {
  const { file } = c;
  const items = node && file.isSeq(node) ? file.items(node) : node ? [node] : [];
  const out: Vars[] = [];
  for (const item of items) {
    const name = text(c, 'vars_files', item);
    if (name === undefined) continue;
    let vf: YamlFile;
    try {
      vf = await YamlFile.read(resolve(c.dir, name));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // a missing file is reported where it is named, other problems inside the file itself
      if (e.line === undefined) c.errors.push(file.error(item, `vars file \`${name}\`: ${e.message}`));
      else c.errors.push(e, ...e.others);
      continue;
    }
    out.push(varsMapping(vf, { file: vf, errors: c.errors }, vf.root, `vars file \`${name}\``));
  }
  return out;
}

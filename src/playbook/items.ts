/**
 * A task list as Ansible writes it: tasks, `block` (with `rescue` and `always`), `include_tasks` /
 * `import_tasks` (the file's tasks, read now and positioned in that file), `include_role` /
 * `import_role` (the role's tasks at that place), and `meta: flush_handlers`. Everything is read
 * before any host is contacted; an included file name must therefore be a plain path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { InputError } from '../core/input-error.js';
import { nearest } from '../core/suggest.js';
import { YamlFile, describeNode, type YNode } from '../inventory/yaml-doc.js';
import { bool, stringList, text, when, type FieldContext } from './fields.js';
import type { RoleDef } from './role.js';
import { LOOP_KEYS, parseTask, readLoop, UNSUPPORTED, type TaskContext } from './task.js';
import { isTemplate } from './template.js';
import type { BlockItem, PlayItem, RoleItem } from './types.js';

export interface ItemContext extends TaskContext {
  roles: Record<string, RoleDef>;
  /** directory include_tasks paths are relative to (the playbook's, or the role's tasks/) */
  includeDir: string;
  /** files being included, to refuse an include cycle */
  including?: string[];
}

const BLOCK_KEYS = ['block', 'rescue', 'always', 'name', 'when', 'become', 'tags', 'ignore_errors', 'vars'];
const INCLUDE_TASKS = ['include_tasks', 'import_tasks', 'ansible.builtin.include_tasks', 'ansible.builtin.import_tasks', 'include'];
const INCLUDE_ROLE = ['include_role', 'import_role', 'ansible.builtin.include_role', 'ansible.builtin.import_role'];
const WRAPPER_KEYS = ['name', 'when', 'tags', 'become', 'vars'];

export function itemList(c: ItemContext, node: YNode | null): PlayItem[] {
  const { file, errors } = c;
  if (node === null || file.scalar(node) === null) return [];
  if (!file.isSeq(node)) {
    errors.push(file.error(node, `a task list is a list of tasks (each starting with \`- name:\`), not ${describeNode(file, node)}`));
    return [];
  }
  return file.items(node).flatMap((n) => parseItem(c, n));
}

function parseItem(c: ItemContext, node: YNode): PlayItem[] {
  const { file } = c;
  const keys = file.isMap(node) ? file.entries(node).map((e) => e.key) : [];
  if (keys.includes('block')) return block(c, node);
  const include = keys.find((k) => INCLUDE_TASKS.includes(k));
  if (include) return includeTasks(c, node, include);
  const role = keys.find((k) => INCLUDE_ROLE.includes(k));
  if (role) return includeRole(c, node, role);
  if (keys.includes('meta') || keys.includes('ansible.builtin.meta')) return meta(c, node);
  const t = parseTask(c, node);
  return t ? [t] : [];
}

/** name, when, become, tags and vars of a block or include, shared by every task it holds */
function wrapper(c: ItemContext, node: YNode, allowed: string[], what: string, loops: 'yes' | 'no' | 'import' = 'no'): BlockItem {
  const { file, errors } = c;
  const item: BlockItem = { kind: 'block', block: [], rescue: [], always: [], tags: [], phase: c.phase, source: file.source(node) };
  const loopKw = new Map<string, YNode | null>();
  for (const e of file.entries(node)) {
    if (loops === 'yes' && (LOOP_KEYS.includes(e.key) || e.key === 'loop_control')) {
      loopKw.set(e.key, e.value);
      continue;
    }
    if (e.key === 'name') item.name = text(c, 'name', e.value);
    else if (e.key === 'when') {
      const w = when(c, e.value);
      if (w !== undefined) item.when = w;
    } else if (e.key === 'become') {
      const b = bool(c, 'become', e.value);
      if (b !== undefined) item.become = b;
    } else if (e.key === 'tags') item.tags = stringList(c, 'tags', e.value);
    else if (e.key === 'vars') {
      if (e.value !== null && file.isMap(e.value)) item.vars = file.js(e.value) as Record<string, unknown>;
      else if (e.value !== null) errors.push(file.error(e.value, `\`vars\` must be a mapping, not ${describeNode(file, e.value)}`));
    } else if (e.key === 'ignore_errors') {
      item.ignoreErrors = bool(c, 'ignore_errors', e.value) ?? false;
    } else if (allowed.includes(e.key)) continue;
    else if (e.key in UNSUPPORTED) errors.push(file.error(e.keyNode, `\`${e.key}\` is not supported`, UNSUPPORTED[e.key]));
    else if (e.key === 'loop' || e.key.startsWith('with_')) {
      // Ansible's own rule: an import is read once, before any loop could run it again
      if (loops === 'import') errors.push(file.error(e.keyNode, `\`${e.key}\` on ${what} is not possible (Ansible refuses it too)`, `use \`${what.replace(/`/g, '').replace('import_', 'include_')}\` to loop`));
      else errors.push(file.error(e.keyNode, `\`${e.key}\` on ${what} is not supported`, 'put the loop on the tasks inside'));
    } else {
      const near = nearest(e.key, [...WRAPPER_KEYS, ...allowed]);
      errors.push(file.error(e.keyNode, `unknown key \`${e.key}\` in ${what}`, near ? `did you mean \`${near}\`?` : undefined));
    }
  }
  const loop = loopKw.size ? readLoop(c, loopKw) : undefined;
  if (loop) item.loop = loop;
  return item;
}

/** include_* may loop; import_* are read once, so Ansible refuses a loop on them */
const loopsOn = (key: string) => (key.includes('import_') ? 'import' : 'yes');

function block(c: ItemContext, node: YNode): PlayItem[] {
  const { file } = c;
  const item = wrapper(c, node, BLOCK_KEYS, 'a block');
  for (const e of file.entries(node)) {
    if (e.key === 'block' || e.key === 'rescue' || e.key === 'always') item[e.key] = itemList(c, e.value);
  }
  return [item];
}

function includeTasks(c: ItemContext, node: YNode, key: string): PlayItem[] {
  const { file, errors } = c;
  const entry = file.entries(node).find((e) => e.key === key)!;
  let nameNode: YNode | null = entry.value;
  if (entry.value && file.isMap(entry.value)) {
    for (const e of file.entries(entry.value)) {
      if (e.key === 'file') nameNode = e.value;
      else errors.push(file.error(e.keyNode, `\`${key}\` takes only \`file\` here`, e.key === 'apply' ? 'put the keywords on the tasks of the file' : undefined));
    }
  }
  const item = wrapper(c, node, [key, 'args'], `\`${key}\``, loopsOn(key));
  const name = text(c, key, nameNode);
  if (name === undefined) return [];
  if (key === 'include') errors.push(file.error(entry.keyNode, '`include` was removed from Ansible', 'write `include_tasks` (or `import_tasks`)'));
  if (isTemplate(name)) {
    errors.push(file.error(nameNode, `the file of \`${key}\` must be a plain path: every task is read before any host is contacted`, 'choose between files with `when:` on two includes'));
    return [];
  }
  const path = isAbsolute(name) ? name : [join(c.includeDir, name), join(c.includeDir, 'tasks', name)].find(existsSync) ?? join(c.includeDir, name);
  if (c.including?.includes(path)) {
    errors.push(file.error(nameNode, `\`${name}\` includes itself (${[...c.including, path].join(' -> ')})`));
    return [];
  }
  let included: YamlFile;
  try {
    included = YamlFile.parse(path, readFileSync(path, 'utf8'));
  } catch (e) {
    if (e instanceof InputError) errors.push(e, ...e.others);
    else errors.push(file.error(nameNode, `cannot read \`${name}\`: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `no such file (looked for ${path})` : (e as Error).message}`));
    return [];
  }
  const inner: ItemContext = { ...c, file: included, includeDir: dirname(path), including: [...(c.including ?? []), path] };
  item.block = included.root === null ? [] : itemList(inner, included.root);
  item.name ??= `${key} ${name}`;
  return [item];
}

function includeRole(c: ItemContext, node: YNode, key: string): PlayItem[] {
  const { file, errors } = c;
  const entry = file.entries(node).find((e) => e.key === key)!;
  const args = entry.value && file.isMap(entry.value) ? file.entries(entry.value) : [];
  const nameNode = args.find((e) => e.key === 'name')?.value ?? null;
  const fromNode = args.find((e) => e.key === 'tasks_from')?.value ?? null;
  // include_role's `public` (Ansible 2.7+); import_role has none: its variables are always the play's
  const dynamic = key.endsWith('include_role');
  const publicNode = dynamic ? (args.find((e) => e.key === 'public')?.value ?? null) : null;
  for (const e of args) {
    if (e.key === 'name' || e.key === 'tasks_from' || (e.key === 'public' && dynamic)) continue;
    const hint = (!dynamic && e.key === 'public' ? 'import_role\'s variables are visible to the whole play already' : ROLE_ARG_HINTS[e.key]) ?? 'pass role variables with `vars:` on this task';
    errors.push(file.error(e.keyNode, `\`${key}\` takes \`name\`${dynamic ? ', `tasks_from` and `public`' : ' and `tasks_from`'}; \`${e.key}\` is not supported`, hint));
  }
  if (!nameNode) {
    errors.push(file.error(entry.value ?? entry.keyNode, `\`${key}\` needs \`name\`: the role to run`));
    return [];
  }
  const wrap = wrapper(c, node, [key], `\`${key}\``, loopsOn(key));
  const name = text(c, 'name', nameNode);
  if (name === undefined) return [];
  const role = c.roles[name];
  if (!role) {
    const near = nearest(name, Object.keys(c.roles));
    errors.push(file.error(nameNode, `unknown role \`${name}\``, near ? `did you mean \`${near}\`?` : undefined));
    return [];
  }
  const item: RoleItem = { kind: 'role', role: name, params: wrap.vars ?? {}, tags: wrap.tags, phase: c.phase, source: file.source(node), included: true, ...(wrap.name ? { name: wrap.name } : {}) };
  if (wrap.when !== undefined) item.when = wrap.when;
  if (wrap.become !== undefined) item.become = wrap.become;
  if (wrap.loop) item.loop = wrap.loop;
  if (!dynamic) item.imported = true;
  if (publicNode) {
    const pub = bool(c, 'public', publicNode);
    if (pub) item.public = true;
  }
  if (fromNode) {
    const from = text(c, 'tasks_from', fromNode);
    if (from === undefined) return [];
    if (!role.ansible) errors.push(file.error(fromNode, `\`tasks_from\` needs an Ansible role folder; \`${name}\` is a TypeScript role`, 'a TypeScript role takes variables: choose its tasks with one'));
    else if (isTemplate(from)) errors.push(file.error(fromNode, '`tasks_from` must be a plain file name: every task is read before any host is contacted'));
    else if (roleTaskFile(c, name, from, fromNode)) item.tasksFrom = from;
  }
  return [item];
}

const ROLE_ARG_HINTS: Record<string, string> = {
  apply: 'put the keywords on this task (when, tags, become apply to every task of the role)',
  vars_from: 'put the variables in the role\'s vars/main.yml, or pass them with `vars:` on this task',
  defaults_from: 'put the defaults in the role\'s defaults/main.yml, or pass them with `vars:` on this task',
  handlers_from: 'the role\'s handlers/main.yml is read; put the handlers there',
  allow_duplicates: 'include_role runs the role every time already',
  rolespec_validate: 'not supported',
};

/**
 * `tasks_from: NAME` (or NAME.yml): tasks/NAME.yml of an Ansible role, parsed once with the role's
 * directory for includes, kept on the role beside main. False (and an error at the name) when missing.
 */
function roleTaskFile(c: ItemContext, roleName: string, from: string, at: YNode): boolean {
  const role = c.roles[roleName];
  const a = role.ansible!;
  a.taskFiles ??= {};
  if (a.taskFiles[from]) return true;
  const tasksDir = join(role.dir!, 'tasks');
  const path = (/\.(ya?ml|json)$/.test(from) ? [from] : [`${from}.yml`, `${from}.yaml`, from]).map((n) => join(tasksDir, n)).find((p) => existsSync(p));
  if (!path || !resolve(path).startsWith(resolve(tasksDir) + sep)) {
    c.errors.push(c.file.error(at, `role \`${roleName}\` has no task file \`${from}\``, `looked for ${from}.yml in ${tasksDir}`));
    return false;
  }
  a.taskFiles[from] = [];
  let f: YamlFile;
  try {
    f = YamlFile.parse(path, readFileSync(path, 'utf8'));
  } catch (e) {
    if (e instanceof InputError) c.errors.push(e, ...e.others);
    else throw e;
    return false;
  }
  // the role's tasks notify the role's handlers, which the play's list of names does not hold
  if (f.root !== null) a.taskFiles[from] = itemList({ ...c, file: f, dir: role.dir, handlerNames: undefined, includeDir: dirname(path), including: [path] }, f.root);
  for (const r of allRoleItems(a.taskFiles[from])) prepareAnsibleRole(c, r);
  return true;
}

function meta(c: ItemContext, node: YNode): PlayItem[] {
  const { file, errors } = c;
  const entry = file.entries(node).find((e) => e.key === 'meta' || e.key === 'ansible.builtin.meta')!;
  const action = file.scalar(entry.value);
  const extra = file.entries(node).filter((e) => !['meta', 'ansible.builtin.meta', 'name', 'tags'].includes(e.key));
  for (const e of extra) errors.push(file.error(e.keyNode, `\`${e.key}\` on \`meta\` is not supported`));
  if (action === 'flush_handlers') return [{ kind: 'block', name: 'flush_handlers', flush: true, block: [], rescue: [], always: [], tags: [], phase: c.phase, source: file.source(node) }];
  if (action === 'noop') return [];
  errors.push(file.error(entry.value ?? entry.keyNode, `\`meta: ${String(action)}\` is not supported`, 'only `meta: flush_handlers` (and noop) are'));
  return [];
}


/**
 * Parse an Ansible role's task and handler files (once), and those of its dependencies, with the
 * playbook's modules and roles. Problems are positioned in the role's files.
 */
export function prepareAnsibleRole(c: Pick<ItemContext, 'errors' | 'modules' | 'roles'>, name: string): void {
  const role = c.roles[name];
  const a = role?.ansible;
  if (!a || a.tasks) return;
  a.tasks = [];
  a.handlers = [];
  for (const dep of a.dependencies) {
    if (!c.roles[dep.role]) {
      const near = nearest(dep.role, Object.keys(c.roles));
      c.errors.push(new InputError(`unknown role \`${dep.role}\` (a dependency of \`${name}\`)`, { file: dep.source.file, line: dep.source.line, column: dep.source.column, ...(near ? { hint: `did you mean \`${near}\`?` } : {}) }));
    } else prepareAnsibleRole(c, dep.role);
  }
  const read = (path: string): YamlFile | undefined => {
    try {
      return YamlFile.parse(path, readFileSync(path, 'utf8'));
    } catch (e) {
      if (e instanceof InputError) c.errors.push(e, ...e.others);
      else throw e;
      return undefined;
    }
  };
  const base = { errors: c.errors, modules: c.modules, roles: c.roles, dir: role.dir };
  if (a.tasksFile) {
    const f = read(a.tasksFile);
    if (f && f.root !== null) a.tasks = itemList({ ...base, file: f, phase: 'main', includeDir: dirname(a.tasksFile), including: [a.tasksFile] }, f.root);
  }
  if (a.handlersFile) {
    const f = read(a.handlersFile);
    if (f && f.root !== null) {
      if (!f.isSeq(f.root)) c.errors.push(f.error(f.root, 'handlers/main.yml must be a list of handlers'));
      const ctx = { ...base, file: f, phase: 'main' as const, handler: true, includeDir: dirname(a.handlersFile) };
      a.handlers = f.items(f.root).flatMap((n) => parseTask(ctx, n) ?? []);
    }
  }
  for (const item of allRoleItems(a.tasks)) prepareAnsibleRole(c, item);
}

function allRoleItems(items: PlayItem[]): string[] {
  return items.flatMap((i) => (i.kind === 'role' ? [i.role] : i.kind === 'block' ? allRoleItems([...i.block, ...i.rescue, ...i.always]) : []));
}

/**
 * One task in Ansible's shape: `name`, keywords, and exactly one key naming the module with its
 * arguments. Arguments are checked against the module's schema now, except values that are still
 * templates, which the engine checks after rendering them per host.
 */
import type { SourcePos } from '../core/input-error.js';
import { canonicalArgs, type ModuleDef } from '../core/module.js';
import { looksLikeKeyValue, parseKeyValue } from '../ansible/kv-args.js';
import { decimalModeHint } from '../modules/common.js';
import { MODULE_NAMES } from '../modules/names.js';
import { nearest } from '../core/suggest.js';
import type { Vars } from '../inventory/vars.js';
import { describeNode, type YNode } from '../inventory/yaml-doc.js';
import { coerceArgs, validateAgainst } from './args.js';
import { bool, stringList, text, when, type FieldContext } from './fields.js';
import type { AnyRoleTask } from './role.js';
import { checkTemplate, isTemplate } from './template.js';
import type { ArgSource, LoopSpec, Phase, TaskSpec } from './types.js';

export interface TaskContext extends FieldContext {
  modules: Record<string, ModuleDef>;
  phase: Phase;
  handler?: boolean;
  /** handler names (and `listen` topics) notify may use; undefined when a role's are unknowable */
  handlerNames?: ReadonlySet<string>;
  /** where the file being parsed looks up templates/, files/ and included task files (a role's directory) */
  dir?: string;
}

export const LOOP_KEYS = ['loop', 'with_items', 'with_list', 'with_dict', 'with_sequence', 'with_subelements', 'with_indexed_items', 'with_together', 'with_nested'];
const KEYWORDS = ['name', 'tags', 'notify', 'when', 'become', 'no_log', 'args', 'vars', 'register', 'changed_when', 'failed_when', 'ignore_errors', 'check_mode', 'loop_control', ...LOOP_KEYS];
const HANDLER_KEYWORDS = [...KEYWORDS, 'listen'];

/** Ansible task keywords shipshape refuses, with why: silently ignoring them would change what runs. */
export const UNSUPPORTED: Record<string, string> = {
  delegate_to: 'each task runs on its own host',
  local_action: 'each task runs on its own host',
  run_once: 'each task runs on every selected host',
  become_user: 'become always means root; run the command as another user with `sudo -u USER` in `command`',
  become_method: 'become always means sudo',
  environment: 'pass environment to the command module',
  async: 'tasks run to completion one after another',
  poll: 'tasks run to completion one after another',
  until: 'retries are not supported; make the task wait itself (e.g. a command that polls)',
  retries: 'retries are not supported; make the task wait itself (e.g. a command that polls)',
  delay: 'retries are not supported',
  check_mode: 'put `check_mode: false` on each task that only reads (command/shell with `changed_when: false`, stat, debug, assert)',
  diff: 'diffs are shown for the whole run with --diff',
  any_errors_fatal: 'a failed host stops only itself',
  max_fail_percentage: 'a failed host stops only itself',
  throttle: 'use --forks',
  debugger: 'not supported',
  with_fileglob: 'list the files, or use a loop over a variable',
  with_lines: 'read the values into a variable with -e or vars_files',
  with_first_found: 'name the file to use',
  with_random_choice: 'choose the value in a variable',
};
/** Modules whose arguments may be one free-form string: the argument it becomes, and the options Ansible takes out of it. */
const FREE_FORM: Record<string, { arg: string; keys: string[] }> = {
  command: { arg: 'cmd', keys: ['chdir', 'creates', 'removes', 'stdin', 'stdin_add_newline', 'strip_empty_ends', 'executable', 'argv'] },
  shell: { arg: 'cmd', keys: ['chdir', 'creates', 'removes', 'stdin', 'stdin_add_newline', 'executable'] },
  raw: { arg: 'cmd', keys: ['executable'] },
};

/** `file`, or `ansible.builtin.file` / `ansible.legacy.file` for a module named `file` */
export function canonicalModule(key: string, modules: Record<string, ModuleDef>): string | undefined {
  if (Object.hasOwn(modules, key)) return key;
  const m = /^ansible\.(?:builtin|legacy)\.(.+)$/.exec(key);
  if (m && Object.hasOwn(modules, m[1])) return m[1];
  // another name of a module: systemd for service, a collection's FQCN (community.general.ufw)
  const other = MODULE_NAMES[m ? m[1] : key] ?? MODULE_NAMES[key];
  return other !== undefined && Object.hasOwn(modules, other) ? other : undefined;
}

export function parseTask(c: TaskContext, node: YNode): TaskSpec | undefined {
  const { file, errors } = c;
  const source = file.source(node);
  if (!file.isMap(node)) {
    errors.push(file.error(node, `a task is a mapping (\`- name: ...\` then a module), not ${describeNode(file, node)}`));
    return undefined;
  }
  const keywords = c.handler ? HANDLER_KEYWORDS : KEYWORDS;
  const moduleNames = Object.keys(c.modules);
  const found: { module: string; key: string; keyNode: YNode; value: YNode | null }[] = [];
  const unknown: { key: string; keyNode: YNode; value: YNode | null }[] = [];
  const kw = new Map<string, YNode | null>();
  for (const e of file.entries(node)) {
    if (keywords.includes(e.key)) kw.set(e.key, e.value);
    else if (e.key in UNSUPPORTED) errors.push(file.error(e.keyNode, `\`${e.key}\` is not supported`, UNSUPPORTED[e.key]));
    else if (/^with_/.test(e.key)) errors.push(file.error(e.keyNode, `\`${e.key}\` is not supported`, 'use `loop:` over a list (or with_items, with_dict, with_sequence, with_subelements)'));
    else {
      const module = canonicalModule(e.key, c.modules);
      if (module) found.push({ module, ...e });
      else unknown.push(e);
    }
  }
  if (found.length > 1) {
    errors.push(file.error(found[1].keyNode, `a task runs one module, but this one names \`${found[0].key}\` and \`${found[1].key}\``, 'split it into two tasks'));
  }
  for (const u of unknown) {
    const nearKey = nearest(u.key, keywords);
    const nearModule = nearest(u.key, moduleNames);
    const looksLikeModule = found.length === 0 && (!nearKey || (nearModule && u.value !== null && file.isMap(u.value)));
    if (looksLikeModule) errors.push(file.error(u.keyNode, `unknown module \`${u.key}\``, nearModule ? `did you mean \`${nearModule}\`?` : undefined));
    else errors.push(file.error(u.keyNode, `unknown key \`${u.key}\` in task`, nearKey || nearModule ? `did you mean \`${nearKey ?? nearModule}\`?` : undefined));
  }
  if (found.length === 0) {
    if (unknown.length === 0) errors.push(file.error(node, 'this task names no module', `add one module key, e.g. \`${moduleNames[0] ?? 'command'}:\``));
    return undefined;
  }
  const { module, key, keyNode, value } = found[0];
  const args = moduleArgs(c, module, key, keyNode, value, kw.get('args') ?? null);
  if (!args) return undefined;

  const result = validateAgainst(c.modules[module].schema, args.values, { module, notYet: c.modules[module].notYet, at: file.source(keyNode), argSources: args.sources, frame: frameOf(c), skipTemplated: true });
  if (!result.ok) errors.push(...result.errors);

  const name = kw.has('name') ? text(c, 'name', kw.get('name')!) : undefined;
  const task: TaskSpec = {
    kind: 'task',
    name: name ?? defaultName(module, args.values),
    module,
    args: args.values,
    tags: stringList(c, 'tags', kw.get('tags') ?? null),
    notify: notifyList(c, kw.get('notify') ?? null),
    no_log: kw.has('no_log') ? (bool(c, 'no_log', kw.get('no_log')!) ?? false) : false,
    phase: c.phase,
    source,
    argSources: args.sources,
  };
  if (kw.has('when')) {
    const w = when(c, kw.get('when')!);
    if (w !== undefined) task.when = w;
  }
  if (kw.has('become')) {
    const b = bool(c, 'become', kw.get('become')!);
    if (b !== undefined) task.become = b;
  }
  if (kw.has('listen')) task.listen = stringList(c, 'listen', kw.get('listen')!, false);
  if (c.dir) task.dir = c.dir;
  readControlKeywords(c, kw, task);
  if (kw.has('check_mode')) checkMode(c, kw.get('check_mode')!, task);
  return task;
}

/** Modules that never change a host: `check_mode` does not change what they do. */
const READ_ONLY = ['stat', 'debug', 'assert', 'set_fact'];
/** Modules that run what the author wrote: they may run during check only on the author's word that they only read. */
const RUNS_COMMANDS = ['command', 'shell', 'raw'];

/**
 * Ansible's `check_mode` on a task. `false` runs the task for real during check: shipshape's check
 * never changes a host, so that is accepted only where it cannot: read-only modules (no difference),
 * and a command whose author declared it read-only with `changed_when: false` (it runs in check, as in
 * Ansible, so what later tasks decide from its output is predicted from its real output).
 * `true` (always only predict) is accepted on read-only modules; anything else is refused with why.
 */
function checkMode(c: TaskContext, node: YNode, task: TaskSpec): void {
  const { file, errors } = c;
  const v = bool(c, 'check_mode', node);
  if (v === undefined) return;
  if (READ_ONLY.includes(task.module)) return;
  if (v === true) {
    errors.push(file.error(node, `\`check_mode: true\` on \`${task.module}\` is not supported`, 'run the whole playbook with `shipshape check` to see what it would change'));
    return;
  }
  const declaredReadOnly = task.changedWhen === false || (typeof task.changedWhen === 'string' && /^\s*false\s*$/i.test(task.changedWhen));
  if (RUNS_COMMANDS.includes(task.module) && declaredReadOnly) {
    task.runInCheck = true;
    return;
  }
  errors.push(
    file.error(
      node,
      `\`check_mode: false\` on \`${task.module}\` is not supported: shipshape's check never changes a host`,
      RUNS_COMMANDS.includes(task.module)
        ? 'add `changed_when: false` if the command only reads (it then runs in check too, as in Ansible), or remove check_mode'
        : 'remove check_mode: check predicts this task like every other',
    ),
  );
}

/** Notified names must be handlers of the play: a typo would otherwise silently never restart anything. */
function notifyList(c: TaskContext, node: YNode | null): string[] {
  const names = stringList(c, 'notify', node, false);
  if (!c.handlerNames || node === null) return names;
  const nodes = c.file.isSeq(node) ? c.file.items(node) : [node];
  names.forEach((n, i) => {
    if (c.handlerNames!.has(n)) return;
    const near = nearest(n, c.handlerNames!);
    c.errors.push(c.file.error(nodes[i] ?? node, `no handler named \`${n}\` in this play`, near ? `did you mean \`${near}\`?` : undefined));
  });
  return names;
}

function frameOf(c: TaskContext): (line: number) => string | undefined {
  return (line) => c.file.lineText(line);
}

interface Args {
  values: Record<string, unknown>;
  sources: Record<string, ArgSource>;
}

function moduleArgs(c: TaskContext, module: string, key: string, keyNode: YNode, value: YNode | null, extra: YNode | null): Args | undefined {
  const { file, errors } = c;
  const sources: Record<string, ArgSource> = { '': { key: file.source(keyNode), value: file.source(value ?? keyNode) } };
  let values: Record<string, unknown> = {};
  const scalar = file.scalar(value);
  const free = FREE_FORM[module];
  if (value !== null && file.isMap(value)) {
    values = file.js(value) as Record<string, unknown>;
    recordSources(c, value, '', sources);
  } else if (typeof scalar === 'string' && (free || looksLikeKeyValue(scalar))) {
    // Ansible's one-line form: `apt: name=nginx state=present`, `command: chdir=/srv make`
    const kv = parseKeyValue(scalar, free?.keys);
    const at = { value: file.source(value), raw: file.raw(value) };
    if (kv.stray.length) {
      errors.push(file.error(value, `\`${kv.stray[0]}\` is not a \`key=value\` argument of \`${key}\``, 'write every argument as key=value, or one `argument: value` per line under the module'));
      return undefined;
    }
    values = { ...kv.args };
    for (const k of Object.keys(kv.args)) sources[k] = at;
    if (free && kv.free) {
      values[free.arg] = kv.free;
      sources[free.arg] = at;
    }
  } else if (value !== null && scalar !== null) {
    errors.push(file.error(value, `the arguments of \`${key}\` must be a mapping, not ${describeNode(file, value)}`, 'one `argument: value` per line under the module, or `key=value` words'));
    return undefined;
  }
  if (extra !== null) {
    if (!file.isMap(extra)) {
      errors.push(file.error(extra, `\`args\` must be a mapping, not ${describeNode(file, extra)}`));
    } else {
      values = { ...values, ...(file.js(extra) as Record<string, unknown>) };
      recordSources(c, extra, '', sources);
    }
  }
  const canon = canonicalArgs(c.modules[module], values);
  for (const { alias, name } of canon.clashes) {
    const at = sources[alias]?.key ?? sources[alias]?.value ?? file.pos(keyNode);
    errors.push(file.errorAt(at, `\`${alias}\` is another name for \`${name}\` in \`${module}\`: give only one of them`));
  }
  for (const [alias, name] of canon.renamed) {
    for (const [path, src] of Object.entries(sources)) {
      if (path === alias || path.startsWith(`${alias}.`)) sources[name + path.slice(alias.length)] = src;
    }
  }
  for (const [path, src] of Object.entries(sources)) {
    const hint = /(^|\.)mode$/.test(path) ? decimalModeHint(src.raw) : undefined;
    if (hint) errors.push(file.errorAt(src.value, '`mode` written as a decimal number', hint));
  }
  return { values: coerceArgs(c.modules[module].schema, canon.values), sources };
}

/** Positions of every key and value under `node`, and a syntax check of every template string. */
export function recordSources(c: FieldContext, node: YNode, prefix: string, out: Record<string, ArgSource>): void {
  const { file } = c;
  const visit = (path: string, keyNode: YNode | undefined, v: YNode | null) => {
    const at = v ?? keyNode!;
    out[path] = { ...(keyNode ? { key: file.source(keyNode) } : {}), value: file.source(at), ...(v ? { raw: file.raw(v) } : {}) };
    const s = file.scalar(v);
    if (typeof s === 'string' && isTemplate(s)) {
      const bad = checkTemplate(s);
      if (bad) c.errors.push(file.error(v, bad));
    }
    if (v && file.isMap(v)) for (const e of file.entries(v)) visit(`${path}.${e.key}`, e.keyNode, e.value);
    if (v && file.isSeq(v)) file.items(v).forEach((item, i) => visit(`${path}.${i}`, undefined, item));
  };
  for (const e of file.entries(node)) visit(prefix ? `${prefix}.${e.key}` : e.key, e.keyNode, e.value);
}

/** A task without a name is shown as its module and main argument, e.g. `file /srv/app`. */
function defaultName(module: string, args: Record<string, unknown>): string {
  const main = ['name', 'path', 'dest', 'cmd', 'src'].map((k) => args[k]).find((v) => typeof v === 'string' || Array.isArray(v));
  const shown = Array.isArray(main) ? main.join(', ') : (main as string | undefined);
  return shown ? `${module} ${shown.length > 60 ? shown.slice(0, 57) + '...' : shown}` : module;
}

/** For the engine: a role's task as a TaskSpec, positioned at the role entry that brought it in. */
export function taskFromRoleTask(rt: AnyRoleTask, role: string, roleVars: Vars, at: SourcePos, modules: Record<string, ModuleDef>, phase: Phase = 'main'): TaskSpec {
  const module = canonicalModule(rt.module, modules);
  if (!module) {
    const near = nearest(rt.module, Object.keys(modules));
    throw new Error(`role ${role}: task "${rt.name}" uses unknown module ${rt.module}${near ? ` (did you mean ${near}?)` : ''}`);
  }
  return {
    kind: 'task',
    name: rt.name,
    module,
    args: canonicalArgs(modules[module], rt.args).values,
    tags: rt.tags ?? [],
    notify: rt.notify ?? [],
    ...(rt.when === undefined ? {} : { when: rt.when }),
    ...(rt.become === undefined ? {} : { become: rt.become }),
    no_log: rt.no_log ?? false,
    role,
    roleVars,
    phase,
    source: at,
    argSources: {},
  };
}

/** register, changed_when, failed_when, ignore_errors, task vars, and the loop keywords. */
function readControlKeywords(c: TaskContext, kw: Map<string, YNode | null>, task: TaskSpec): void {
  const { file, errors } = c;
  if (kw.has('register')) {
    const r = text(c, 'register', kw.get('register')!);
    if (r !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(r)) errors.push(file.error(kw.get('register')!, `\`register\` must be a variable name, not \`${r}\``));
    else if (r !== undefined) task.register = r;
  }
  for (const [key, field] of [['changed_when', 'changedWhen'], ['failed_when', 'failedWhen']] as const) {
    if (!kw.has(key)) continue;
    const w = when(c, kw.get(key)!, key);
    if (w !== undefined) task[field] = w;
  }
  if (kw.has('ignore_errors')) task.ignoreErrors = bool(c, 'ignore_errors', kw.get('ignore_errors')!) ?? false;
  if (kw.has('vars')) {
    const v = kw.get('vars')!;
    if (v !== null && file.isMap(v)) task.vars = file.js(v) as Vars;
    else if (v !== null) errors.push(file.error(v, `task \`vars\` must be a mapping, not ${describeNode(file, v)}`));
  }
  const loop = readLoop(c, kw);
  if (loop) task.loop = loop;
}

/** `loop:` / `with_*:` and `loop_control` of a task or of an include (Ansible loops both the same way). */
export function readLoop(c: FieldContext, kw: Map<string, YNode | null>): LoopSpec | undefined {
  const { file, errors } = c;
  const loops = [...kw.keys()].filter((k) => LOOP_KEYS.includes(k));
  if (loops.length > 1) errors.push(file.error(kw.get(loops[1]) ?? null, `a task has one loop, but this one has \`${loops[0]}\` and \`${loops[1]}\``));
  const control = kw.get('loop_control') ?? null;
  if (loops.length === 0) {
    if (control !== null) errors.push(file.error(control, '`loop_control` without a loop'));
    return undefined;
  }
  const node = kw.get(loops[0]) ?? null;
  if (['with_together', 'with_nested'].includes(loops[0])) {
    errors.push(file.error(node, `\`${loops[0]}\` is not supported`, 'build the list of items in a variable and use `loop:`'));
    return undefined;
  }
  const loop: LoopSpec = { kind: loops[0], value: node === null ? null : file.js(node), loopVar: 'item', source: file.source(node) };
  if (typeof loop.value === 'string' && isTemplate(loop.value)) {
    const bad = checkTemplate(loop.value);
    if (bad) errors.push(file.error(node, bad));
  }
  for (const e of file.entries(control)) {
    if (e.key === 'loop_var' || e.key === 'index_var') {
      const v = text(c, e.key, e.value);
      if (v !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) errors.push(file.error(e.value, `\`${e.key}\` must be a variable name`));
      else if (v !== undefined) loop[e.key === 'loop_var' ? 'loopVar' : 'indexVar'] = v;
    } else if (e.key === 'label') {
      const v = text(c, 'label', e.value);
      if (v !== undefined) loop.label = v;
    } else if (e.key === 'pause' || e.key === 'extended') {
      errors.push(file.error(e.keyNode, `\`loop_control.${e.key}\` is not supported`, e.key === 'pause' ? 'items run one after another without a pause' : 'use `index_var` for the position'));
    } else {
      const near = nearest(e.key, ['loop_var', 'index_var', 'label']);
      errors.push(file.error(e.keyNode, `unknown key \`${e.key}\` in loop_control`, near ? `did you mean \`${near}\`?` : undefined));
    }
  }
  return loop;
}

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { isFactName } from '../ansible/facts.js';
import { loopItems } from '../ansible/loops.js';
import { InputError, type SourcePos } from '../core/input-error.js';
import type { ModuleDef, PrepareContext } from '../core/module.js';
import { addSchemaSecrets } from '../core/redact.js';
import { nearest } from '../core/suggest.js';
import { magicVars, mergeVars, type Inventory, type VarOrigin, type Vars } from '../inventory/index.js';
import { coerceArgs, parseModuleArgs, validateAgainst } from '../playbook/args.js';
import type { AnyRoleTask, RoleDef } from '../playbook/role.js';
import { roleTaskSource } from '../playbook/role-source.js';
import { taskFromRoleTask } from '../playbook/task.js';
import { evalWhen, evaluateExpression, hasTemplate, renderString, renderValue, TemplateError } from '../playbook/template.js';
import type { BlockItem, Play, PlayItem, Playbook, RoleItem, TaskSpec } from '../playbook/types.js';
import { flushHandlers } from '../ansible/control-modules.js';
import type { BlockRef, DeferredTask, PlayInstance, TaskInstance } from './types.js';

export interface ExpandOptions {
  playbook: Playbook;
  inventory: Inventory;
  roles: Record<string, RoleDef>;
  modules: Record<string, ModuleDef>;
  extraVars: Vars;
  tags: string[];
  skipTags: string[];
}

/** A task before tag filtering, with the tags it inherited. */
interface Resolved extends TaskInstance {
  spec?: TaskSpec;
}

/** What a task inherits from the play, its role and its enclosing blocks. */
interface Scope {
  /** the variables below the roles' exposed vars/: the role's own defaults, inventory, play vars */
  low: Vars;
  /** the variables above them and below set_fact: the role's own vars/, block vars */
  local: Vars;
  /** role params: above set_fact, below -e */
  high: Vars;
  tags: string[];
  become?: boolean;
  dir: string;
  role?: string;
  modules: Record<string, ModuleDef>;
  /** conditions of enclosing blocks or roles that only the host can decide */
  conditions: (string | boolean)[];
  blocks: BlockRef[];
  ignoreErrors?: boolean;
}

/**
 * Everything about a run that can be decided without a host: roles expanded with each host's
 * variables, loops unrolled, includes and blocks flattened, templates rendered, arguments validated,
 * `when` evaluated, tags applied. Any mistake is an InputError here, before a single connection is
 * made. Only what depends on the host itself (gathered facts, registered results) is left to the
 * runner, as a DeferredTask whose syntax and names were checked here.
 */
export function expandForHost(o: ExpandOptions, play: Play, host: string): PlayInstance {
  return new Expander(o, play, host).run();
}

class Expander {
  private tasks: Resolved[] = [];
  private handlers: Resolved[] = [];
  /** set_fact values known before connecting */
  private facts: Vars = {};
  /** registered results and facts set from them: known only on the host */
  private runtime = new Set<string>();
  private usesFacts = false;
  private blockSeq = 0;
  private loopSeq = 0;
  private rolesDone = new Set<string>();
  private handlersOf = new Set<string>();
  /**
   * Ansible role folders' defaults/ and vars/ visible to the whole play (Ansible's `private_role_vars: false`):
   * roles listed under `roles:` and import_role from the start (Ansible reads them when it parses the play),
   * include_role with `public: true` from the task after it. Defaults below the inventory, vars above play vars.
   */
  private exposed = { defaults: {} as Vars, vars: {} as Vars };
  private readonly top: Vars;
  private readonly base: Vars;
  private readonly inv;

  constructor(
    private o: ExpandOptions,
    private play: Play,
    host: string,
  ) {
    this.inv = o.inventory.hosts.get(host)!;
    this.base = mergeVars(this.inv.vars, play.vars);
    // Ansible's playbook_dir, beside the magic variables: where lookup('file'|'template') look
    this.top = mergeVars(o.extraVars, magicVars(o.inventory, host), { playbook_dir: dirname(o.playbook.path) });
  }

  run(): PlayInstance {
    for (const r of staticRoles(this.play.items)) this.expose(r);
    const root: Scope = { low: this.base, local: {}, high: {}, tags: this.play.tags, dir: dirname(this.o.playbook.path), modules: this.o.modules, conditions: [], blocks: [] };
    this.items(this.play.items, root, this.tasks);
    for (const h of this.play.handlers) this.task(h, { ...root, tags: [] }, this.handlers);

    const handlerNames = new Set(this.handlers.flatMap((h) => [h.name, ...(h.listen ?? [])]));
    for (const t of this.tasks) {
      for (const n of t.notify) {
        if (!handlerNames.has(n)) {
          const near = nearest(n, [...handlerNames]);
          throw positioned(t.spec?.source ?? this.play.source, `task "${t.name}" notifies "${n}", which is not a handler of this play`, near ? `did you mean "${near}"?` : undefined);
        }
      }
    }
    if (this.usesFacts && this.play.gatherFacts === false) {
      const t = this.tasks.find((x) => x.deferred && mentions(x.deferred.spec, isFactName));
      throw positioned(t?.spec?.source ?? this.play.source, `task "${t?.name ?? '?'}" uses gathered facts (ansible_*), but this play has \`gather_facts: false\``, 'remove `gather_facts: false` (facts cost nothing extra: they are read with the first probes)');
    }
    return {
      name: this.play.name,
      become: this.become(undefined),
      ...(this.usesFacts ? { facts: true } : {}),
      tasks: this.tasks.filter((t) => t.flush || selected(t.tags, this.o.tags, this.o.skipTags)),
      handlers: this.handlers,
    };
  }

  private become(b: boolean | undefined): boolean {
    return b ?? this.play.become ?? this.inv.become ?? false;
  }

  private vars(scope: Scope, own?: Vars): Vars {
    return mergeVars(this.exposed.defaults, scope.low, this.exposed.vars, scope.local, own, this.facts, scope.high, this.top);
  }

  /** An Ansible role's defaults and vars (its dependencies' first) join the play's variables; later roles win. */
  private expose(name: string, seen = new Set<string>()): void {
    const a = this.o.roles[name]?.ansible;
    if (!a || seen.has(name)) return;
    seen.add(name);
    for (const d of a.dependencies) this.expose(d.role, seen);
    this.exposed = { defaults: mergeVars(this.exposed.defaults, a.defaults), vars: mergeVars(this.exposed.vars, a.vars) };
  }

  private items(list: PlayItem[], scope: Scope, into: Resolved[]): void {
    for (const item of list) {
      if (item.kind === 'task') this.task(item, scope, into);
      else if (item.kind === 'block') this.block(item, scope, into);
      else this.role(item, scope, into);
    }
  }

  /** Names only the host can tell: registered results, facts set from them, gathered facts. */
  private isRuntime(value: unknown, vars: Vars): boolean {
    let found = false;
    const visit = (v: unknown, isExpr: boolean) => {
      if (found) return;
      if (typeof v === 'string') {
        if (!isExpr && !hasTemplate(v)) return;
        for (const name of v.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []) {
          if (this.runtime.has(name) || (isFactName(name) && !(name in vars))) {
            if (isFactName(name)) this.usesFacts = true;
            found = true;
          }
        }
      } else if (Array.isArray(v)) v.forEach((x) => visit(x, false));
      else if (v && typeof v === 'object') Object.values(v).forEach((x) => visit(x, false));
    };
    if (typeof value === 'string') visit(value, true);
    else visit(value, false);
    return found;
  }

  private task(spec: TaskSpec, scope: Scope, into: Resolved[]): void {
    const vars = this.vars(scope, spec.vars);
    const conditions = [...scope.conditions];
    const module = scope.modules[spec.module];
    const tags = [...scope.tags, ...spec.tags];
    const become = this.become(spec.become ?? scope.become);
    const dir = spec.dir ?? scope.dir;
    const common: Omit<Resolved, 'name' | 'args'> = {
      spec,
      module,
      ...(scope.role ? { role: scope.role } : {}),
      tags: [...new Set(tags)],
      notify: spec.notify,
      ...(spec.listen ? { listen: spec.listen } : {}),
      become,
      noLog: spec.no_log,
      ...(spec.register ? { register: spec.register } : {}),
      ...(spec.changedWhen !== undefined ? { changedWhen: spec.changedWhen } : {}),
      ...(spec.failedWhen !== undefined ? { failedWhen: spec.failedWhen } : {}),
      ...((spec.ignoreErrors ?? scope.ignoreErrors) ? { ignoreErrors: true } : {}),
      ...(spec.runInCheck ? { runInCheck: true } : {}),
      ...(scope.blocks.length ? { blocks: scope.blocks } : {}),
      phase: spec.phase,
    };
    // decided after the task ran, on the host: only the facts they use must be gathered
    for (const w of [spec.changedWhen, spec.failedWhen]) if (typeof w === 'string') this.isRuntime(w, vars);
    const whenRuntime = spec.when !== undefined && this.isRuntime(spec.when, vars);
    const runtime = conditions.length > 0 || whenRuntime || this.isRuntime(spec.args, vars) || (spec.loop !== undefined && this.isRuntime(spec.loop.value, vars));
    // changed_when/failed_when are decided after the task ran; their names are checked then
    const remember = () => {
      if (spec.register) this.runtime.add(spec.register);
    };
    const defer = () => {
      if (spec.when !== undefined) conditions.push(spec.when);
      const deferred: DeferredTask = { spec, vars, conditions, dir, modules: scope.modules };
      into.push({ ...common, name: spec.name, args: undefined, vars, deferred });
      remember();
      if (spec.module === 'set_fact') for (const k of Object.keys(spec.args)) this.runtime.add(k);
    };
    if (runtime) return defer();
    let resolved: TaskInstance[];
    try {
      resolved = finishTask(spec, vars, conditions, dir, scope.modules, common, () => ++this.loopSeq);
    } catch (err) {
      // a name only the host can give, found while rendering (a template file using facts): decided on the host
      const name = err instanceof InputError ? /^undefined variable `([A-Za-z_][A-Za-z0-9_]*)`/.exec(err.message)?.[1] : undefined;
      if (!name || !(isFactName(name) || this.runtime.has(name))) throw err;
      if (isFactName(name)) this.usesFacts = true;
      return defer();
    }
    for (const r of resolved) {
      into.push(r);
      if (r.setFact && !r.skipped) Object.assign(this.facts, r.setFact);
    }
    remember();
  }

  /**
   * A loop on include_tasks / include_role: the included tasks once per item, the item (and index)
   * visible to them as in Ansible. The list must be known before connecting: what a task reads from
   * the host cannot decide which tasks exist.
   */
  private eachItem(item: BlockItem | RoleItem, scope: Scope, body: (scope: Scope) => void): void {
    const loop = item.loop;
    if (!loop) return body(scope);
    const vars = this.vars(scope);
    if (this.isRuntime(loop.value, vars)) {
      throw positioned(loop.source, `the loop of this include uses a value only the host can give (a registered result or a gathered fact)`, 'every task is decided before connecting: loop over a variable known beforehand, or put the loop on the tasks inside');
    }
    let list: unknown[];
    try {
      list = loopItems(loop.kind, renderValue(loop.value, vars));
    } catch (err) {
      throw templateError(err, loop.source);
    }
    list.forEach((value, index) => body({ ...scope, high: mergeVars(scope.high, { [loop.loopVar]: value }, loop.indexVar ? { [loop.indexVar]: index } : undefined) }));
  }

  private block(item: BlockItem, scope: Scope, into: Resolved[]): void {
    if (item.loop) return this.eachItem(item, scope, (s) => this.block({ ...item, loop: undefined }, s, into));
    if (item.flush) {
      into.push({ name: 'meta: flush_handlers', module: flushHandlers, args: {}, tags: [], notify: [], become: false, noLog: false, flush: true, phase: item.phase });
      return;
    }
    const local = mergeVars(scope.local, item.vars);
    const inner: Scope = { ...scope, local, tags: [...scope.tags, ...item.tags], become: item.become ?? scope.become, ...(item.ignoreErrors ? { ignoreErrors: true } : {}) };
    if (item.when !== undefined) {
      const vars = this.vars(inner);
      if (this.isRuntime(item.when, vars)) inner.conditions = [...scope.conditions, item.when];
      else if (!when(item.when, vars, item.source)) return;
    }
    if (item.rescue.length === 0 && item.always.length === 0) {
      this.items(item.block, inner, into);
      return;
    }
    const id = ++this.blockSeq;
    const hasRescue = item.rescue.length > 0;
    this.items(item.block, { ...inner, blocks: [...scope.blocks, { id, part: 'body', hasRescue }] }, into);
    this.items(item.rescue, { ...inner, blocks: [...scope.blocks, { id, part: 'rescue', hasRescue }] }, into);
    this.items(item.always, { ...inner, blocks: [...scope.blocks, { id, part: 'always', hasRescue }] }, into);
  }

  private role(item: RoleItem, scope: Scope, into: Resolved[]): void {
    if (item.loop) return this.eachItem(item, scope, (s) => this.role({ ...item, loop: undefined }, s, into));
    const role = this.o.roles[item.role];
    // a role listed twice (or a dependency of two roles) runs once, as in Ansible; include_role runs each time
    const key = `${item.role} ${JSON.stringify(item.params)}`;
    if (!item.included) {
      if (this.rolesDone.has(key)) return;
      this.rolesDone.add(key);
    }
    const modules = role.modules ? { ...scope.modules, ...role.modules } : scope.modules;
    const inner: Scope = { ...scope, tags: [...scope.tags, item.role, ...item.tags], become: item.become ?? scope.become, role: role.name, dir: role.dir ?? scope.dir, modules };
    if (role.ansible) {
      const a = role.ansible;
      for (const dep of a.dependencies) this.role({ kind: 'role', role: dep.role, params: dep.params, tags: [], phase: item.phase, source: dep.source }, scope, into);
      // the role's own defaults and vars win over other roles' exposed ones, inside it
      inner.low = mergeVars(a.defaults, scope.low);
      inner.local = mergeVars(scope.local, a.vars);
      inner.high = mergeVars(scope.high, item.params);
      if (item.when !== undefined) {
        const vars = this.vars(inner);
        if (this.isRuntime(item.when, vars)) inner.conditions = [...scope.conditions, item.when];
        else if (!when(item.when, vars, item.source)) return;
      }
      this.items((item.tasksFrom ? a.taskFiles?.[item.tasksFrom] : a.tasks) ?? [], inner, into);
      // include_role `public: true`: the tasks after it see the role's variables (unless only the host decides it runs)
      if (item.public && inner.conditions.length === 0) this.expose(item.role);
      // a role included again (include_role in a loop, or twice) has its handlers once, as Ansible notifies a name once
      if (!this.handlersOf.has(role.name)) {
        this.handlersOf.add(role.name);
        for (const h of a.handlers ?? []) this.task(h, { ...inner, tags: [] }, this.handlers);
      }
      return;
    }
    const given = mergeVars(this.exposed.defaults, scope.low, this.exposed.vars, scope.local, this.facts, scope.high, item.params, this.top);
    // a value that is still the inventory's was written in hosts.yml, group_vars or host_vars: report it there
    const origin = (k: string) => (Object.hasOwn(this.inv.vars, k) && given[k] === this.inv.vars[k] ? this.inv.varOrigins?.[k] : undefined);
    const vars = roleVars(role, item, given, origin);
    if (!when(item.when, vars, item.source)) return;
    const fromRole = (list: AnyRoleTask[], into: Resolved[]) => {
      for (const rt of list) {
        if (!when(rt.when, vars, item.source)) continue;
        // a mistake in a task's arguments is the role's: say where in the role's file the task is
        const spec = taskFromRoleTask(rt, role.name, vars, roleTaskSource(role.file, rt.name) ?? item.source, modules, item.phase);
        const tags = [...inner.tags, ...spec.tags];
        into.push(resolveTask(spec, modules[spec.module], vars, tags, this.become(rt.become ?? inner.become), inner.dir, false));
      }
    };
    fromRole(safely(() => role.tasks(vars) as AnyRoleTask[], item), into);
    fromRole(safely(() => (role.handlers?.(vars) ?? []) as AnyRoleTask[], item), this.handlers);
  }
}

/** Roles whose variables Ansible exposes when it parses the play: `roles:` entries and import_role, in play order. */
function staticRoles(items: PlayItem[]): string[] {
  return items.flatMap((i) => (i.kind === 'role' ? (!i.included || i.imported ? [i.role] : []) : i.kind === 'block' ? staticRoles([...i.block, ...i.rescue, ...i.always]) : []));
}

/** Whether a task's when, loop or arguments name something `is` matches. */
function mentions(spec: TaskSpec, is: (name: string) => boolean): boolean {
  const text = JSON.stringify([spec.when, spec.loop?.value, spec.args]);
  return (text.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []).some(is);
}

/**
 * A task's instances once every value it uses is known: its conditions, its loop unrolled (each
 * item with its own `when`), arguments rendered and validated. Used at expansion, and by the runner
 * for deferred tasks with the host's values added. Throws InputError.
 */
export function finishTask(
  spec: TaskSpec,
  vars: Vars,
  conditions: (string | boolean)[],
  dir: string,
  modules: Record<string, ModuleDef>,
  common: Omit<TaskInstance, 'name' | 'args'>,
  nextLoopId: () => number,
): TaskInstance[] {
  const module = modules[spec.module];
  const skipped = (name: string, why: string, extra: Partial<TaskInstance> = {}): TaskInstance[] => (spec.register ? [{ ...common, name, args: undefined, skipped: why, ...extra }] : []);
  for (const c of conditions) if (!when(c, vars, spec.source)) return skipped(spec.name, `condition is false: ${String(c)}`);
  if (!spec.loop) {
    if (spec.when !== undefined && !when(spec.when, vars, spec.source)) return skipped(spec.name, `condition is false: ${String(spec.when)}`);
    const r = resolveTask(spec, module, vars, common.tags, common.become, dir);
    return [{ ...common, ...r, vars, ...(spec.module === 'set_fact' ? { setFact: r.args as Vars } : {}) }];
  }
  const loop = spec.loop;
  let items: unknown[];
  try {
    items = loopItems(loop.kind, renderValue(loop.value, vars));
  } catch (err) {
    throw templateError(err, loop.source);
  }
  const id = nextLoopId();
  const out: TaskInstance[] = [];
  items.forEach((item, index) => {
    const ivars = { ...vars, [loop.loopVar]: item, ...(loop.indexVar ? { [loop.indexVar]: index } : {}) };
    const label = loop.label !== undefined ? renderString(loop.label, ivars) : typeof item === 'string' || typeof item === 'number' ? String(item) : JSON.stringify(item);
    const name = `${spec.name} (${label.length > 60 ? label.slice(0, 57) + '...' : label})`;
    const iteration = { loop: { id, index, count: items.length, item } };
    if (spec.when !== undefined && !when(spec.when, ivars, spec.source)) {
      out.push(...skipped(name, `condition is false: ${String(spec.when)}`, iteration));
      return;
    }
    const r = resolveTask(spec, module, ivars, common.tags, common.become, dir);
    out.push({ ...common, ...r, name, vars: ivars, ...iteration, ...(spec.module === 'set_fact' ? { setFact: r.args as Vars } : {}) });
  });
  return out;
}

function resolveTask(spec: TaskSpec, module: ModuleDef, vars: Vars, tags: string[], become: boolean, dir: string, render = true): Resolved {
  let args: unknown = spec.args;
  if (render) {
    try {
      args = renderValue(spec.args, vars);
    } catch (err) {
      throw templateError(err, spec.source);
    }
  }
  if (args && typeof args === 'object' && !Array.isArray(args)) args = coerceArgs(module.schema, args as Record<string, unknown>);
  let parsed = parseModuleArgs(module, args, { module: spec.module, at: spec.source, argSources: spec.argSources });
  if (module.prepare) {
    const ctx: PrepareContext = {
      readLocal: (path, kind) => readLocal(path, kind, dir, spec.source),
      render: (text) => {
        try {
          return renderString(text, vars);
        } catch (err) {
          throw templateError(err, spec.source);
        }
      },
      evaluate: (expr) => {
        try {
          return evaluateExpression(expr, vars);
        } catch (err) {
          throw templateError(err, spec.source);
        }
      },
    };
    parsed = module.prepare(parsed, ctx);
  }
  return {
    spec,
    name: spec.name,
    ...(spec.role ? { role: spec.role } : {}),
    module,
    args: parsed,
    tags: [...new Set(tags)],
    notify: spec.notify,
    ...(spec.listen ? { listen: spec.listen } : {}),
    become,
    noLog: spec.no_log,
  };
}

function roleVars(role: RoleDef, item: RoleItem, given: Vars, origin: (k: string) => VarOrigin | undefined): Vars {
  const merged = renderRoleVars(role, given, item.source, origin);
  const r = validateAgainst(role.vars, merged, { module: role.name, at: item.source, noun: 'variable', subject: `role \`${role.name}\``, origin });
  if (!r.ok) throw InputError.combine(r.errors)!;
  // role variables marked secret() in the schema are masked in every output from here on
  addSchemaSecrets(role.vars, r.value as Vars);
  // the role sees its own validated variables (defaults applied) and every other variable too
  return { ...merged, ...(r.value as Vars) };
}

/**
 * A role's own variables are rendered before they are checked, as Ansible renders a variable where it
 * is used: `domain: "{{ inventory_hostname }}.example.com"` is a domain by the time the role sees it.
 */
function renderRoleVars(role: RoleDef, merged: Vars, at: SourcePos, origin: (k: string) => VarOrigin | undefined): Vars {
  const shape = (role.vars as { shape?: Record<string, unknown> }).shape;
  if (!shape) return merged;
  const out = { ...merged };
  for (const k of Object.keys(shape)) {
    if (!Object.hasOwn(merged, k) || !hasTemplate(merged[k])) continue;
    try {
      out[k] = renderValue(merged[k], merged);
    } catch (err) {
      const where = origin(k);
      if (where && !(err instanceof InputError)) throw where((err as Error).message, err instanceof TemplateError ? err.hint : undefined);
      throw templateError(err, at);
    }
  }
  return out;
}

function when(expr: string | boolean | undefined, vars: Vars, at: SourcePos): boolean {
  try {
    return evalWhen(expr, vars);
  } catch (err) {
    throw templateError(err, at);
  }
}

function safely<T>(fn: () => T, item: RoleItem): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw positioned(item.source, `role ${item.role}: ${(err as Error).message}`);
  }
}

/** Ansible's lookup order for a task's local file: the role's (or playbook's) templates/ or files/, then the directory itself. */
function readLocal(path: string, kind: 'templates' | 'files', dir: string, at: SourcePos): string {
  const candidates = isAbsolute(path) ? [path] : [join(dir, kind, path), join(dir, path)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw positioned(at, `${path} not found`, `looked in ${candidates.join(', ')}`);
  return readFileSync(found, 'utf8');
}

function selected(tags: string[], only: string[], skip: string[]): boolean {
  if (skip.some((t) => tags.includes(t))) return false;
  if (!only.length || tags.includes('always')) return true;
  return only.some((t) => tags.includes(t));
}

function templateError(err: unknown, at: SourcePos): InputError {
  if (err instanceof InputError) return err;
  const hint = err instanceof TemplateError ? err.hint : undefined;
  return positioned(at, (err as Error).message, hint);
}

function positioned(at: SourcePos, message: string, hint?: string): InputError {
  return new InputError(message, { file: at.file, line: at.line, column: at.column, ...(hint ? { hint } : {}) });
}

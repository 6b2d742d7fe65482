import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { InputError, type SourcePos } from '../core/input-error.js';
import type { ModuleDef, PrepareContext } from '../core/module.js';
import { addSchemaSecrets } from '../core/redact.js';
import { nearest } from '../core/suggest.js';
import { magicVars, mergeVars, type Inventory, type Vars } from '../inventory/index.js';
import { coerceArgs, parseModuleArgs, validateAgainst } from '../playbook/args.js';
import type { AnyRoleTask, RoleDef } from '../playbook/role.js';
import { taskFromRoleTask } from '../playbook/task.js';
import { evalWhen, evaluateExpression, renderString, renderValue, TemplateError } from '../playbook/template.js';
import type { Play, Playbook, RoleItem, TaskSpec } from '../playbook/types.js';
import type { PlayInstance, TaskInstance } from './types.js';

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
  spec: TaskSpec;
}

/**
 * Everything about a run that can be decided without a host: roles expanded with each host's
 * variables, templates rendered, arguments validated, `when` evaluated, tags applied. Any mistake
 * is an InputError here, before a single connection is made.
 */
export function expandForHost(o: ExpandOptions, play: Play, host: string): PlayInstance {
  const inv = o.inventory.hosts.get(host)!;
  const base = mergeVars(inv.vars, play.vars);
  const playbookDir = dirname(o.playbook.path);
  // Ansible's playbook_dir: where lookup('file'|'template') look, beside the magic variables
  const top = mergeVars(o.extraVars, magicVars(o.inventory, host), { playbook_dir: playbookDir });
  const become = (b: boolean | undefined) => b ?? play.become ?? inv.become ?? false;

  const tasks: Resolved[] = [];
  const handlers: Resolved[] = [];
  for (const item of play.items) {
    if (item.kind === 'task') {
      const vars = mergeVars(base, top);
      if (!when(item.when, vars, item.source)) continue;
      tasks.push(resolveTask(o, item, vars, [...play.tags, ...item.tags], become(item.become), playbookDir));
      continue;
    }
    const role = o.roles[item.role];
    const vars = roleVars(role, item, mergeVars(base, item.params, top));
    if (!when(item.when, vars, item.source)) continue;
    // a role's own modules (its internals) are seen by its tasks only
    const roleOpts = role.modules ? { ...o, modules: { ...o.modules, ...role.modules } } : o;
    const fromRole = (list: AnyRoleTask[], into: Resolved[]) => {
      for (const rt of list) {
        if (!when(rt.when, vars, item.source)) continue;
        const spec = taskFromRoleTask(rt, role.name, vars, item.source, roleOpts.modules, item.phase);
        const tags = [...play.tags, item.role, ...item.tags, ...spec.tags];
        into.push(resolveTask(roleOpts, spec, vars, tags, become(rt.become ?? item.become), role.dir ?? playbookDir, false));
      }
    };
    fromRole(safely(() => role.tasks(vars) as AnyRoleTask[], item), tasks);
    fromRole(safely(() => (role.handlers?.(vars) ?? []) as AnyRoleTask[], item), handlers);
  }
  for (const h of play.handlers) handlers.push(resolveTask(o, h, mergeVars(base, top), [], become(h.become), playbookDir));

  const handlerNames = new Set(handlers.flatMap((h) => [h.name, ...(h.spec.listen ?? [])]));
  for (const t of tasks) {
    for (const n of t.notify) {
      if (!handlerNames.has(n)) {
        const near = nearest(n, [...handlerNames]);
        throw positioned(t.spec.source, `task "${t.name}" notifies "${n}", which is not a handler of this play`, near ? `did you mean "${near}"?` : undefined);
      }
    }
  }
  return {
    name: play.name,
    become: become(undefined),
    tasks: tasks.filter((t) => selected(t.tags, o.tags, o.skipTags)),
    handlers,
  };
}

function resolveTask(o: ExpandOptions, spec: TaskSpec, vars: Vars, tags: string[], become: boolean, dir: string, render = true): Resolved {
  const module = o.modules[spec.module];
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

function roleVars(role: RoleDef, item: RoleItem, merged: Vars): Vars {
  const r = validateAgainst(role.vars, merged, { module: role.name, at: item.source, noun: 'variable', subject: `role \`${role.name}\`` });
  if (!r.ok) throw InputError.combine(r.errors)!;
  // role variables marked secret() in the schema are masked in every output from here on
  addSchemaSecrets(role.vars, r.value as Vars);
  // the role sees its own validated variables (defaults applied) and every other variable too
  return { ...merged, ...(r.value as Vars) };
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

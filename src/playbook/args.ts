/**
 * Module arguments checked against the module's zod schema, with each zod issue turned into an
 * InputError at the YAML position of the offending key or value. The loader calls it at load time
 * (skipping values that are still templates); the engine calls it again after rendering.
 */
import type { z } from 'zod';
import { InputError, type SourcePos } from '../core/input-error.js';
import type { ModuleDef } from '../core/module.js';
import { nearest } from '../core/suggest.js';
import { ansibleBool } from '../ansible/yaml11.js';
import { hasTemplate } from './template.js';
import type { ArgSource } from './types.js';

export interface ArgsLocation {
  /** the module name as the error should show it */
  module: string;
  /** the task (or its module key): used when no finer position is known */
  at: SourcePos;
  argSources?: Record<string, ArgSource>;
  /** the source line for a code frame, when the caller has the file's text */
  frame?: (line: number) => string | undefined;
  /** load time: issues about values that are still `{{ templates }}` wait for rendering */
  skipTemplated?: boolean;
  /** role params: the rest may come from inventory or play vars, so a missing one is not an error yet */
  partial?: boolean;
  /** what the arguments are called in messages: "argument" (modules) or "variable" (role params) */
  noun?: string;
  /** how the owner is named in messages; defaults to `module` in backquotes (e.g. "role `docker`") */
  subject?: string;
  /**
   * where a top-level value was written when that is another file than `at` (a role variable set in
   * group_vars/all.yml): a bad value is reported there, with that file's code frame
   */
  origin?: (key: string) => ((message: string, hint?: string) => InputError) | undefined;
  /** Ansible's arguments the module does not take, with what to do instead (ModuleDef.notYet) */
  notYet?: Record<string, string>;
}

export type ArgsResult<A> = { ok: true; value: A } | { ok: false; errors: InputError[] };

type Path = PropertyKey[];

export function validateModuleArgs<A>(mod: Pick<ModuleDef<A>, 'schema' | 'notYet'>, args: unknown, loc: ArgsLocation): ArgsResult<A> {
  return validateAgainst(mod.schema, args, { notYet: mod.notYet, ...loc });
}

/** Like validateModuleArgs but throws one InputError with every problem; returns the parsed value (defaults applied). */
export function parseModuleArgs<A>(mod: Pick<ModuleDef<A>, 'schema' | 'notYet'>, args: unknown, loc: ArgsLocation): A {
  const r = validateAgainst(mod.schema, args, { notYet: mod.notYet, ...loc });
  if (!r.ok) throw InputError.combine(r.errors)!;
  return r.value;
}

export function validateAgainst<A>(schema: z.ZodType<A>, args: unknown, loc: ArgsLocation): ArgsResult<A> {
  const r = schema.safeParse(args);
  if (r.success) return { ok: true, value: r.data };
  const noun = loc.noun ?? 'argument';
  const who = loc.subject ?? `\`${loc.module}\``;
  const errors: InputError[] = [];
  // `nme:` with `name` missing is one mistake: the unknown key's suggestion stands for the missing one
  const suggested = new Set<string>();
  // an Ansible argument not supported yet: the task's own checks on what is left ("needs name") say nothing more
  let notYetSeen = false;
  const err = (pos: SourcePos | undefined, message: string, hint?: string) => {
    const p = pos ?? loc.at;
    errors.push(new InputError(message, { file: p.file, line: p.line, column: p.column, hint, frame: loc.frame?.(p.line) }));
  };
  const src = (path: Path) => loc.argSources?.[pathKey(path)];
  // unknown keys first, so their suggestions are known when missing keys are reported
  const issues = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  for (const issue of issues) {
    const path = issue.path as Path;
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, path);
      for (const key of issue.keys) {
        const instead = path.length === 0 && loc.notYet && Object.hasOwn(loc.notYet, key) ? loc.notYet[key] : undefined;
        if (instead !== undefined) {
          notYetSeen = true;
          err(src([key])?.key, `\`${key}\` is an argument of Ansible's ${who} that shipshape does not support yet`, instead);
          continue;
        }
        const near = nearest(key, known);
        if (near) suggested.add(pathKey([...path, near]));
        const where = path.length ? ` in \`${pathKey(path)}\`` : '';
        err(src([...path, key])?.key, `unknown ${noun} \`${key}\`${where} for ${who}`, near ? `did you mean \`${near}\`?` : known.length ? `expected one of ${known.map((k) => `\`${k}\``).join(', ')}` : undefined);
      }
      continue;
    }
    const value = valueAt(args, path);
    // a preprocessed value (`name: "{{ pkgs }}"` read as a list) is judged by what was written: the nearest value that exists
    if (loc.skipTemplated && hasTemplate(writtenAt(args, path))) continue;
    if (loc.partial && (value === undefined || path.length === 0)) continue;
    if (path.length === 0) {
      if (notYetSeen) continue;
      err(src([])?.key, `${who}: ${lowerFirst(issue.message)}`);
      continue;
    }
    if (value === undefined) {
      if (suggested.has(pathKey(path))) continue;
      // point at the mapping that lacks the key: the module key for a top-level argument
      const parent = src(path.slice(0, -1));
      err(parent?.key ?? parent?.value, `${who} needs ${noun} \`${pathKey(path)}\``);
      continue;
    }
    const s = src(path);
    let hint: string | undefined;
    if (issue.code === 'invalid_value' && typeof value === 'string') {
      const near = nearest(value, issue.values.map(String));
      if (near) hint = `did you mean \`${near}\`?`;
    } else if (issue.code === 'invalid_type' && issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
      // only when the YAML itself wrote a bare number/boolean: a rendered template needs another fix
      if (s?.raw !== undefined && /^[^"'{]/.test(s.raw)) hint = `quote it: "${s.raw}"`;
      else if (!s) hint = `quote it: "${String(value)}"`;
    } else if (issue.code === 'invalid_type' && issue.expected === 'boolean' && typeof value === 'string') {
      hint = 'write true or false (YAML reads yes/no as strings)';
    }
    const message = `bad value for ${noun} \`${pathKey(path)}\` of ${who}: ${lowerFirst(issue.message)}`;
    const origin = loc.origin?.(String(path[0]));
    if (origin) errors.push(origin(message, hint));
    else err(s?.value, message, hint);
  }
  // every issue concerned a value still to be rendered: nothing is wrong yet
  return errors.length ? { ok: false, errors } : { ok: true, value: args as A };
}

export function pathKey(path: Path): string {
  return path.map(String).join('.');
}

function writtenAt(v: unknown, path: Path): unknown {
  for (let i = path.length; i >= 0; i--) {
    const x = valueAt(v, path.slice(0, i));
    if (x !== undefined) return x;
  }
  return undefined;
}

function valueAt(v: unknown, path: Path): unknown {
  let cur = v;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

// zod v4 keeps a schema's structure in `_zod.def`; only what suggestions need is read here
interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  options?: Schema[];
  left?: Schema;
  right?: Schema;
  getter?: () => Schema;
}
type Schema = { _zod: { def: Def } };

function unwrap(s: Schema): Schema[] {
  const d = s._zod.def;
  if (d.innerType) return unwrap(d.innerType);
  // z.preprocess puts the object on the out side, .transform() on the in side
  if (d.type === 'pipe') return [...(d.in ? unwrap(d.in) : []), ...(d.out ? unwrap(d.out) : [])];
  if (d.type === 'lazy' && d.getter) return unwrap(d.getter());
  if (d.type === 'union' && d.options) return d.options.flatMap(unwrap);
  if (d.type === 'intersection' && d.left && d.right) return [...unwrap(d.left), ...unwrap(d.right)];
  return [s];
}

/** The keys an object schema allows at `path` (for "did you mean"); [] when unknown. */
export function keysAt(schema: z.ZodType, path: Path): string[] {
  let level = unwrap(schema as unknown as Schema);
  for (const seg of path) {
    level = level.flatMap((s) => {
      const d = s._zod.def;
      if (d.shape && typeof seg === 'string' && d.shape[seg]) return unwrap(d.shape[seg]);
      if (d.element && typeof seg === 'number') return unwrap(d.element);
      if (d.valueType) return unwrap(d.valueType);
      return [];
    });
  }
  return [...new Set(level.flatMap((s) => Object.keys(s._zod.def.shape ?? {})))];
}

// every host's expansion asks the same schemas about the same keys: answered once per schema and key
const kindsSeen = new WeakMap<z.ZodType, Map<string, Set<string>>>();

/** The kinds of value (zod def types) the object schema accepts for top-level `key`. */
function kindsAt(schema: z.ZodType, key: string): Set<string> {
  let seen = kindsSeen.get(schema);
  if (!seen) kindsSeen.set(schema, (seen = new Map()));
  let kinds = seen.get(key);
  if (!kinds) seen.set(key, (kinds = findKinds(schema, key)));
  return kinds;
}

function findKinds(schema: z.ZodType, key: string): Set<string> {
  const fields = unwrap(schema as unknown as Schema).flatMap((s) => {
    const f = s._zod.def.shape?.[key];
    return f ? unwrap(f) : [];
  });
  return new Set(fields.map((f) => f._zod.def.type));
}

/**
 * Ansible converts a module argument to its declared type: `update_cache: "yes"` (or `=yes` in a
 * key=value string, or a template rendering to "true") is a boolean, `uid: "1001"` an integer.
 * Only where the argument cannot be a string, so no string argument ever changes.
 */
export function coerceArgs(schema: z.ZodType, args: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(args)) {
    if (typeof v === 'string' && hasTemplate(v)) continue;
    const kinds = kindsAt(schema, k);
    let c: unknown;
    if (typeof v === 'string' && !['string', 'enum', 'literal', 'transform'].some((t) => kinds.has(t))) {
      if (kinds.has('boolean')) c = ansibleBool(v);
      if (c === undefined && kinds.has('number') && /^[-+]?\d+$/.test(v.trim())) c = Number(v);
    } else if ((typeof v === 'boolean' || typeof v === 'number') && kinds.has('string') && !['boolean', 'number', 'transform'].some((t) => kinds.has(t))) {
      // as Python prints them: `comment: yes` is "True"
      c = typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v);
    }
    if (c === undefined) continue;
    out ??= { ...args };
    out[k] = c;
  }
  return out ?? args;
}

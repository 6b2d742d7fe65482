/**
 * Ansible's filters, tests and lookups on the nunjucks environment, with Ansible's meaning
 * (expected values in the unit tests were produced by Debian's ansible 2.14). Keyword arguments
 * (`map(attribute='name')`) reach a filter as a last object marked `__keywords`, which `kw()` takes
 * apart.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import type nunjucks from 'nunjucks';
import YAML from 'yaml';
import { pythonStringLiterals } from './jinja-strings.js';
import { pyYamlDump } from './pyyaml-dump.js';
import { shq } from '../core/quote.js';
import { pyPrint, pyRepr, tuple } from './python-repr.js';
import { SALT_CHARS, sha512Crypt } from './sha512-crypt.js';

/** Ansible's `omit`: a module argument whose value is this is dropped, as if it was never written. */
export const OMIT = '__omit_place_holder__shipshape';

/** Globals this file defines: templates may use them without a variable of that name. */
export const GLOBAL_NAMES = ['omit', 'lookup', 'query', 'q', 'playbook_dir', 'role_path'];

export class FilterError extends Error {}

const hashed = new Map<string, string>();

type Kw = Record<string, unknown>;

/** Split a filter's arguments into positional ones and keyword ones. */
function kw(args: unknown[]): { pos: unknown[]; kw: Kw } {
  const last = args[args.length - 1] as Kw | undefined;
  if (last && typeof last === 'object' && (last as { __keywords?: boolean }).__keywords) {
    const { __keywords: _, ...rest } = last;
    return { pos: args.slice(0, -1), kw: rest };
  }
  return { pos: args, kw: {} };
}

/** The n-th positional argument or the keyword of that name. */
function arg<T>(a: { pos: unknown[]; kw: Kw }, i: number, name: string, dflt: T): T {
  if (name in a.kw) return a.kw[name] as T;
  return (a.pos.length > i ? a.pos[i] : dflt) as T;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : typeof v === 'string' ? [...v] : isMap(v) ? Object.keys(v) : v == null ? [] : [v]);

/** Python's `==` on JSON-like values, for unique/union/difference. */
function same(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));
}
function uniq(xs: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const x of xs) if (!out.some((y) => same(x, y))) out.push(x);
  return out;
}

/** Python's `re` syntax where it differs from JavaScript's: named groups and their references. */
export function pyRegex(pattern: string, flags = ''): RegExp {
  const js = pattern.replace(/\(\?P<(\w+)>/g, '(?<$1>').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(js, flags);
  } catch (e) {
    throw new FilterError(`bad regular expression \`${pattern}\`: ${(e as Error).message}`);
  }
}

/** A Python replacement string (`\1`, `\g<1>`, `\g<name>`) as a replacer function. */
export function pyReplacement(repl: string): (m: string, ...rest: unknown[]) => string {
  return (m, ...rest) => {
    const last = rest[rest.length - 1];
    const named = isMap(last) ? last : undefined;
    const groups = rest.slice(0, named ? -3 : -2) as (string | undefined)[];
    return repl.replace(/\\(?:g<(\w+)>|(\d{1,2})|(.))/gs, (_all, g: string | undefined, d: string | undefined, ch: string | undefined) => {
      if (g !== undefined) return /^\d+$/.test(g) ? (Number(g) === 0 ? m : (groups[Number(g) - 1] ?? '')) : String(named?.[g] ?? '');
      if (d !== undefined) return Number(d) === 0 ? '\\0' : (groups[Number(d) - 1] ?? '');
      return { n: '\n', t: '\t', r: '\r', '\\': '\\' }[ch!] ?? `\\${ch}`;
    });
  };
}

function reFlags(a: { kw: Kw }, global: boolean): string {
  return `${global ? 'g' : ''}${a.kw.ignorecase ? 'i' : ''}${a.kw.multiline ? 'm' : ''}`;
}

/** Python's json.dumps: `", "` and `": "` separators; with indent, keys sorted (Ansible's to_nice_json). */
function pyJson(v: unknown, indent?: number, sortKeys = false): string {
  const sorted = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sorted) : isMap(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sorted(x[k])])) : x;
  const value = sortKeys ? sorted(v) : v;
  if (indent !== undefined) return JSON.stringify(value, null, indent);
  const one = (x: unknown): string =>
    Array.isArray(x) ? `[${x.map(one).join(', ')}]` : isMap(x) ? `{${Object.entries(x).map(([k, y]) => `${JSON.stringify(k)}: ${one(y)}`).join(', ')}}` : JSON.stringify(x) ?? 'null';
  return one(value);
}

function attrOf(item: unknown, path: string): unknown {
  let cur = item;
  for (const seg of path.split('.')) cur = isMap(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
  return cur;
}

function compareValues(a: unknown, b: unknown, caseSensitive: boolean): number {
  const norm = (x: unknown) => (typeof x === 'string' && !caseSensitive ? x.toLowerCase() : x);
  const x = norm(a) as string | number;
  const y = norm(b) as string | number;
  return x < y ? -1 : x > y ? 1 : 0;
}

export interface LookupHost {
  /** render a template file's text with the variables of the calling template */
  render(text: string, ctx: Record<string, unknown>): string;
}

/** Install everything on `env`. `host` lets lookup('template') render with the caller's variables. */
export function installAnsibleFilters(env: nunjucks.Environment, host: LookupHost): void {
  pythonStringLiterals();
  const f = (name: string, fn: (...args: any[]) => unknown) => env.addFilter(name, fn as never);

  // strings
  // the same POSIX quoting every remote command gets (Ansible's shlex.quote writes ' as '"'"', equally valid)
  f('quote', (v: unknown) => shq(pyPrint(v)));
  f('b64encode', (v: unknown) => Buffer.from(pyPrint(v), 'utf8').toString('base64'));
  f('b64decode', (v: unknown) => Buffer.from(pyPrint(v), 'base64').toString('utf8'));
  f('basename', (v: string) => posix.basename(v) === '' || v.endsWith('/') ? '' : posix.basename(v));
  f('dirname', (v: string) => (v.includes('/') ? v.slice(0, v.lastIndexOf('/')).replace(/(.)\/+$/, '$1') || '/' : ''));
  f('splitext', (v: string) => {
    const base = posix.basename(v);
    const i = base.lastIndexOf('.');
    return tuple(i <= 0 ? [v, ''] : [v.slice(0, v.length - base.length + i), base.slice(i)]);
  });
  f('expanduser', (v: string) => v);
  f('split', (v: string, sep?: string | null, max?: number) => {
    const s = pyPrint(v);
    if (sep === undefined || sep === null) return s.trim() === '' ? [] : s.trim().split(/\s+/);
    const parts = s.split(sep);
    return max === undefined || max < 0 ? parts : [...parts.slice(0, max), parts.slice(max).join(sep)].filter((_, i) => i <= max);
  });
  f('string', (v: unknown) => pyPrint(v));
  f('regex_replace', (v: unknown, ...rest: unknown[]) => {
    const a = kw(rest);
    const pattern = arg(a, 0, 'regex', '') as string;
    const repl = arg(a, 1, 'replace', '') as string;
    return pyPrint(v).replace(pyRegex(pattern, reFlags(a, true)), pyReplacement(repl) as never);
  });
  f('regex_search', (v: unknown, ...rest: unknown[]) => {
    const a = kw(rest);
    const m = pyRegex(String(a.pos[0]), reFlags(a, false)).exec(pyPrint(v));
    const refs = a.pos.slice(1).map(String);
    if (!m) return refs.length ? null : null;
    if (!refs.length) return m[0];
    return refs.map((r) => {
      const g = /^\\g<(\w+)>$/.exec(r) ?? /^\\(\d+)$/.exec(r);
      if (!g) throw new FilterError(`regex_search: unknown group reference \`${r}\``);
      return /^\d+$/.test(g[1]) ? m[Number(g[1])] : m.groups?.[g[1]];
    });
  });
  f('regex_findall', (v: unknown, ...rest: unknown[]) => {
    const a = kw(rest);
    const re = pyRegex(String(a.pos[0]), reFlags(a, true));
    return [...pyPrint(v).matchAll(re)].map((m) => (m.length === 1 ? m[0] : m.length === 2 ? m[1] : m.slice(1)));
  });
  f('regex_escape', (v: string) => pyPrint(v).replace(/[^A-Za-z0-9_]/g, (c) => `\\${c}`));
  f('hash', (v: unknown, algo = 'sha1') => {
    try {
      return createHash(String(algo)).update(pyPrint(v), 'utf8').digest('hex');
    } catch {
      throw new FilterError(`hash: unknown algorithm \`${algo}\``);
    }
  });
  f('checksum', (v: unknown) => createHash('sha1').update(pyPrint(v), 'utf8').digest('hex'));
  f('sha1', (v: unknown) => createHash('sha1').update(pyPrint(v), 'utf8').digest('hex'));
  f('md5', (v: unknown) => createHash('md5').update(pyPrint(v), 'utf8').digest('hex'));
  f('password_hash', (v: unknown, ...rest: unknown[]) => {
    const a = kw(rest);
    const scheme = String(arg(a, 0, 'hashtype', 'sha512'));
    if (scheme !== 'sha512') throw new FilterError(`password_hash: only sha512 is supported (Debian's default, \`$6$\`), not \`${scheme}\``);
    let salt = arg<string | null>(a, 1, 'salt', null);
    const seed = a.kw.seed as string | undefined;
    if (salt === null || salt === undefined) {
      // without salt or seed Ansible draws a random salt (a new hash every run); `seed` makes it repeatable
      const bytes = seed === undefined ? randomBytes(16) : createHash('sha256').update(String(seed)).digest();
      salt = [...bytes.subarray(0, 16)].map((b) => SALT_CHARS[b % 64]).join('');
    }
    if (!/^[./0-9A-Za-z]{1,16}$/.test(salt)) throw new FilterError('password_hash: a sha512 salt is 1 to 16 characters of [./0-9A-Za-z]');
    // Ansible 2.14 writes rounds=656000 unless told otherwise (passlib's default, which it mimics)
    const rounds = a.kw.rounds === undefined ? 656000 : Number(a.kw.rounds);
    // 656000 rounds take seconds: the same password, salt and rounds are hashed once per run
    const key = JSON.stringify([pyPrint(v), salt, rounds]);
    let h = hashed.get(key);
    if (h === undefined) hashed.set(key, (h = sha512Crypt(pyPrint(v), salt, rounds)));
    return h;
  });

  // data formats
  f('to_json', (v: unknown, ...rest: unknown[]) => {
    const a = kw(rest);
    return pyJson(v, a.kw.indent as number | undefined, Boolean(a.kw.sort_keys));
  });
  f('to_nice_json', (v: unknown, ...rest: unknown[]) => pyJson(v, Number(arg(kw(rest), 0, 'indent', 4)), true));
  f('from_json', (v: string) => {
    try {
      return JSON.parse(v);
    } catch (e) {
      throw new FilterError(`from_json: ${(e as Error).message}`);
    }
  });
  f('to_yaml', (v: unknown, ...rest: unknown[]) => pyYamlDump(v, Number(arg(kw(rest), 0, 'indent', 2)), true));
  f('to_nice_yaml', (v: unknown, ...rest: unknown[]) => pyYamlDump(v, Number(arg(kw(rest), 0, 'indent', 4)), false));
  f('from_yaml', (v: string) => YAML.parse(v, { version: '1.1' }));

  // lists and dicts
  f('unique', (v: unknown) => uniq(list(v)));
  f('union', (a: unknown, b: unknown) => uniq([...list(a), ...list(b)]));
  f('intersect', (a: unknown, b: unknown) => uniq(list(a).filter((x) => list(b).some((y) => same(x, y)))));
  f('difference', (a: unknown, b: unknown) => uniq(list(a).filter((x) => !list(b).some((y) => same(x, y)))));
  f('symmetric_difference', (a: unknown, b: unknown) => uniq([...list(a).filter((x) => !list(b).some((y) => same(x, y))), ...list(b).filter((x) => !list(a).some((y) => same(x, y)))]));
  f('flatten', (v: unknown, ...rest: unknown[]) => {
    const levels = arg<number | null>(kw(rest), 0, 'levels', null);
    const go = (xs: unknown[], depth: number): unknown[] => xs.flatMap((x) => (Array.isArray(x) && (levels === null || depth < levels) ? go(x, depth + 1) : x === null ? [] : [x]));
    return go(list(v), 0);
  });
  f('dict2items', (v: unknown, ...rest: unknown[]) => {
    const a = kw(rest);
    const k = String(a.kw.key_name ?? 'key');
    const val = String(a.kw.value_name ?? 'value');
    if (!isMap(v)) throw new FilterError('dict2items requires a dictionary');
    return Object.entries(v).map(([x, y]) => ({ [k]: x, [val]: y }));
  });
  f('items2dict', (v: unknown, ...rest: unknown[]) => {
    const a = kw(rest);
    const k = String(a.kw.key_name ?? 'key');
    const val = String(a.kw.value_name ?? 'value');
    return Object.fromEntries(list(v).map((i) => [String(attrOf(i, k)), attrOf(i, val)]));
  });
  f('combine', (...args: unknown[]) => {
    const a = kw(args);
    const recursive = Boolean(a.kw.recursive);
    const merge = (x: Record<string, unknown>, y: Record<string, unknown>): Record<string, unknown> => {
      const out = { ...x };
      for (const [k, v] of Object.entries(y)) out[k] = recursive && isMap(out[k]) && isMap(v) ? merge(out[k] as Record<string, unknown>, v) : v;
      return out;
    };
    return a.pos.flatMap((d) => (Array.isArray(d) ? d : [d])).reduce<Record<string, unknown>>((acc, d) => merge(acc, (d ?? {}) as Record<string, unknown>), {});
  });
  f('min', (v: unknown, ...rest: unknown[]) => {
    const attr = kw(rest).kw.attribute as string | undefined;
    const xs = list(v);
    return xs.reduce((m, x) => (compareValues(attr ? attrOf(x, attr) : x, attr ? attrOf(m, attr) : m, true) < 0 ? x : m), xs[0]);
  });
  f('max', (v: unknown, ...rest: unknown[]) => {
    const attr = kw(rest).kw.attribute as string | undefined;
    const xs = list(v);
    return xs.reduce((m, x) => (compareValues(attr ? attrOf(x, attr) : x, attr ? attrOf(m, attr) : m, true) > 0 ? x : m), xs[0]);
  });
  f('sort', (v: unknown, ...rest: unknown[]) => {
    const a = kw(rest);
    const reverse = Boolean(arg(a, 0, 'reverse', false));
    const cs = Boolean(arg(a, 1, 'case_sensitive', false));
    const attr = arg<string | null>(a, 2, 'attribute', null);
    const key = (x: unknown) => (attr ? attrOf(x, attr) : x);
    const out = [...list(v)].sort((x, y) => compareValues(key(x), key(y), cs));
    return reverse ? out.reverse() : out;
  });
  f('map', function (this: unknown, v: unknown, ...rest: unknown[]) {
    const a = kw(rest);
    const xs = list(v);
    if (a.kw.attribute !== undefined) {
      return xs.map((x) => attrOf(x, String(a.kw.attribute)) ?? (a.kw.default !== undefined ? a.kw.default : undefinedAttr(String(a.kw.attribute))));
    }
    const [name, ...fargs] = a.pos;
    const filter = env.getFilter(String(name)) as (...x: unknown[]) => unknown;
    const extra = Object.keys(a.kw).length ? [{ ...a.kw, __keywords: true }] : [];
    return xs.map((x) => filter.call(this, x, ...fargs, ...extra));
  });
  // Jinja's select/reject(attr) with a test and its arguments (nunjucks' selectattr only tests truthiness)
  const tester = (name: unknown, args: unknown[]) => {
    if (name === undefined) return truthy;
    const test = (env as unknown as { getTest(n: string): ((...a: unknown[]) => boolean) | undefined }).getTest(String(name));
    if (!test) throw new FilterError(`no test named \`${String(name)}\``);
    return (x: unknown) => test(x, ...args);
  };
  f('select', (v: unknown, name?: string, ...args: unknown[]) => list(v).filter(tester(name, args)));
  f('reject', (v: unknown, name?: string, ...args: unknown[]) => list(v).filter((x) => !tester(name, args)(x)));
  f('selectattr', (v: unknown, attr: string, name?: string, ...args: unknown[]) => list(v).filter((x) => tester(name, args)(attrOf(x, attr))));
  f('rejectattr', (v: unknown, attr: string, name?: string, ...args: unknown[]) => list(v).filter((x) => !tester(name, args)(attrOf(x, attr))));
  f('ternary', (v: unknown, yes: unknown, no: unknown, none?: unknown) => (v === null && none !== undefined ? none : truthy(v) ? yes : no));
  f('mandatory', (v: unknown, msg?: string) => {
    if (v === undefined) throw new FilterError(msg ?? 'Mandatory variable not defined.');
    return v;
  });
  f('int', (v: unknown, dflt = 0, base = 10) => {
    if (typeof v === 'boolean') return v ? 1 : 0;
    const s = String(v).trim();
    const n = base === 10 && /^[-+]?\d+(\.\d*)?$/.test(s) ? Math.trunc(Number(s)) : parseInt(s.replace(/^0[xob]/i, ''), Number(base));
    return Number.isNaN(n) ? dflt : n;
  });
  f('float', (v: unknown, dflt = 0) => {
    const n = Number(String(v).trim());
    return Number.isNaN(n) ? dflt : n;
  });
  f('list', (v: unknown) => list(v));
  f('zip', (a: unknown, ...more: unknown[]) => {
    const lists = [list(a), ...more.map(list)];
    const n = Math.min(...lists.map((l) => l.length));
    return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => l[i])));
  });
  f('random', (v: unknown) => {
    const xs = list(v);
    return typeof v === 'number' ? Math.floor(Math.random() * v) : xs[Math.floor(Math.random() * xs.length)];
  });
  f('type_debug', (v: unknown) => (v === null ? 'NoneType' : Array.isArray(v) ? 'list' : isMap(v) ? 'dict' : typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : Number.isInteger(v) ? 'int' : 'float'));
  f('comment', (v: unknown) => `#\n# ${pyPrint(v).split('\n').join('\n# ')}\n#`);

  // Ansible's tests beside Jinja's
  const t = (name: string, fn: (...args: any[]) => boolean) => (env as unknown as { addTest(n: string, f: unknown): void }).addTest(name, fn);
  t('match', (v: unknown, re: string, ...rest: unknown[]) => pyRegex(`^(?:${re})`, reFlags(kw(rest), false)).test(pyPrint(v)));
  t('search', (v: unknown, re: string, ...rest: unknown[]) => pyRegex(re, reFlags(kw(rest), false)).test(pyPrint(v)));
  t('regex', (v: unknown, re: string, ...rest: unknown[]) => pyRegex(re, reFlags(kw(rest), false)).test(pyPrint(v)));
  t('in', (v: unknown, container: unknown) => (typeof container === 'string' ? container.includes(pyPrint(v)) : list(container).some((x) => same(x, v))));
  t('contains', (container: unknown, v: unknown) => list(container).some((x) => same(x, v)));
  t('none', (v: unknown) => v === null);
  t('boolean', (v: unknown) => typeof v === 'boolean');
  t('integer', (v: unknown) => Number.isInteger(v));
  t('float', (v: unknown) => typeof v === 'number' && !Number.isInteger(v));
  t('sequence', (v: unknown) => Array.isArray(v) || typeof v === 'string');
  t('subset', (a: unknown, b: unknown) => list(a).every((x) => list(b).some((y) => same(x, y))));
  t('superset', (a: unknown, b: unknown) => list(b).every((x) => list(a).some((y) => same(x, y))));
  t('abs', (v: string) => typeof v === 'string' && v.startsWith('/'));

  // lookups run on the controller, as Ansible's do
  env.addGlobal('omit', OMIT);
  const lookupOne = (ctx: Record<string, unknown>, kind: string, term: unknown, opts: Kw): unknown => {
    const s = pyPrint(term);
    switch (kind) {
      case 'env': {
        const v = process.env[s];
        return v ?? (opts.default !== undefined ? opts.default : '');
      }
      case 'pipe':
        try {
          return execFileSync('/bin/sh', ['-c', s], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).replace(/\s+$/, '');
        } catch (e) {
          throw new FilterError(`lookup('pipe', ${pyRepr(s)}) failed: ${(e as Error).message.split('\n')[0]}`);
        }
      case 'file':
      case 'template': {
        const path = findLocal(ctx, s, kind === 'file' ? 'files' : 'templates');
        const text = readFileSync(path, 'utf8');
        if (kind === 'file') return opts.rstrip === false ? text : text.replace(/\s+$/, '');
        return host.render(text, ctx);
      }
      default:
        throw new FilterError(`lookup('${kind}') is not supported; supported: file, env, pipe, template`);
    }
  };
  const lookup = (wantList: boolean) =>
    function (this: { ctx: Record<string, unknown> }, kind: string, ...rest: unknown[]) {
      const a = kw(rest);
      const out = a.pos.flatMap((term) => (Array.isArray(term) ? term : [term])).map((term) => lookupOne(this.ctx, String(kind), term, a.kw));
      if (wantList || a.kw.wantlist) return out;
      return out.length === 1 ? out[0] : out.map(pyPrint).join(',');
    };
  env.addGlobal('lookup', lookup(false));
  env.addGlobal('query', lookup(true));
  env.addGlobal('q', lookup(true));
}

function undefinedAttr(name: string): never {
  throw new FilterError(`map: an item has no attribute \`${name}\``);
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

/** A controller file for lookup('file'|'template'): in the role's, then the playbook's `files/` or `templates/`, then beside them. */
function findLocal(ctx: Record<string, unknown>, path: string, sub: 'files' | 'templates'): string {
  if (path.startsWith('/')) {
    if (existsSync(path)) return path;
    throw new FilterError(`lookup: ${path} does not exist`);
  }
  const dirs = [ctx.role_path, ctx.playbook_dir].filter((d): d is string => typeof d === 'string');
  const tried = dirs.flatMap((d) => [resolve(d, sub, path), resolve(d, path)]);
  if (!dirs.length) tried.push(resolve(path));
  const found = tried.find((p) => existsSync(p));
  if (!found) throw new FilterError(`lookup: ${path} not found (looked in ${tried.join(', ')})`);
  return found;
}

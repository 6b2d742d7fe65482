/**
 * Static look at a nunjucks template: which top-level variable names it needs. nunjucks only
 * notices an undefined value when it is printed (`{{ foo }}`), not when it is compared
 * (`foo == 'x'` is silently false), and its message never names the variable. Ansible fails on
 * both and names it, so we find the names ourselves before rendering.
 *
 * A name is not required where Ansible would not evaluate it: under `is defined` / `is undefined`,
 * as the subject of `default(...)`, and in the branch an `is defined` test guards
 * (`foo is defined and foo`, `x if x is defined else 1`, `{% if x is defined %}{{ x }}{% endif %}`).
 */
import { nunjucks } from './nunjucks-lib.js';

interface AstNode {
  typename: string;
  fields?: string[];
  children?: AstNode[];
  value?: unknown;
  [k: string]: unknown;
}

// nunjucks ships its parser but @types/nunjucks does not describe it
const parser = () => (nunjucks() as unknown as { parser: { parse(src: string, ext?: unknown, opts?: unknown): AstNode } }).parser;

export function parseTemplate(src: string): AstNode {
  return parser().parse(src, [], {});
}

const DEFAULT_FILTERS = new Set(['default', 'd']);

function isNode(x: unknown): x is AstNode {
  return typeof x === 'object' && x !== null && typeof (x as AstNode).typename === 'string';
}

function symbolName(n: unknown): string | undefined {
  return isNode(n) && n.typename === 'Symbol' ? String(n.value) : undefined;
}

/** Names `cond` proves defined when true (`positive`) or when false (`!positive`). */
function definedBy(cond: unknown, positive: boolean): Set<string> {
  const out = new Set<string>();
  const visit = (n: unknown, pos: boolean) => {
    if (!isNode(n)) return;
    if (n.typename === 'Not') return visit(n.target, !pos);
    if (n.typename === 'Is') {
      const subject = rootName(n.left);
      const test = symbolName(n.right);
      if (subject && ((test === 'defined' && pos) || (test === 'undefined' && !pos))) out.add(subject);
      return;
    }
    // `a and b` true: both true; `a or b` false: both false
    if ((n.typename === 'And' && pos) || (n.typename === 'Or' && !pos)) {
      visit(n.left, pos);
      visit(n.right, pos);
    }
  };
  visit(cond, positive);
  return out;
}

/** `foo` for `foo`, `foo.bar`, `foo['x'][0]` */
function rootName(n: unknown): string | undefined {
  if (!isNode(n)) return undefined;
  if (n.typename === 'LookupVal') return rootName(n.target);
  return symbolName(n);
}

/**
 * Top-level variable names the template evaluates unconditionally (minus those it binds itself
 * with for/set/macro), in order of first use.
 */
export function requiredNames(ast: AstNode): string[] {
  const used: string[] = [];
  const bound = new Set<string>();
  collectBound(ast, bound);

  const walk = (n: unknown, guarded: ReadonlySet<string>): void => {
    if (Array.isArray(n)) return n.forEach((c) => walk(c, guarded));
    if (!isNode(n)) return;
    const with_ = (extra: Set<string>) => new Set([...guarded, ...extra]);
    switch (n.typename) {
      case 'Symbol': {
        const name = String(n.value);
        if (!guarded.has(name) && !bound.has(name) && !used.includes(name)) used.push(name);
        return;
      }
      case 'Is':
        // the tested value may be anything, the test name is not a variable
        if (['defined', 'undefined'].includes(symbolName(n.right) ?? '')) return;
        return walk(n.left, guarded);
      case 'Filter': {
        const args = isNode(n.args) ? (n.args.children ?? []) : [];
        const name = symbolName(n.name);
        return walk(DEFAULT_FILTERS.has(name ?? '') ? args.slice(1) : args, guarded);
      }
      case 'FunCall':
        // a call's name is a global (range, cycler) or a bound macro, checked at render time
        return walk(n.args, guarded);
      case 'LookupVal':
        walk(n.target, guarded);
        return walk(n.val, guarded);
      case 'And':
        walk(n.left, guarded);
        return walk(n.right, with_(definedBy(n.left, true)));
      case 'Or':
        walk(n.left, guarded);
        return walk(n.right, with_(definedBy(n.left, false)));
      case 'InlineIf':
      case 'If':
      case 'IfAsync':
        walk(n.cond, guarded);
        walk(n.body, with_(definedBy(n.cond, true)));
        return walk(n.else_, with_(definedBy(n.cond, false)));
      case 'Pair':
        // keyword-argument names and dict keys written bare are not variables
        return walk(n.value, guarded);
      default:
        for (const f of n.fields ?? []) if (f !== 'children') walk(n[f], guarded);
        walk(n.children, guarded);
    }
  };
  walk(ast, new Set());
  return used;
}

function collectBound(n: unknown, out: Set<string>): void {
  if (Array.isArray(n)) return n.forEach((c) => collectBound(c, out));
  if (!isNode(n)) return;
  const addTargets = (t: unknown) => {
    if (Array.isArray(t)) t.forEach(addTargets);
    else if (isNode(t)) {
      const s = symbolName(t);
      if (s) out.add(s);
      else addTargets(t.children);
    }
  };
  if (n.typename === 'For' || n.typename === 'AsyncEach' || n.typename === 'AsyncAll') addTargets(n.name);
  if (n.typename === 'Set') addTargets(n.targets);
  if (n.typename === 'Macro' || n.typename === 'Caller') {
    addTargets(n.name);
    const args = isNode(n.args) ? (n.args.children ?? []) : [];
    for (const a of args) addTargets(isNode(a) && a.typename === 'KeywordArgs' ? (a.children ?? []).map((p) => (p as AstNode).key) : a);
  }
  if (n.typename === 'FromImport' || n.typename === 'Import') addTargets(n.target ?? n.names);
  for (const f of n.fields ?? []) if (f !== 'children') collectBound(n[f], out);
  collectBound(n.children, out);
}

/**
 * Jinja-like templating of playbook values with nunjucks, with Ansible's behaviour where it
 * matters: a typo'd variable is an error naming it (never an empty string), a value that is exactly
 * one `{{ expr }}` keeps the expression's type (a list stays a list), and variables whose own values
 * are templates are rendered when used (`app_dir: "/srv/{{ app }}"` then `"{{ app_dir }}/x"`).
 */
import type Nunjucks from 'nunjucks';
import { ansibleBool } from '../ansible/yaml11.js';
import { nearest } from '../core/suggest.js';
import { GLOBAL_NAMES, installAnsibleFilters, OMIT } from './filters.js';
import { pyPrint } from './python-repr.js';
import { parseTemplate, requiredNames } from './template-scan.js';
import { nunjucks } from './nunjucks-lib.js';

export type Vars = Record<string, unknown>;

export class TemplateError extends Error {
  constructor(
    message: string,
    /** the template text that failed */
    readonly template: string,
    /** the undefined variable, when that is the problem */
    readonly variable?: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

let env: Nunjucks.Environment | undefined;

/** The environment, made by the first template compiled (see nunjucks-lib.ts). */
function environment(): Nunjucks.Environment {
  if (env) return env;
  const lib = nunjucks();
  const e = new lib.Environment([], { autoescape: false, throwOnUndefined: true, trimBlocks: true });
  // Ansible playbooks are written against Python's spellings
  e.addGlobal('True', true);
  e.addGlobal('False', false);
  e.addGlobal('None', null);
  e.addFilter('d', e.getFilter('default'));
  e.addFilter('bool', (v: unknown) => ansibleBool(v) ?? false);
  installAnsibleFilters(e, { render: (text, ctx) => renderString(text, ctx) });
  // Jinja runs on Python: booleans print as True/False, lists and dicts as Python's repr (never `[object Object]`)
  const runtime = (lib as unknown as { runtime: { suppressValue(v: unknown, autoescape: boolean): string } }).runtime;
  const suppressValue = runtime.suppressValue;
  runtime.suppressValue = (v, autoescape) => suppressValue((typeof v === 'object' && v !== null) || typeof v === 'boolean' ? pyPrint(v) : v, autoescape);
  return (env = e);
}

/** names that exist without being variables: globals, and what nunjucks defines inside loops/macros */
const BUILTIN_NAMES = new Set(['loop', 'caller', 'varargs', 'kwargs', 'True', 'False', 'None', 'range', 'cycler', 'joiner', ...GLOBAL_NAMES]);
const NATIVE = '__ss_native';

const TEMPLATE_MARK = /\{\{|\{%/;

export function isTemplate(s: string): boolean {
  return TEMPLATE_MARK.test(s);
}

/** Whether any string inside `value` (deeply) is a template. */
export function hasTemplate(value: unknown): boolean {
  if (typeof value === 'string') return isTemplate(value);
  if (Array.isArray(value)) return value.some(hasTemplate);
  if (value && typeof value === 'object') return Object.values(value).some(hasTemplate);
  return false;
}

/** `{{ expr }}` and nothing else: its inner expression, else undefined */
function soleExpression(s: string): string | undefined {
  // a trailing newline is text (`content: "{{ motd }}\n"` keeps it), as in Ansible
  const m = /^\s*\{\{([\s\S]*)\}\}[ \t]*$/.exec(s);
  if (!m || /\{\{|\}\}|\{%/.test(m[1])) return undefined;
  return m[1].replace(/^[-+]/, '').replace(/-$/, '');
}

interface Compiled {
  template: Nunjucks.Template;
  names: string[];
}

const compiled = new Map<string, Compiled>();

function compile(src: string, shown = src): Compiled {
  let c = compiled.get(src);
  if (c) return c;
  try {
    c = { template: new (nunjucks().Template)(src, environment(), undefined, true), names: requiredNames(parseTemplate(src)) };
  } catch (e) {
    const msg = cleanMessage(e).replace(/^parse\w+: /, '');
    throw new TemplateError(`template syntax error in \`${shown}\`: ${shown === src ? msg : expressionMessage(msg)}`, shown);
  }
  // playbooks hold a bounded set of strings; the cap only guards a long-lived process
  if (compiled.size > 5000) compiled.clear();
  compiled.set(src, c);
  return c;
}

function nativeSource(expr: string): string {
  return `{{ ${NATIVE}((${expr})) }}`;
}

/** The syntax error of a template string, or undefined when it compiles. */
export function checkTemplate(src: string): string | undefined {
  try {
    compile(src);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The syntax error of a `when:` expression, or undefined when it compiles. */
export function checkExpression(expr: string): string | undefined {
  const inner = soleExpression(expr) ?? expr;
  try {
    // compiled as printed, not wrapped: nunjucks' messages then match what the author wrote
    compile(`{{ ${inner} }}`, expr);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

class Renderer {
  private resolved = new Map<string, unknown>();
  private resolving: string[] = [];

  constructor(private readonly vars: Vars) {}

  value(v: unknown): unknown {
    if (typeof v === 'string') return isTemplate(v) ? this.string(v) : v;
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const r = this.value(x);
        // Ansible's `omit`: the key is dropped as if it was never written
        if (r !== OMIT) out[k] = r;
      }
      return out;
    }
    return v;
  }

  string(s: string): unknown {
    const expr = soleExpression(s);
    if (expr !== undefined) return this.evaluate(expr, s);
    const c = compile(s);
    return this.run(c, s);
  }

  /** An expression's native value; undefined results are errors, as in Ansible. */
  evaluate(expr: string, shown: string): unknown {
    const c = compile(nativeSource(expr), shown);
    let out: unknown;
    let called = false;
    this.run(c, shown, {
      [NATIVE]: (v: unknown) => {
        called = true;
        out = v;
        return '';
      },
    });
    if (called && out === undefined) {
      throw new TemplateError(`\`${shown}\` is undefined (a missing attribute or key?)`, shown);
    }
    return out;
  }

  private run(c: Compiled, shown: string, extra: Vars = {}): string {
    const ctx: Vars = { ...this.vars, ...extra };
    for (const name of c.names) {
      if (name in extra) continue;
      if (!(name in this.vars)) {
        if (BUILTIN_NAMES.has(name)) continue;
        const near = nearest(name, Object.keys(this.vars));
        throw new TemplateError(`undefined variable \`${name}\` in \`${shown}\``, shown, name, near && `did you mean \`${near}\`?`);
      }
      ctx[name] = this.resolve(name);
    }
    try {
      return c.template.render(ctx);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      const msg = cleanMessage(e);
      if (/null or undefined/.test(msg)) {
        throw new TemplateError(`\`${shown}\` printed an undefined or null value (a missing attribute or key?)`, shown);
      }
      throw new TemplateError(`cannot render \`${shown}\`: ${msg}`, shown);
    }
  }

  private resolve(name: string): unknown {
    if (this.resolved.has(name)) return this.resolved.get(name);
    const raw = this.vars[name];
    if (!hasTemplate(raw)) return raw;
    if (this.resolving.includes(name)) {
      throw new TemplateError(`variable \`${name}\` refers to itself (${[...this.resolving, name].join(' -> ')})`, String(raw), name);
    }
    this.resolving.push(name);
    try {
      const v = this.value(raw);
      this.resolved.set(name, v);
      return v;
    } finally {
      this.resolving.pop();
    }
  }
}

/**
 * Render every template string inside `value` (objects and arrays recursively). A string that is
 * exactly one `{{ expr }}` becomes the expression's value with its type. Throws TemplateError.
 */
export function renderValue(value: unknown, vars: Vars): unknown {
  return new Renderer(vars).value(value);
}

/** Render a template to text (template files, messages): never a native value. */
export function renderString(template: string, vars: Vars): string {
  const r = new Renderer(vars);
  const out = r.string(template);
  return typeof out === 'string' ? out : out === null ? '' : pyPrint(out);
}

/** The native value of a bare expression (`users | length`), or of a `{{ expr }}` string. */
export function evaluateExpression(expr: string, vars: Vars): unknown {
  const inner = soleExpression(expr) ?? expr;
  return new Renderer(vars).evaluate(inner, expr);
}

/** Python's truthiness: empty lists and dicts are false. */
export function pyTruthy(v: unknown): boolean {
  return truthy(v);
}

/**
 * A `when:` condition: a Jinja expression without braces (`docker_source == 'vendor'`,
 * `not foo`, `foo is defined and foo`), or a boolean. Python truthiness: empty lists are false.
 */
export function evalWhen(expr: string | boolean | undefined, vars: Vars): boolean {
  if (expr === undefined || typeof expr === 'boolean') return expr ?? true;
  const inner = soleExpression(expr) ?? expr;
  return truthy(new Renderer(vars).evaluate(inner, expr));
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

/**
 * nunjucks' words for the `{{ }}` a `when:` expression is wrapped in, which its author never wrote
 * (`x ==` read "unexpected token: }}"), said in the author's terms.
 */
function expressionMessage(msg: string): string {
  if (msg === 'unexpected token: }}') return 'the expression ends too early (an operand is missing at its end)';
  if (msg === 'expected comma after expression') return 'a parenthesis or bracket is not closed, or a comma is missing';
  if (msg === 'expected variable end') return 'more follows a complete expression (an operator or `and`/`or` missing?)';
  return msg.replace(/\bvariable-end\b/g, 'the end of the expression');
}

function cleanMessage(e: unknown): string {
  const lines = String((e as Error)?.message ?? e)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // nunjucks prefixes "Template render error: (unknown path) [Line 1, Column 3]"
  return lines.filter((l) => !/^Template render error|^\(unknown path\)/.test(l)).join(' ') || lines.join(' ');
}

import { describe, expect, it } from 'vitest';
import { TemplateError, checkExpression, evalWhen, hasTemplate, renderString, renderValue } from '../../../src/playbook/template.js';

const vars = {
  app: 'shop',
  app_dir: '/srv/{{ app }}',
  ports: [80, 443],
  n: 5,
  docker_source: 'vendor',
  empty: [],
  nothing: null,
  settings: { tls: true },
};

function templateError(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error('no TemplateError');
}

describe('renderValue', () => {
  it('renders strings inside objects and arrays, leaving other values alone', () => {
    expect(renderValue({ a: 'x-{{ app }}', b: ['{{ n + 1 }} items', 7, true], c: { d: 'plain' } }, vars)).toEqual({
      a: 'x-shop',
      b: ['6 items', 7, true],
      c: { d: 'plain' },
    });
  });

  it('keeps the native type of a value that is exactly one expression', () => {
    expect(renderValue('{{ ports }}', vars)).toEqual([80, 443]);
    expect(renderValue('{{ n * 2 }}', vars)).toBe(10);
    expect(renderValue(' {{ settings.tls }} ', vars)).toBe(true);
    expect(renderValue("{{ missing | default('x') }}", vars)).toBe('x');
    expect(renderValue('{{ nothing }}', vars)).toBeNull();
  });

  it('renders variables whose values are templates themselves, and refuses cycles', () => {
    expect(renderValue('{{ app_dir }}/current', vars)).toBe('/srv/shop/current');
    expect(templateError(() => renderValue('{{ a }}', { a: '{{ b }}', b: '{{ a }}' })).message).toBe('variable `a` refers to itself (a -> b -> a)');
  });

  it('names an undefined variable, with a suggestion, even where nunjucks would stay silent', () => {
    const e = templateError(() => renderValue('{{ ap }}', vars));
    expect([e.message, e.variable, e.hint]).toEqual(['undefined variable `ap` in `{{ ap }}`', 'ap', 'did you mean `app`?']);
    // a comparison with an undefined name prints no undefined value, yet it is a typo
    expect(templateError(() => renderValue("{{ docker_sorce == 'vendor' }}", vars)).variable).toBe('docker_sorce');
  });

  it('reports a missing attribute and a template syntax error', () => {
    expect(templateError(() => renderValue('{{ settings.nope }}', vars)).message).toBe('`{{ settings.nope }}` is undefined (a missing attribute or key?)');
    expect(templateError(() => renderValue('{{ app ', vars)).message).toMatch(/^template syntax error in `\{\{ app `/);
  });

  it('does not autoescape', () => {
    expect(renderValue('{{ x }}', { x: '<a href="&">' })).toBe('<a href="&">');
  });

  it('hasTemplate looks deep', () => {
    expect(hasTemplate({ a: [{ b: 'x {% if y %}{% endif %}' }] })).toBe(true);
    expect(hasTemplate({ a: ['{ not one }'] })).toBe(false);
  });
});

describe('renderString', () => {
  it('renders blocks to text with Ansible trim_blocks', () => {
    expect(renderString('{% for p in ports %}\nlisten {{ p }};\n{% endfor %}\n', vars)).toBe('listen 80;\nlisten 443;\n');
  });
});

describe('evalWhen', () => {
  it.each([
    ["docker_source == 'vendor'", true],
    ["docker_source != 'vendor'", false],
    ['not empty_flag | default(false)', true],
    ['foo is defined', false],
    ['app is defined', true],
    ['foo is not defined', true],
    ['foo is defined and foo', false], // the right side is guarded: no undefined error
    ['foo is undefined or foo == 1', true],
    ['x if x is defined else n > 3', true],
    ['{{ n > 3 }}', true], // the {{ }} Ansible warns about
    ['ports', true],
    ['empty', false], // Python truthiness: an empty list is false
    ['True and not False', true],
    ["'a' in app", false],
    ['443 in ports', true],
  ])('%s -> %s', (expr, expected) => {
    expect(evalWhen(expr, vars)).toBe(expected);
  });

  it('passes booleans through and treats no condition as true', () => {
    expect(evalWhen(false, vars)).toBe(false);
    expect(evalWhen(undefined, vars)).toBe(true);
  });

  it('fails on an undefined variable instead of silently being false', () => {
    expect(templateError(() => evalWhen("docker_sorce == 'vendor'", vars)).hint).toBe('did you mean `docker_source`?');
  });
});

describe('checkExpression: a `when:` syntax error in the words of its author', () => {
  // the expression is compiled inside `{{ }}` the author never wrote: nunjucks' "}}" and "variable-end" must not show
  it.each([
    ["'web' in group_names and", 'the expression ends too early (an operand is missing at its end)'],
    ['x ==', 'the expression ends too early (an operand is missing at its end)'],
    ['a b', 'more follows a complete expression (an operator or `and`/`or` missing?)'],
    ['(a', 'a parenthesis or bracket is not closed, or a comma is missing'],
    ['a |', 'expected symbol, got the end of the expression'],
  ])('%s', (expr, reason) => {
    expect(checkExpression(expr)).toBe(`template syntax error in \`${expr}\`: ${reason}`);
  });
});

/**
 * Filters against Ansible: test/unit/fixtures/ansible-filters/expected.json is what Debian's
 * ansible 2.14 rendered for every line of cases.txt with vars.yml (make-expected.sh there).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { sha512Crypt } from '../../../src/playbook/sha512-crypt.js';
import { renderString, renderValue } from '../../../src/playbook/template.js';

const DIR = join(__dirname, '..', 'fixtures', 'ansible-filters');
const vars = YAML.parse(readFileSync(join(DIR, 'vars.yml'), 'utf8')) as Record<string, unknown>;
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, string>;
const cases = readFileSync(join(DIR, 'cases.txt'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => l.split('\t') as [string, string]);

/** Where shipshape writes something else that means the same, and the test that proves it. */
const EQUIVALENT: Record<string, (ours: string, ansible: string) => void> = {
  // shlex.quote writes ' as '"'"', shq as '\'': the shell reads both back to the same word
  quote_evil: (ours) => expect(spawnSync('sh', ['-c', `printf %s ${ours}`], { encoding: 'utf8' }).stdout).toBe(vars.evil),
};

describe('filters, tests and printing render as Ansible 2.14 renders them', () => {
  it('has an expected value for every case', () => {
    expect(Object.keys(expected).sort()).toEqual(cases.map(([n]) => n).sort());
  });
  for (const [name, template] of cases) {
    // password_hash: 656000 rounds, as Ansible, take seconds on a busy machine
    it(`${name}: ${template}`, { timeout: 120_000 }, () => {
      const ours = renderString(template, { ...vars, none_value: null });
      if (EQUIVALENT[name]) EQUIVALENT[name](ours, expected[name]);
      else expect(ours).toBe(expected[name]);
    });
  }
});

describe('password_hash', () => {
  it('is the sha512-crypt of openssl passwd -6 and of the specification’s vectors', () => {
    const openssl = spawnSync('openssl', ['passwd', '-6', '-salt', 'pepper42', 'correct horse'], { encoding: 'utf8' });
    expect(sha512Crypt('correct horse', 'pepper42')).toBe(openssl.stdout.trim());
    expect(sha512Crypt('Hello world!', 'saltstring')).toBe('$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
  });

  it('draws a random salt, or one derived from seed= so a re-run writes the same hash', () => {
    const a = renderString("{{ 'pw' | password_hash('sha512', rounds=6000) }}", {});
    const b = renderString("{{ 'pw' | password_hash('sha512', rounds=6000) }}", {});
    expect(a).not.toBe(b);
    const s1 = renderString("{{ 'pw' | password_hash('sha512', rounds=6000, seed=inventory_hostname) }}", { inventory_hostname: 'h1' });
    expect(renderString("{{ 'pw' | password_hash('sha512', rounds=6000, seed=inventory_hostname) }}", { inventory_hostname: 'h1' })).toBe(s1);
    expect(s1).toMatch(/^\$6\$rounds=6000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
  });
});

describe('omit, lookups, quoting and printing', () => {
  it('omit drops a module argument', () => {
    expect(renderValue({ name: 'x', mode: '{{ m | default(omit) }}' }, {})).toEqual({ name: 'x' });
    expect(renderValue({ name: 'x', mode: '{{ m | default(omit) }}' }, { m: '0644' })).toEqual({ name: 'x', mode: '0644' });
  });

  it('lookup env and pipe run on the controller; file and template read beside the playbook', () => {
    process.env.SS_LOOKUP_TEST = 'from env';
    expect(renderString("{{ lookup('env', 'SS_LOOKUP_TEST') }}", {})).toBe('from env');
    expect(renderString("{{ lookup('pipe', 'printf \"a b\\n\\n\"') }}", {})).toBe('a b');
    expect(renderString("{{ lookup('file', 'cases.txt').split('\\n') | first }}", { playbook_dir: DIR })).toBe(`${cases[0][0]}\t${cases[0][1]}`);
    expect(renderString("{{ lookup('template', 'vars.yml') | length > 0 }}", { playbook_dir: DIR })).toBe('True');
    expect(() => renderString("{{ lookup('file', 'nope.txt') }}", { playbook_dir: DIR })).toThrow(/nope.txt not found/);
    expect(() => renderString("{{ lookup('dig', 'x') }}", {})).toThrow(/not supported/);
  });

  it('a dict or list inside a string prints as Python does, never [object Object]', () => {
    expect(renderString('v={{ x }}', { x: { a: [1, 'b'], c: false } })).toBe("v={'a': [1, 'b'], 'c': False}");
  });

  it('string literals are Python’s: unknown escapes keep their backslash', () => {
    expect(renderString("{{ 'a  b' | regex_replace('\\s+', '-') }}", {})).toBe('a-b');
    expect(renderString("{{ 'x\\ty' }}", {})).toBe('x\ty');
  });
});

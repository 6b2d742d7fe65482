/**
 * The Ansible-compatible modules, as pure plans on fixture facts. Edits (replace, blockinfile) are
 * compared with what Debian's ansible 2.14 made of the same input: fixtures/ansible-edits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { ModuleDef, PrepareContext } from '../../../src/core/module.js';
import { parseUpgradable } from '../../../src/facts/apt-upgrade.js';
import { parseStat } from '../../../src/facts/stat.js';
import { placeBlock } from '../../../src/modules/blockinfile.js';
import { modules } from '../../../src/modules/index.js';
import { replaceIn } from '../../../src/modules/replace.js';
import { canonicalModule } from '../../../src/playbook/task.js';
import { evaluateExpression, renderString } from '../../../src/playbook/template.js';
import { planFor } from '../helpers/plan.js';

const DIR = join(__dirname, '..', 'fixtures', 'ansible-edits');
const cases = YAML.parse(readFileSync(join(DIR, 'cases.yml'), 'utf8')) as { name: string; module: string; input: string; args: Record<string, unknown> }[];
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, string>;
const file = (content: string) => ({ exists: true, type: 'file', mode: '644', owner: 'root', group: 'root', size: content.length, content, sha256: 'x' });

describe('replace and blockinfile edit as Ansible 2.14 does', () => {
  for (const c of cases) {
    it(c.name, () => {
      const args = modules[c.module].schema.parse({ path: '/etc/x', ...c.args }) as never;
      const out = c.module === 'replace' ? replaceIn(c.input, args).text : placeBlock(c.input, args);
      expect(out).toBe(expected[c.name]);
    });
  }

  it('plans a write with a diff, and nothing when the text is already right', () => {
    const p = planFor('replace', { path: '/etc/x', regexp: '^a', replace: 'b' }, { file: file('a\na\n') });
    expect(p.steps).toEqual([{ kind: 'write', path: '/etc/x', content: 'b\nb\n' }]);
    expect(p.reason).toBe('2 replacements made in /etc/x');
    expect(planFor('replace', { path: '/etc/x', regexp: '^a', replace: 'b' }, { file: file('b\n') }).steps).toEqual([]);
    const b = planFor('blockinfile', { path: '/etc/x', block: 'k=v' }, { file: file('') }).steps[0];
    expect(b).toMatchObject({ kind: 'write', content: '# BEGIN ANSIBLE MANAGED BLOCK\nk=v\n# END ANSIBLE MANAGED BLOCK\n' });
  });

  it('fails on a missing file unless blockinfile may create it', () => {
    expect(planFor('replace', { path: '/etc/none', regexp: 'a' }, { file: { exists: false } }).fail).toMatch(/does not exist/);
    expect(planFor('blockinfile', { path: '/etc/none', block: 'x' }, { file: { exists: false } }).fail).toMatch(/create: true/);
    expect(planFor('blockinfile', { path: '/etc/none', block: 'x', create: true }, { file: { exists: false } }).steps).toHaveLength(1);
  });
});

describe('module names: Ansible synonyms and collection FQCNs', () => {
  it.each([
    ['ansible.builtin.systemd', 'service'],
    ['systemd_service', 'service'],
    ['ansible.posix.authorized_key', 'authorized_key'],
    ['ansible.posix.sysctl', 'sysctl'],
    ['community.general.ufw', 'ufw'],
    ['community.general.timezone', 'timezone'],
    ['ansible.builtin.package', 'package'],
    ['ansible.builtin.shell', 'shell'],
  ])('%s is %s', (name, ours) => expect(canonicalModule(name, modules)).toBe(ours));

  it('unknown collections stay unknown', () => expect(canonicalModule('community.general.nope', modules)).toBeUndefined());
});

describe('package', () => {
  it('hands name and state to apt', () => {
    const p = planFor('package', { name: ['tzdata'], state: 'installed' }, { packages: { available: true, entries: [] } });
    // (the step before it finishes an interrupted dpkg run, if any)
    expect(p.steps.at(-1)).toMatchObject({ kind: 'run', argv: expect.arrayContaining(['install', '--', 'tzdata']) });
    expect(() => modules.package.schema.parse({ name: 'x', use: 'yum' })).toThrow(/uses apt/);
  });
});

describe('timezone', () => {
  const cur = (link: string, file: string, known = true) => ({ current: { link, file, known } });
  it('links /etc/localtime and writes /etc/timezone, or says it is set', () => {
    const p = planFor('timezone', { name: 'Europe/Berlin' }, cur('Etc/UTC', 'Etc/UTC'));
    expect(p.steps).toEqual([
      { kind: 'run', argv: ['ln', '-sfn', '/usr/share/zoneinfo/Europe/Berlin', '/etc/localtime'] },
      { kind: 'write', path: '/etc/timezone', content: 'Europe/Berlin\n', mode: '0644' },
    ]);
    expect(planFor('timezone', { name: 'Europe/Berlin' }, cur('Europe/Berlin', 'Europe/Berlin')).steps).toEqual([]);
    expect(planFor('timezone', { name: 'Mars/Base' }, cur('Etc/UTC', 'Etc/UTC', false)).fail).toMatch(/tzdata/);
    expect(() => modules.timezone.schema.parse({ name: '../../etc/passwd' })).toThrow();
  });

  it('reads the zone from the probe output, with or without /etc/timezone', () => {
    const probe = modules.timezone.facts({ name: 'UTC' }).current;
    expect(probe.parse('/usr/share/zoneinfo/Etc/UTC\nEtc/UTC\nknown\n', 0)).toEqual({ link: 'Etc/UTC', file: 'Etc/UTC', known: true });
    expect(probe.parse('\n\n', 0)).toEqual({ link: '', file: '', known: false });
  });
});

describe('stat', () => {
  it('parses stat into Ansible’s return keys, for register', () => {
    const s = parseStat('/etc/x', 'regular file|644|0|0|root|root|12|1700000000|42|1\n\n\nabc123\n');
    expect(s).toMatchObject({ exists: true, path: '/etc/x', mode: '0644', isreg: true, isdir: false, islnk: false, uid: 0, pw_name: 'root', size: 12, checksum: 'abc123' });
    expect(parseStat('/x', '')).toEqual({ exists: false });
    const link = parseStat('/l', 'symbolic link|777|0|0|root|root|4|1|2|1\n/target\n/target\n\n');
    expect(link).toMatchObject({ islnk: true, lnk_target: '/target', lnk_source: '/target' });
    const p = planFor('stat', { path: '/etc/x' }, { stat: s });
    expect(p).toMatchObject({ steps: [], result: { stat: s } });
  });
});

describe('debug and assert decide on the controller', () => {
  const ctx: PrepareContext = {
    readLocal: () => '',
    render: (t) => renderString(t, { n: [1, 2] }),
    evaluate: (e) => evaluateExpression(e, { n: [1, 2], name: 'web' }),
  };
  const prepared = (m: ModuleDef, args: unknown) => {
    const a = m.prepare!(m.schema.parse(args), ctx);
    return m.plan(a, {} as never, { host: undefined as never, access: undefined as never, check: false });
  };
  it('debug prints msg, or a variable as NAME: value', () => {
    expect(prepared(modules.debug, { msg: 'hi' }).reason).toBe('hi');
    expect(prepared(modules.debug, { var: 'n' }).reason).toBe('n: [1, 2]');
    expect(prepared(modules.debug, {}).reason).toBe('Hello world!');
  });
  it('assert fails with fail_msg (or msg) on the first false condition', () => {
    expect(prepared(modules.assert, { that: ['n | length == 2', "name == 'web'"] })).toMatchObject({ reason: 'All assertions passed' });
    expect(prepared(modules.assert, { that: 'n | length > 5', fail_msg: 'too few' })).toMatchObject({ fail: 'too few' });
    expect(prepared(modules.assert, { that: ['n', 'name == "db"'] }).fail).toBe('Assertion failed: name == "db"');
  });
});

describe('apt upgrade', () => {
  it('reads the simulation and upgrades only when it would install something', () => {
    const up = parseUpgradable('Inst libc6 [2.36-9] (2.36-9+deb12u4 Debian:12.5/stable [amd64])\nInst newdep (1.0 Debian:12.5/stable [amd64])\n');
    expect(up.packages).toEqual(['libc6 2.36-9 -> 2.36-9+deb12u4', 'newdep 1.0 (new)']);
    const p = planFor('apt', { upgrade: 'dist' }, { upgradable: up });
    expect(p.steps.at(-1)).toMatchObject({ kind: 'run', argv: expect.arrayContaining(['dist-upgrade']) });
    expect(planFor('apt', { upgrade: true, force_apt_get: true }, { upgradable: { packages: [] } })).toMatchObject({ steps: [], reason: 'no package to upgrade' });
  });
});

describe('reboot', () => {
  it('schedules the reboot so the step returns, and tells the engine to wait for a new boot', () => {
    const p = planFor('reboot', { reboot_timeout: 120 }, { boot: 'abc' });
    expect(p.steps).toEqual([{ kind: 'run', argv: ['systemd-run', '--quiet', '--no-block', '--on-active=2', '--', '/bin/systemctl', 'reboot'] }]);
    expect(p.reboot).toEqual({ bootId: 'abc', timeoutSec: 120, postDelaySec: 0, test: 'whoami' });
  });
});

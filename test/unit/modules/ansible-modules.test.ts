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

describe('get_url', () => {
  const present = (path: string, sum?: string) => ({ present: { path, exists: sum !== undefined, ...(sum ? { sum } : {}) } });
  it('downloads until the checksum matches, and never again once it does', () => {
    const a = { url: 'http://10.99.0.1:8099/app.tar.gz', dest: '/opt/app.tar.gz', checksum: 'sha256:ABC123' };
    expect(planFor('get_url', a, present('/opt/app.tar.gz', 'abc123'))).toMatchObject({ steps: [], reason: '/opt/app.tar.gz has checksum sha256:abc123' });
    const p = planFor('get_url', a, present('/opt/app.tar.gz', 'fff'));
    expect(p.reason).toBe('download http://10.99.0.1:8099/app.tar.gz to /opt/app.tar.gz (checksum fff is not abc123)');
    expect(p.steps).toEqual([
      {
        kind: 'write',
        path: '/opt/app.tar.gz',
        from: ['curl', '-fsSL', '--max-time', '60', '--connect-timeout', '10', '--', 'http://10.99.0.1:8099/app.tar.gz'],
        mode: '0644',
        validate: expect.stringContaining(`[ "$(sha256sum < %s | cut -d' ' -f1)" = abc123 ]`),
      },
    ]);
  });
  it('keeps an existing file without checksum unless force', () => {
    expect(planFor('get_url', { url: 'https://x.example/a', dest: '/a' }, present('/a', 'x')).steps).toEqual([]);
    expect(planFor('get_url', { url: 'https://x.example/a', dest: '/a', force: true }, present('/a', 'x')).steps).toHaveLength(1);
    expect(() => modules.get_url.schema.parse({ url: 'file:///etc/passwd', dest: '/x' })).toThrow(/http/);
  });
  it('finds the file name for a directory dest on the host', () => {
    const probe = modules.get_url.facts(modules.get_url.schema.parse({ url: 'https://x.example/dl/tool.tgz', dest: '/opt' })).present;
    expect(probe.script).toContain("p=/opt/tool.tgz");
    expect(probe.parse('/opt/tool.tgz\nabc\n', 0)).toEqual({ path: '/opt/tool.tgz', exists: true, sum: 'abc' });
    expect(probe.parse('/opt/tool.tgz\n', 0)).toEqual({ path: '/opt/tool.tgz', exists: false });
  });
});

describe('unarchive', () => {
  const a = { src: '/opt/app.tar.gz', dest: '/opt/app', remote_src: true };
  const dir = { exists: true, type: 'directory', mode: '755', owner: 'root', group: 'root', size: 4096 };
  it('unpacks when entries are missing, and is done when all are there or creates exists', () => {
    expect(planFor('unarchive', a, { archive: { readable: true, entries: 3, missing: 3 }, dest: dir }).steps).toEqual([
      // as whoever controls dest (the path step's `into`), never root's tar in a directory another user owns
      { kind: 'path', path: '/opt/app', argv: ['tar', '-xf', '/opt/app.tar.gz', '-C'], into: true },
    ]);
    expect(planFor('unarchive', a, { archive: { readable: true, entries: 3, missing: 0 }, dest: dir }).reason).toBe('all 3 entries of /opt/app.tar.gz are in /opt/app');
    expect(planFor('unarchive', { ...a, creates: '/opt/app/bin' }, { archive: { readable: true, entries: 3, missing: 3 }, dest: dir, creates: dir }).steps).toEqual([]);
    expect(planFor('unarchive', a, { archive: { readable: false, entries: 0, missing: 0 }, dest: dir }).fail).toMatch(/missing or not an archive/);
  });
  it('refuses an archive from the controller with what to do instead', () => {
    expect(() => modules.unarchive.schema.parse({ src: '/x.tgz', dest: '/y' })).toThrow(/put the archive on the host first/);
  });
});

describe('refused modules and the one-line apt repository', () => {
  it('apt_key and git are refused with the alternative', () => {
    expect(() => modules.apt_key.schema.parse({ url: 'https://x/key' })).toThrow(/apt_repository with key/);
    expect(() => modules.git.schema.parse({ repo: 'https://x/r.git', dest: '/srv' })).toThrow(/get_url \+ unarchive/);
  });
  it('apt_repository reads repo and filename as Ansible', () => {
    const r = modules.apt_repository.schema.parse({ repo: 'deb [signed-by=/usr/share/keyrings/k.gpg arch=amd64,arm64] https://download.example.com/linux/debian bookworm stable' });
    expect(r).toMatchObject({ name: 'download_example_com_linux_debian', types: ['deb'], uris: ['https://download.example.com/linux/debian'], suites: ['bookworm'], components: ['stable'], architectures: ['amd64', 'arm64'], signed_by: '/usr/share/keyrings/k.gpg' });
    expect(modules.apt_repository.schema.parse({ repo: 'deb http://x.example/d stable main', filename: 'x.list', state: 'absent' })).toMatchObject({ name: 'x', state: 'absent' });
    expect(() => modules.apt_repository.schema.parse({ repo: 'ppa:user/thing' })).toThrow(/repo must look like/);
    expect(() => modules.apt_repository.schema.parse({ repo: 'deb [trusted=yes] http://x/d s main' })).toThrow(/trusted.*not supported/);
  });
});

describe('apt install steps run to the end', () => {
  it('the interrupted-dpkg check does not end the task when dpkg is fine (the install after it runs)', async () => {
    const { configureInterrupted } = await import('../../../src/modules/apt.js');
    const { spawnSync } = await import('node:child_process');
    // the steps of one task run in one `set -e` subshell, as renderBatch writes them
    const script = `(\nset -e\n${configureInterrupted(5)}\necho install-ran\n)`;
    const dir = await import('node:fs').then((fs) => fs.mkdtempSync('/tmp/ss-dpkg-'));
    const r = spawnSync('sh', ['-c', `dpkg() { :; }; ${script}`], { encoding: 'utf8', cwd: dir });
    expect(r.stdout).toContain('install-ran');
  });
});

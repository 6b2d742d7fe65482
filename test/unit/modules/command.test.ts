import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModuleDef, Plan } from '../../../src/core/module.js';
import raw from '../../../src/modules/raw.js';
import shell from '../../../src/modules/shell.js';
import { renderStep } from '../../../src/core/step.js';
import { checkStatus } from '../../../src/facts/command.js';
import { parseStatLine } from '../../../src/facts/file.js';
import command from '../../../src/modules/command.js';
import { debian12, sshAccess } from '../helpers/plan.js';

/** planFor() for a module not yet in the registry: schema applied, fixture facts checked against the module's. */
function plan(args: unknown, facts: Record<string, unknown>, check = false, mod: ModuleDef = command): Plan {
  const a = mod.schema.parse(args);
  expect(Object.keys(facts).sort()).toEqual(Object.keys(mod.facts(a)).filter((k) => !(check && k === 'unless')).sort());
  return mod.plan(a, facts as never, { host: debian12, access: sshAccess, check });
}
const argv = (p: Plan) => p.steps.map((s) => (s.kind === 'run' ? s.argv : s.kind));

const dir = parseStatLine('directory|755|root|root|4096');
const missing = { exists: false };

describe('command module plans', () => {
  it('splits a cmd into words as Ansible does, and runs them without a shell', () => {
    const p = plan({ cmd: 'systemctl daemon-reload' }, {});
    expect(argv(p)).toEqual([['systemctl', 'daemon-reload']]);
    expect(p.reason).toBe('run systemctl daemon-reload');
    // quotes group words (Python's shlex.split gives ['echo', 'a b', 'c"d', "e'f"])
    expect(argv(plan({ cmd: `echo "a b" 'c"d' "e'f"` }, {}))).toEqual([['echo', 'a b', 'c"d', "e'f"]]);
  });

  it('a value holding shell syntax stays arguments: nothing after `;` runs', () => {
    const p = plan({ cmd: 'echo ; touch /root/x' }, {});
    expect(argv(p)).toEqual([['echo', ';', 'touch', '/root/x']]);
    // rendered for the remote sh, every word is quoted
    expect(renderStep(p.steps[0]!)).toBe("echo ';' touch /root/x");
    expect(spawnSync('sh', ['-c', renderStep(plan({ cmd: 'echo $(id -u) ; `id`' }, {}).steps[0]!)], { encoding: 'utf8' }).stdout).toBe('$(id -u) ; `id`\n');
  });

  it('takes Ansible’s free form string as cmd', () => {
    expect(argv(plan('update-grub', {}))).toEqual([['update-grub']]);
  });

  it('refuses a cmd that cannot be split into words', () => {
    expect(() => command.schema.parse({ cmd: 'echo "open' })).toThrow(/no closing quotation/);
  });

  it('runs an argv without a shell', () => {
    const p = plan({ argv: ['/usr/local/bin/setup', '--name', "it's"] }, {});
    expect(argv(p)).toEqual([['/usr/local/bin/setup', '--name', "it's"]]);
    expect(p.reason).toBe("run /usr/local/bin/setup --name 'it'\\''s'");
  });

  it('skips when creates exists, naming the guard', () => {
    const p = plan({ cmd: 'tar xf /tmp/app.tgz', chdir: '/opt', creates: 'app' }, { creates: dir });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('/opt/app exists (creates)');
  });

  it('runs when creates is missing, in chdir, saying why', () => {
    const p = plan({ cmd: 'tar xf /tmp/app.tgz', chdir: '/opt', creates: '/opt/app' }, { creates: missing });
    expect(argv(p)).toEqual([['sh', '-c', 'cd -- "$1" || exit; shift; exec "$@"', 'sh', '/opt', 'tar', 'xf', '/tmp/app.tgz']]);
    expect(p.reason).toBe('run tar xf /tmp/app.tgz in /opt (/opt/app is missing)');
  });

  it('runs only while removes exists', () => {
    const gone = plan({ cmd: 'rm -rf /var/cache/old', removes: '/var/cache/old' }, { removes: missing });
    expect(gone.steps).toEqual([]);
    expect(gone.reason).toBe('/var/cache/old does not exist (removes)');
    expect(plan({ cmd: 'rm -rf /var/cache/old', removes: '/var/cache/old' }, { removes: dir }).reason).toBe('run rm -rf /var/cache/old (/var/cache/old exists)');
  });

  it('skips when unless succeeds, and runs when it fails', () => {
    const args = { cmd: 'ufw --force enable', unless: 'ufw status | grep -q "Status: active"' };
    expect(checkStatus(args.unless).operatorCode).toBe(true);
    const ok = plan(args, { unless: 0 });
    expect(ok.steps).toEqual([]);
    expect(ok.reason).toBe('`ufw status | grep -q "Status: active"` succeeded (unless)');
    expect(plan(args, { unless: 1 }).reason).toBe('run ufw --force enable (`ufw status | grep -q "Status: active"` failed)');
  });

  it('feeds stdin with Ansible’s trailing newline', () => {
    const p = plan({ argv: ['chpasswd'], stdin: 'deploy:x' }, {});
    expect(p.steps[0]).toMatchObject({ kind: 'run', input: 'deploy:x\n' });
    expect(plan({ argv: ['cat'], stdin: 'a', stdin_add_newline: false }, {}).steps[0]).toMatchObject({ input: 'a' });
  });

  it('needs exactly one of cmd and argv', () => {
    expect(() => command.schema.parse({ cmd: 'a', argv: ['b'] })).toThrow(/exactly one of cmd or argv/);
    expect(() => command.schema.parse({ creates: '/x' })).toThrow(/exactly one of cmd or argv/);
    expect(() => command.schema.parse({ cmd: 'a', chdir: 'rel' })).toThrow(/absolute/);
  });
});

describe('check mode runs nothing: commands, and `unless` (operator code)', () => {
  it('skips a command no creates/removes can judge, saying what would run', () => {
    const p = plan({ cmd: 'systemctl daemon-reload' }, {}, true);
    expect(p.steps).toEqual([]);
    expect(p.skip).toBe('commands do not run in check mode (no creates/removes can tell without running it): would run systemctl daemon-reload');
  });

  it('creates/removes decide in check: ok when done, changed (would run) when not', () => {
    expect(plan({ cmd: 'make', creates: '/opt/app' }, { creates: dir }, true)).toMatchObject({ steps: [], reason: '/opt/app exists (creates)' });
    const would = plan({ cmd: 'make', creates: '/opt/app' }, { creates: missing }, true);
    expect(would.skip).toBeUndefined();
    expect(argv(would)).toEqual([['make']]);
  });

  it('a task with unless is skipped in check: its unless is not run there', () => {
    const p = plan({ cmd: 'touch /x', unless: 'rm -rf /important' }, {}, true);
    expect(p.skip).toMatch(/its `unless` is not run in check mode/);
  });
});

describe('shell and raw', () => {
  it('shell runs its cmd with /bin/sh -c, or with executable', () => {
    expect(argv(plan({ cmd: 'a | b > c' }, {}, false, shell))).toEqual([['/bin/sh', '-c', 'a | b > c']]);
    expect(argv(plan({ cmd: 'set -o pipefail; a | b', executable: '/bin/bash' }, {}, false, shell))).toEqual([['/bin/bash', '-c', 'set -o pipefail; a | b']]);
    expect(argv(plan('echo hi', {}, false, shell))).toEqual([['/bin/sh', '-c', 'echo hi']]);
  });

  it('shell honours creates and chdir like command', () => {
    expect(plan({ cmd: 'x > y', creates: 'y', chdir: '/srv' }, { creates: dir }, false, shell).reason).toBe('/srv/y exists (creates)');
  });

  it('raw runs every apply, never in check', () => {
    expect(argv(plan('apt-get -y install python3', {}, false, raw))).toEqual([['/bin/sh', '-c', 'apt-get -y install python3']]);
    expect(plan('reboot', {}, true, raw).skip).toMatch(/do not run in check mode/);
  });
});

describe('the chdir wrapper on this machine', () => {
  const tmp = mkdtempSync(join(tmpdir(), "shipshape cd 'q' $x "));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('runs in a directory whose name needs quoting, and fails when it is missing', () => {
    const p = plan({ argv: ['sh', '-c', 'pwd > here'], chdir: tmp }, {});
    const r = spawnSync('sh', ['-c', p.steps.map(renderStep).join('\n')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(readFileSync(join(tmp, 'here'), 'utf8')).toBe(`${tmp}\n`);
    const bad = plan({ cmd: 'true', chdir: join(tmp, 'missing') }, {});
    expect(spawnSync('sh', ['-c', renderStep(bad.steps[0]!)]).status).not.toBe(0);
  });
});

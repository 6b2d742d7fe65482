import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/core/module.js';
import { renderStep } from '../../../src/core/step.js';
import { parseStatLine } from '../../../src/facts/file.js';
import command from '../../../src/modules/command.js';
import { debian12, sshAccess } from '../helpers/plan.js';

/** planFor() for a module not yet in the registry: schema applied, fixture facts checked against the module's. */
function plan(args: unknown, facts: Record<string, unknown>): Plan {
  const a = command.schema.parse(args);
  expect(Object.keys(facts).sort()).toEqual(Object.keys(command.facts(a)).sort());
  return command.plan(a, facts as never, { host: debian12, access: sshAccess, check: false });
}
const argv = (p: Plan) => p.steps.map((s) => (s.kind === 'run' ? s.argv : s.kind));

const dir = parseStatLine('directory|755|root|root|4096');
const missing = { exists: false };

describe('command module plans', () => {
  it('runs a cmd through sh -c, and says what it runs', () => {
    const p = plan({ cmd: 'systemctl daemon-reload' }, {});
    expect(argv(p)).toEqual([['sh', '-c', 'systemctl daemon-reload']]);
    expect(p.reason).toBe('run systemctl daemon-reload');
  });

  it('takes Ansible’s free form string as cmd', () => {
    expect(argv(plan('update-grub', {}))).toEqual([['sh', '-c', 'update-grub']]);
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
    expect(argv(p)).toEqual([['sh', '-c', 'cd -- "$1" || exit; shift; exec "$@"', 'sh', '/opt', 'sh', '-c', 'tar xf /tmp/app.tgz']]);
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

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostInfo, Plan, PrepareContext } from '../../../src/core/module.js';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch, type Batch } from '../../../src/core/script.js';
import { describeStep, type Step } from '../../../src/core/step.js';
import { parseStatLine, type FileContent } from '../../../src/facts/file.js';
import copy from '../../../src/modules/copy.js';
import { debian12, sshAccess } from '../helpers/plan.js';

/** planFor() for a module not yet in the registry, with prepare run as the engine does. */
function plan(args: unknown, facts: Record<string, unknown>, ctx?: PrepareContext, host: Partial<HostInfo> = {}): Plan {
  let a = copy.schema.parse(args);
  if (ctx) a = copy.prepare!(a, ctx);
  expect(Object.keys(facts).sort()).toEqual(Object.keys(copy.facts(a)).sort());
  return copy.plan(a, facts as never, { host: { ...debian12, ...host }, access: sshAccess, check: false });
}
const commands = (p: Plan) => p.steps.map(describeStep);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const MOTD = 'Welcome to web1\n';
// what fileContent parses from `stat -c '%F|%a|%U|%G|%s'` and the file
const motd: FileContent = { ...parseStatLine(`regular file|644|root|root|${MOTD.length}`), sha256: sha(MOTD), content: MOTD };
const absent: FileContent = { exists: false };

describe('copy module plans', () => {
  it('creates a missing file in one validated atomic write, showing the new text as diff', () => {
    const p = plan(
      { dest: '/etc/sudoers.d/deploy', content: 'deploy ALL=(ALL) NOPASSWD:ALL\n', mode: '0440', validate: 'visudo -cf %s' },
      { file: absent },
    );
    expect(p.steps).toEqual([
      { kind: 'write', path: '/etc/sudoers.d/deploy', content: 'deploy ALL=(ALL) NOPASSWD:ALL\n', mode: '0440', validate: 'visudo -cf %s' },
    ]);
    expect(p.reason).toBe('create /etc/sudoers.d/deploy');
    expect(p.diff).toEqual([{ subject: '/etc/sudoers.d/deploy', before: '', after: 'deploy ALL=(ALL) NOPASSWD:ALL\n' }]);
  });

  it('does nothing when content, mode and owner match, and says so', () => {
    const p = plan({ dest: '/etc/motd', content: MOTD, mode: '0644', owner: 'root' }, { file: motd });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('/etc/motd already has the wanted content, mode and owner');
  });

  it('does nothing for matching content when no attributes are asked for', () => {
    expect(plan({ dest: '/etc/motd', content: MOTD }, { file: motd }).reason).toBe('/etc/motd already has the wanted content');
  });

  it('fixes only mode and owner when the content is right', () => {
    const p = plan({ dest: '/etc/motd', content: MOTD, mode: '0600', owner: 'deploy', group: 'deploy' }, { file: motd });
    expect(commands(p)).toEqual(['chmod 600 -- /etc/motd', 'chown deploy:deploy -- /etc/motd']);
    expect(p.reason).toBe('/etc/motd content is right; mode 644 -> 600; owner root:root -> deploy:deploy');
    expect(p.diff).toEqual([
      { subject: '/etc/motd (mode and owner)', before: 'mode=644 owner=root group=root\n', after: 'mode=600 owner=deploy group=deploy\n' },
    ]);
  });

  it('replaces differing content, with a before/after diff and the attribute change in the reason', () => {
    const p = plan({ dest: '/etc/motd', content: 'Go away\n', mode: '0600' }, { file: motd });
    expect(commands(p)).toEqual(['write /etc/motd mode 0600']);
    expect(p.reason).toBe('update /etc/motd; mode 644 -> 600');
    expect(p.diff?.[0]).toEqual({ subject: '/etc/motd', before: MOTD, after: 'Go away\n' });
    expect(p.diff?.[1]?.subject).toBe('/etc/motd (mode and owner)');
  });

  it('keeps the group of a replaced file when only the owner is asked for', () => {
    const wwwMotd: FileContent = { ...motd, group: 'www-data' };
    const p = plan({ dest: '/etc/motd', content: 'new\n', owner: 'root' }, { file: wwwMotd });
    expect(p.steps).toEqual([{ kind: 'write', path: '/etc/motd', content: 'new\n', owner: 'root', group: 'www-data' }]);
    expect(plan({ dest: '/etc/new', content: 'x', owner: 'deploy' }, { file: absent }).steps[0]).not.toHaveProperty('group');
  });

  it('compares a file above the probe text limit by its sha256', () => {
    const big = 'x'.repeat(600_000);
    const file: FileContent = { ...parseStatLine('regular file|644|root|root|600000'), sha256: sha(big) };
    const same = plan({ dest: '/srv/big', content: big }, { file });
    expect(same.steps).toEqual([]);
    expect(same.reason).toBe('/srv/big already has the wanted content');
    const changed = plan({ dest: '/srv/big', content: big + 'y' }, { file });
    expect(changed.steps.map((s) => s.kind)).toEqual(['write']);
    expect(changed.diff?.[0]?.before).toBe('(600000 bytes, too large to show)\n');
  });

  it('never puts the file text into the reason or the step description (all that task-level no_log leaves visible)', () => {
    const p = plan({ dest: '/etc/app/token', content: 's3cret\n', mode: '0600' }, { file: motd });
    expect(p.reason).toBe('update /etc/app/token; mode 644 -> 600');
    expect(commands(p)).toEqual(['write /etc/app/token mode 0600']);
  });

  it('backs up the replaced file first when asked', () => {
    const p = plan({ dest: '/etc/motd', content: 'new\n', backup: true }, { file: motd });
    expect(p.steps.map((s) => s.kind)).toEqual(['sh', 'write']);
    expect((p.steps[0] as Extract<Step, { kind: 'sh' }>).script).toBe('cp -p -- /etc/motd /etc/motd."$(date +%Y-%m-%d@%H:%M:%S)"~');
    expect(plan({ dest: '/etc/new', content: 'x', backup: true }, { file: absent }).steps.map((s) => s.kind)).toEqual(['write']);
  });

  it('with force: false leaves an existing file alone', () => {
    const p = plan({ dest: '/etc/motd', content: 'other\n', force: false }, { file: motd });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('/etc/motd exists and force is false, so it is left as it is');
  });

  it('replaces a symlink at dest with a file, and refuses a directory', () => {
    const link: FileContent = parseStatLine('symbolic link|777|root|root|9', '/tmp/motd');
    const p = plan({ dest: '/etc/motd', content: MOTD }, { file: link });
    expect(p.reason).toBe('replace the link at /etc/motd');
    expect(p.diff?.[0]?.before).toBe('(link -> /tmp/motd)\n');
    const dir = plan({ dest: '/etc/motd', content: MOTD }, { file: parseStatLine('directory|755|root|root|4096') });
    expect(dir.steps).toEqual([]);
    expect(dir.fail).toMatch(/is a directory/);
  });

  it('reads src from the controller in prepare, into a dest directory under its own name', () => {
    const asked: string[] = [];
    const ctx: PrepareContext = {
      readLocal: (path, kind) => (asked.push(`${kind}/${path}`), MOTD),
      render: () => {
        throw new Error('copy never renders');
      },
    };
    const p = plan({ src: 'motd.txt', dest: '/etc/' }, { file: absent }, ctx);
    expect(asked).toEqual(['files/motd.txt']);
    expect(commands(p)).toEqual(['write /etc/motd.txt']);
    expect(p.reason).toBe('create /etc/motd.txt from motd.txt');
  });

  it('refuses contradictory or unsafe arguments in the schema', () => {
    expect(() => copy.schema.parse({ dest: '/x', content: 'a', src: 'b' })).toThrow(/exactly one of content or src/);
    expect(() => copy.schema.parse({ dest: '/x' })).toThrow(/exactly one of content or src/);
    expect(() => copy.schema.parse({ dest: '/x', content: 'a', validate: 'visudo -c' })).toThrow(/must contain %s/);
    expect(() => copy.schema.parse({ dest: 'x', content: 'a' })).toThrow(/absolute path/);
    expect(() => copy.schema.parse({ dest: '/x', content: 'a', mode: 'rw-r--r--' })).toThrow(/octal string/);
    expect(() => copy.schema.parse({ dest: '/etc/', content: 'a' })).toThrow(/give the file name/);
  });
});

/** One engine round trip on this machine: optional steps, then probes, all under /bin/sh. */
function roundTrip(steps: Step[], probes: Probe[]): Map<string, unknown> {
  const nonce = newNonce();
  const batch: Batch = { probes, ...(steps.length ? { apply: { id: 't', steps } } : {}) };
  const r = spawnSync('sh', ['-c', renderBatch(batch, nonce)], { encoding: 'utf8' });
  const out = parseBatch(r.stdout, batch, nonce);
  if (out.apply && out.apply.code !== 0) throw new Error(`apply failed: ${out.apply.stdout}`);
  return new Map(probes.map((p) => [p.id, p.parse(out.probes.get(p.id)!.stdout, out.probes.get(p.id)!.code)]));
}

describe('copy on this machine (temporary directory)', () => {
  const dir = mkdtempSync(join(tmpdir(), "shipshape copy 'q' "));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes exactly the bytes asked for, and the second run changes nothing', () => {
    const args = copy.schema.parse({
      dest: join(dir, "it's $HOME.conf"),
      content: "line with 'quotes', $VARS, `ticks`, \\ and é\nno final newline",
      mode: '0640',
      validate: 'test -s %s',
    });
    const probe = copy.facts(args).file;
    const ctx = { host: debian12, access: sshAccess, check: false };
    const first = copy.plan(args, { file: roundTrip([], [probe]).get(probe.id) as FileContent }, ctx);
    expect(first.reason).toMatch(/^create /);
    const after = roundTrip(first.steps, [probe]).get(probe.id) as FileContent;
    expect(readFileSync(args.dest, 'utf8')).toBe(args.content);
    expect((statSync(args.dest).mode & 0o777).toString(8)).toBe('640');
    const second = copy.plan(args, { file: after }, ctx);
    expect(second.steps).toEqual([]);
    expect(second.reason).toMatch(/already has the wanted content, mode and owner$/);
  });

  it('a failing validate leaves the live file untouched', () => {
    const dest = join(dir, 'validated');
    const args = copy.schema.parse({ dest, content: 'v1\n' });
    const probe = copy.facts(args).file;
    const ctx = { host: debian12, access: sshAccess, check: false };
    roundTrip(copy.plan(args, { file: roundTrip([], [probe]).get(probe.id) as FileContent }, ctx).steps, []);
    const bad = copy.schema.parse({ dest, content: 'v2\n', validate: 'false %s' });
    expect(() => roundTrip(copy.plan(bad, { file: roundTrip([], [probe]).get(probe.id) as FileContent }, ctx).steps, [])).toThrow(/validation failed/);
    expect(readFileSync(dest, 'utf8')).toBe('v1\n');
  });
});

import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule } from '../../../src/core/module.js';
import type { HostReport } from '../../../src/core/result.js';
import { run } from '../../../src/core/step.js';
import { runHost } from '../../../src/engine/host-run.js';
import type { PlayInstance, TaskInstance } from '../../../src/engine/types.js';
import { modules } from '../../../src/modules/index.js';
import { LocalTransport } from '../../../src/transport/local.js';
import type { ConnectionSpec, ExecResult, Transport } from '../../../src/transport/types.js';

const spec: ConnectionSpec = { name: 'local', host: 'localhost', port: 22, user: 'root', knownHostsFiles: [], acceptNewHostKeys: false, connectTimeoutMs: 5000, kind: 'local' };

function task(name: string, module: string, args: unknown, notify: string[] = []): TaskInstance {
  const mod = modules[module];
  return { name, module: mod, args: mod.schema.parse(args), tags: [], notify, become: false, noLog: false };
}

/** Counts round trips, so tests can hold the engine to "one round trip per play when nothing changes". */
class CountingTransport implements Transport {
  calls = 0;
  inner = new LocalTransport(spec);
  spec = spec;
  connect = () => this.inner.connect();
  close = () => this.inner.close();
  async run(script: string, opts = {}): Promise<ExecResult> {
    this.calls++;
    return this.inner.run(script, opts);
  }
}

async function apply(plays: PlayInstance[], check = false): Promise<{ report: HostReport; trips: number }> {
  const t = new CountingTransport();
  const report = await runHost(spec, () => t, plays, { check, forks: 1, guardTimeoutSec: 30 }, () => undefined);
  return { report, trips: t.calls };
}

describe('engine on a real shell (local transport)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-engine-'));
  const play = (): PlayInstance => ({
    name: 'p',
    become: false,
    tasks: [
      task('make dir', 'file', { path: join(dir, 'app'), state: 'directory', mode: '0750' }, ['touch marker']),
      task('link it', 'file', { path: join(dir, 'current'), state: 'link', src: join(dir, 'app') }),
    ],
    handlers: [task('touch marker', 'file', { path: join(dir, 'marker'), state: 'touch' })],
  });

  it('check predicts exactly what apply changes, and nothing is touched by check', async () => {
    const check = await apply([play()], true);
    expect(check.report.tasks.map((t) => [t.name, t.status])).toEqual([
      ['make dir', 'changed'],
      ['link it', 'changed'],
      ['touch marker', 'changed'],
    ]);
    expect(() => statSync(join(dir, 'app'))).toThrow();

    const first = await apply([play()]);
    expect(first.report.tasks.map((t) => [t.name, t.status])).toEqual(check.report.tasks.map((t) => [t.name, t.status]));
    expect((statSync(join(dir, 'app')).mode & 0o777).toString(8)).toBe('750');
    expect(statSync(join(dir, 'marker')).isFile()).toBe(true);
  });

  it('a second apply changes nothing, gives a reason for each task, and costs one round trip', async () => {
    const second = await apply([play()]);
    expect(second.report.changed).toBe(0);
    expect(second.report.tasks.every((t) => t.status === 'ok' && t.reason.length > 0)).toBe(true);
    expect(second.trips).toBe(1);
  });

  it('a failing task stops that host, names the failure and keeps what ran before', async () => {
    const f = join(dir, 'plain');
    writeFileSync(f, 'x');
    const bad: PlayInstance = {
      name: 'p',
      become: false,
      tasks: [
        task('ok one', 'file', { path: f, state: 'file', mode: '0600' }),
        task('missing', 'file', { path: join(dir, 'nope'), state: 'file' }),
        task('never', 'file', { path: join(dir, 'never'), state: 'directory' }),
      ],
      handlers: [],
    };
    const { report } = await apply([bad]);
    expect(report.tasks.map((t) => t.status)).toEqual(['changed', 'failed']);
    expect(report.error).toMatch(/missing/);
    expect(readFileSync(f, 'utf8')).toBe('x');
    expect(() => statSync(join(dir, 'never'))).toThrow();
  });
});

describe('check is read-only (issue 9 item 6)', () => {
  it('runs neither a command nor its `unless` (operator code) in check; apply runs both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-check-'));
    const mark = join(dir, 'unless-ran');
    const made = join(dir, 'made');
    const play = (): PlayInstance => ({
      name: 'p',
      become: false,
      tasks: [
        task('guarded', 'shell', { cmd: `touch ${made}`, unless: `touch ${mark}; false` }),
        task('plain', 'command', { argv: ['touch', join(dir, 'plain')] }),
      ],
      handlers: [],
    });
    const check = await apply([play()], true);
    expect(check.report.tasks.map((t) => t.status)).toEqual(['skipped', 'skipped']);
    expect(() => statSync(mark)).toThrow();
    expect(() => statSync(made)).toThrow();
    const first = await apply([play()]);
    expect(first.report.tasks.map((t) => t.status)).toEqual(['changed', 'changed']);
    expect(statSync(mark).isFile()).toBe(true);
    expect(statSync(made).isFile()).toBe(true);
  });
});

describe('probes run with the become of their task, as its steps do', () => {
  /** Runs scripts locally, remembering for each whether it asked for root. */
  class BecomeLog implements Transport {
    calls: { script: string; become: boolean }[] = [];
    inner = new LocalTransport(spec);
    spec = spec;
    connect = () => this.inner.connect();
    close = () => this.inner.close();
    async run(script: string, opts: { become?: boolean } = {}): Promise<ExecResult> {
      this.calls.push({ script, become: !!opts.become });
      return this.inner.run(script, { ...opts, become: false });
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'ss-become-'));

  it('a become task in a non-become play reads its file as root (a 0440 file is not empty to it), the others as the login user', async () => {
    const secretFile = join(dir, 'sudoers-like');
    const plain = join(dir, 'plain');
    const rootTask = { ...task('root file', 'copy', { dest: secretFile, content: 'x\n' }), become: true };
    const userTask = task('user file', 'copy', { dest: plain, content: 'y\n' });
    const play: PlayInstance = { name: 'p', become: false, tasks: [userTask, rootTask], handlers: [] };
    const t = new BecomeLog();
    await runHost(spec, () => t, [play], { check: true, forks: 1, guardTimeoutSec: 30 }, () => undefined);
    const readers = (path: string) => t.calls.filter((c) => c.script.includes(`content:`) || c.script.includes(path)).filter((c) => c.script.includes(path)).map((c) => c.become);
    expect(readers(secretFile)).toEqual([true]);
    expect(readers(plain)).toEqual([false]);
  });

  it('when every task agrees with the play, the facts are still one round trip', async () => {
    const t = new BecomeLog();
    const play: PlayInstance = { name: 'p', become: false, tasks: [task('a', 'file', { path: dir, state: 'directory' }), task('b', 'file', { path: dir, state: 'directory' })], handlers: [] };
    await runHost(spec, () => t, [play], { check: true, forks: 1, guardTimeoutSec: 30 }, () => undefined);
    expect(t.calls.length).toBe(1);
  });
});

describe('check sees the files earlier tasks would write (PlanContext.willWrite)', () => {
  // a module that restarts "its service" when its config file is rewritten, judged by the plan alone
  const watcher = defineModule({
    name: 'watch_file',
    summary: 'test: acts when an earlier task rewrites a file',
    schema: z.object({ path: z.string() }),
    facts: () => ({}),
    plan: (a, _f, ctx) => (ctx.willWrite?.has(a.path) ? { steps: [run(['true'])], reason: `restart: ${a.path} rewritten` } : { steps: [], reason: 'nothing rewritten' }),
  });
  const dir = mkdtempSync(join(tmpdir(), 'ss-willwrite-'));
  const conf = join(dir, 'app.conf');
  const play = (content: string): PlayInstance => ({
    name: 'p',
    become: false,
    tasks: [task('config', 'copy', { dest: conf, content, mode: '0644' }), { name: 'watch', module: watcher, args: { path: conf }, tags: [], notify: [], become: false, noLog: false }],
    handlers: [],
  });

  it('a task after a would-be write is predicted to act; once the file is right, it is not', async () => {
    const check = await apply([play('a=1\n')], true);
    expect(check.report.tasks.map((t) => [t.name, t.status])).toEqual([
      ['config', 'changed'],
      ['watch', 'changed'],
    ]);
    writeFileSync(conf, 'a=1\n', { mode: 0o644 });
    const clean = await apply([play('a=1\n')], true);
    expect(clean.report.tasks.map((t) => [t.name, t.status])).toEqual([
      ['config', 'ok'],
      ['watch', 'ok'],
    ]);
  });
});

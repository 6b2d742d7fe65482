/**
 * Round trips per host, as the run reports them (`stats` in --json, counted in the transport): a
 * no-op is one round trip per play, a change one more (its steps and the re-read of the next tasks'
 * facts ride together; a later task reached with facts older than the change reads them first), and a guarded change adds its confirmation: a new login that disarms the revert.
 * The host lock of apply costs no trip of its own: the first trip takes it, the connection's end releases it.
 * Runs on a real shell (local transport); the host lock and the guard live in temporary directories.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule, type ModuleDef } from '../../../src/core/module.js';
import { GUARD_ROOT } from '../../../src/engine/guard.js';
import { LOCK_DIR } from '../../../src/engine/host-lock.js';
import { READ_AHEAD, runHost, type HostRunReport } from '../../../src/engine/host-run.js';
import type { EngineOptions, PlayInstance, TaskInstance } from '../../../src/engine/types.js';
import { modules } from '../../../src/modules/index.js';
import { LocalTransport } from '../../../src/transport/local.js';
import type { ConnectionSpec, ExecResult, RunOptions, Transport } from '../../../src/transport/types.js';

const spec: ConnectionSpec = { name: 'h', host: '192.0.2.9', port: 22, user: 'root', knownHostsFiles: [], acceptNewHostKeys: false, connectTimeoutMs: 2000, kind: 'local' };

/** an access-critical file write (like the ssh role's drop-in): guarded */
const risky = defineModule({
  name: 'risky',
  summary: 'test',
  schema: z.object({ path: z.string(), content: z.string() }),
  facts: () => ({}),
  plan: (a) => ({
    steps: [{ kind: 'write', path: a.path, content: a.content, mode: '0644' }],
    reason: `write ${a.path}`,
    accessCritical: 'changes how sshd accepts logins',
  }),
});

function task(name: string, mod: ModuleDef, args: unknown): TaskInstance {
  return { name, module: mod, args: mod.schema.parse(args), tags: [], notify: [], become: false, noLog: false };
}
const play = (...tasks: TaskInstance[]): PlayInstance => ({ name: 'p', become: false, tasks, handlers: [] });

/** This machine's shell as the host, with the lock and guard directories moved into a temporary one. */
function world() {
  const root = mkdtempSync(join(tmpdir(), 'ss-trips-'));
  let scripts = 0;
  const make = (s: ConnectionSpec): Transport => {
    const inner = new LocalTransport(s);
    return {
      spec: s,
      hostKey: 'AAAA',
      // the local transport's keeper stands for an SSH session: the lock is tied to it
      get sessionPid() {
        return inner.sessionPid;
      },
      connect: async () => undefined,
      close: () => inner.close(),
      run(script: string, opts: RunOptions = {}): Promise<ExecResult> {
        scripts++;
        return inner.run(script.replaceAll(GUARD_ROOT, join(root, 'guard')).replaceAll(LOCK_DIR, join(root, 'lock')), opts);
      },
    };
  };
  return { root, make, scripts: () => scripts };
}

/** Another run's lock, tied to `pid` as a real one is tied to its sshd session. */
function holdLock(root: string, holder: string, pid: number, start?: string) {
  const d = join(root, 'lock');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'holder'), `${holder}\n`);
  writeFileSync(join(d, 'token'), 'other\n');
  start ??= readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
  writeFileSync(join(d, 'anchors'), `${pid} ${start}\n`);
}

const opts = (o: Partial<EngineOptions> = {}): EngineOptions => ({ check: false, forks: 1, guardTimeoutSec: 30, ...o });

async function run(plays: PlayInstance[], o: Partial<EngineOptions> = {}, w = world(), error?: RegExp) {
  const before = w.scripts();
  const report: HostRunReport = await runHost(spec, w.make, plays, opts(o), () => undefined);
  if (error) expect(report.error).toMatch(error);
  else expect(report.error).toBeUndefined();
  // the transport's count is the report's: nothing talks to the host around the meter
  expect(report.stats?.roundTrips).toBe(w.scripts() - before);
  return report;
}

describe('round trips per host (stats.roundTrips)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-trips-files-'));
  const files = (n: number, content = 'x\n') =>
    Array.from({ length: n }, (_, i) => task(`file ${i}`, modules.copy, { dest: join(dir, `f${i}`), content, mode: '0644' }));

  it('a no-op check is one round trip per play, whatever the number of tasks', async () => {
    files(12).forEach((t) => writeFileSync((t.args as { dest: string }).dest, 'x\n', { mode: 0o644 }));
    const r = await run([play(...files(12)), play(...files(3))], { check: true });
    expect(r.tasks.every((t) => t.status === 'ok')).toBe(true);
    expect(r.stats).toMatchObject({ roundTrips: 2, logins: 1 });
    expect(r.stats!.timings!.applyMs).toBe(0);
  });

  const lock = { hostLock: { waitSec: 0, staleSec: 900 } };

  it('a no-op apply is one round trip per play: the host lock rides in the first, and the end of the connection releases it', async () => {
    const noLock = await run([play(...files(12)), play(...files(3))]);
    expect(noLock.stats?.roundTrips).toBe(2);
    const w = world();
    const locked = await run([play(...files(12)), play(...files(3))], lock, w);
    expect(locked.tasks.every((t) => t.status === 'ok')).toBe(true);
    expect(locked.stats?.roundTrips).toBe(2);
    expect(locked.stats!.timings!.applyMs).toBe(0);
    // the lock was taken (tied to the connection) and the next run takes it at once, in its own first trip
    expect(readFileSync(join(w.root, 'lock', 'token'), 'utf8')).toMatch(/^[0-9a-f]{16}\n$/);
    expect(readFileSync(join(w.root, 'lock', 'anchors'), 'utf8')).toMatch(/^\d+ \d+\n$/);
    const next = await run([play(...files(3))], lock, w);
    expect(next.stats?.roundTrips).toBe(1);
    expect(next.notes ?? []).toEqual([]);
  });

  it('a held lock refuses in the first trip, naming the holder; no fact is read and nothing is changed', async () => {
    const w = world();
    const live = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      holdLock(w.root, 'a run by eve@elsewhere (pid 42)', live.pid!);
      const target = files(2, 'changed by the refused run\n');
      const r = await run([play(...target)], lock, w, /refused: another shipshape run is applying to h: a run by eve@elsewhere \(pid 42\) \(last active \d+s ago\)\. Nothing was changed/);
      expect(r.tasks).toEqual([]);
      expect(r.stats?.roundTrips).toBe(1);
      expect(readFileSync(join(dir, 'f0'), 'utf8')).not.toBe('changed by the refused run\n');
    } finally {
      live.kill('SIGKILL');
    }
  });

  it("a lock whose connection is gone (a crashed run) is taken over in the first trip, at no extra cost", async () => {
    const w = world();
    const gone = spawn('sleep', ['300'], { stdio: 'ignore' });
    const start = readFileSync(`/proc/${gone.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    gone.kill('SIGKILL');
    await new Promise((res) => gone.once('exit', res));
    holdLock(w.root, 'a run by eve@elsewhere (pid 42)', gone.pid!, start);
    const r = await run([play(...files(3))], lock, w);
    expect(r.stats?.roundTrips).toBe(1);
    expect(readFileSync(join(w.root, 'lock', 'holder'), 'utf8')).toMatch(/^a run by .* \(pid \d+\)/);
    expect(readFileSync(join(w.root, 'lock', 'holder'), 'utf8')).not.toMatch(/eve/);
  });

  it('a change adds one round trip: its steps and the re-read of the later tasks facts ride together', async () => {
    const tasks = files(6, 'changed\n');
    const r = await run([play(...tasks)], lock);
    expect(r.tasks.filter((t) => t.status === 'changed')).toHaveLength(6);
    expect(r.stats?.roundTrips).toBe(1 + 6);
    expect(readFileSync(join(dir, 'f5'), 'utf8')).toBe('changed\n');
    const again = await run([play(...files(6, 'changed\n'))], lock);
    expect(again.stats?.roundTrips).toBe(1);
  });

  it('a change re-reads only the next tasks facts; a later task reached with stale facts reads its own first, after the change', async () => {
    const target = join(dir, 'late-target');
    writeFileSync(target, 'before\n');
    const others = Array.from({ length: READ_AHEAD }, (_, i) => task(`other ${i}`, modules.copy, { dest: join(dir, `other${i}`), content: 'x\n', mode: '0644' }));
    // prepared: the tasks between the change and the late task are already right (ok, no trip)
    await run([play(...others)], lock);
    const tasks = [
      task('write the target', modules.copy, { dest: target, content: 'after\n', mode: '0644' }),
      ...others,
      // beyond the read-ahead: it must still see the first task's write, not the state read at the start
      task('the target again', modules.copy, { dest: target, content: 'after\n', mode: '0644' }),
    ];
    const r = await run([play(...tasks)], lock);
    expect(r.tasks.map((t) => t.status)).toEqual(['changed', ...others.map(() => 'ok'), 'ok']);
    // gather, the change (with the next tasks' facts), the late task's own read
    expect(r.stats?.roundTrips).toBe(3);
  });

  it("a task reached with stale facts reads the rest of its role's in the same trip: a run of tasks that change nothing reads once", async () => {
    const quiet = Array.from({ length: 3 * READ_AHEAD + 1 }, (_, i) => ({ ...task(`quiet ${i}`, modules.copy, { dest: join(dir, `quiet${i}`), content: 'x\n', mode: '0644' }), role: 'r' }));
    await run([play(...quiet)], lock);
    const r = await run([play(task('a change', modules.copy, { dest: join(dir, 'quiet-change'), content: `${Date.now()}\n`, mode: '0644' }), ...quiet)], lock);
    expect(r.tasks.map((t) => t.status)).toEqual(['changed', ...quiet.map(() => 'ok')]);
    // gather, the change (with READ_AHEAD tasks' facts), one read for the rest of the role
    expect(r.stats?.roundTrips).toBe(3);
  });

  it("a guarded change adds its confirmation: one new login, and the disarm over it", async () => {
    const conf = join(dir, 'sshd.conf');
    writeFileSync(conf, 'PermitRootLogin yes\n');
    const w = world();
    const r = await run([play(task('harden', risky, { path: conf, content: 'PermitRootLogin no\n' }))], lock, w);
    expect(r.tasks[0].status).toBe('changed');
    // gather, arm+apply, the new login's `true`, disarm, re-read of the rest
    expect(r.stats).toMatchObject({ logins: 2 });
    expect(r.stats?.roundTrips).toBe(5);
    // the lock followed the run onto the confirmed login: both connections are on record
    expect(readFileSync(join(w.root, 'lock', 'anchors'), 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

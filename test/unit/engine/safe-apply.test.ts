/**
 * The guarded apply on a real shell (local transport): the guard's directory is redirected into a
 * temporary one by rewriting the scripts, and logins are simulated by the transport factory (which
 * user and port it accepts), so every path of confirm / revert / disarm runs for real.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule, type AccessInfo, type ModuleDef } from '../../../src/core/module.js';
import { GUARD_ROOT } from '../../../src/engine/guard.js';
import { sh } from '../../../src/core/step.js';
import { loginKeysRefusal, runHost } from '../../../src/engine/host-run.js';
import { HostLink } from '../../../src/engine/host-link.js';
import type { PlayInstance, TaskInstance } from '../../../src/engine/types.js';
import { modules } from '../../../src/modules/index.js';
import { LocalTransport } from '../../../src/transport/local.js';
import { UnreachableError, type ConnectionSpec, type ExecResult, type RunOptions, type Transport } from '../../../src/transport/types.js';

const spec: ConnectionSpec = {
  name: 'h',
  host: '192.0.2.7',
  port: 22,
  user: 'deploy',
  bootstrapUser: 'root',
  knownHostsFiles: [],
  acceptNewHostKeys: false,
  connectTimeoutMs: 2000,
  kind: 'local',
};

/** an access-critical file write, like sshd_config's drop-in, optionally moving the SSH port */
const risky = defineModule({
  name: 'risky',
  summary: 'test',
  schema: z.object({ path: z.string(), content: z.string(), port: z.number().optional() }),
  facts: () => ({}),
  plan: (a) => ({
    steps: [{ kind: 'write', path: a.path, content: a.content, mode: '0644' }],
    reason: `write ${a.path}`,
    accessCritical: 'changes how sshd accepts logins',
    ...(a.port ? { guard: { paths: [a.path], port: a.port } } : {}),
  }),
});

/** an access-critical write that first takes `seconds` (a slow package hook, a slow validate) */
const slow = defineModule({
  name: 'slow',
  summary: 'test',
  schema: z.object({ path: z.string(), content: z.string(), seconds: z.number() }),
  facts: () => ({}),
  plan: (a) => ({
    steps: [sh(`sleep ${a.seconds}`, 'take a while'), { kind: 'write', path: a.path, content: a.content, mode: '0644' }],
    reason: `slowly write ${a.path}`,
    accessCritical: 'changes how sshd accepts logins',
    guard: { paths: [a.path] },
  }),
});

/** records the access every plan is given */
const seen: AccessInfo[] = [];
const spy = defineModule({
  name: 'spy',
  summary: 'test',
  schema: z.object({}),
  facts: () => ({}),
  plan: (_a, _f, ctx) => {
    seen.push(ctx.access);
    return { steps: [], reason: 'nothing' };
  },
});

function task(name: string, mod: ModuleDef, args: unknown): TaskInstance {
  return { name, module: mod, args: mod.schema.parse(args), tags: [], notify: [], become: false, noLog: false };
}
const play = (tasks: TaskInstance[]): PlayInstance => ({ name: 'p', become: false, tasks, handlers: [] });

/** a shell on this machine that pretends to be the host; `answer` may override a script's result */
class FakeHost implements Transport {
  scripts: string[] = [];
  private inner: LocalTransport;
  constructor(
    readonly spec: ConnectionSpec,
    private guardDir: string,
    private answer?: (script: string) => ExecResult | undefined,
  ) {
    this.inner = new LocalTransport(spec);
  }
  hostKey = 'AAAA';
  connect = async () => undefined;
  close = async () => undefined;
  async run(script: string, opts: RunOptions = {}): Promise<ExecResult> {
    this.scripts.push(script);
    return this.answer?.(script) ?? this.inner.run(script.replaceAll(GUARD_ROOT, this.guardDir), opts);
  }
}

interface World {
  /** who may log in: `user@port` */
  accepts: Set<string>;
  opened: FakeHost[];
  answer?: (script: string, t: FakeHost) => ExecResult | undefined;
}

function world(accepts: string[], answer?: World['answer']) {
  const guardDir = mkdtempSync(join(tmpdir(), 'ss-guard-root-'));
  const w: World = { accepts: new Set(accepts), opened: [], answer };
  const make = (s: ConnectionSpec): Transport => {
    const t: FakeHost = new FakeHost(s, guardDir, (script): ExecResult | undefined => w.answer?.(script, t));
    if (!w.accepts.has(`${s.user}@${s.port}`)) {
      t.connect = async () => {
        throw new UnreachableError(s.name, `authentication failed for user ${s.user} at ${s.host}:${s.port}; tried ~/.ssh/id_ed25519`, undefined, 'auth');
      };
    }
    w.opened.push(t);
    return t;
  };
  return { w, make, guardDir };
}

const opts = (check = false) => ({ check, forks: 1, guardTimeoutSec: 30 });

describe('guarded apply', () => {
  it('a failed confirmation login reverts at once, proves the old login works, and says what was kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-safe-'));
    const conf = join(dir, 'sshd.conf');
    writeFileSync(conf, 'PermitRootLogin yes\n');
    // deploy cannot log in (wrong key): the run starts as root, and the confirmation as deploy fails
    const { w, make, guardDir } = world(['root@22']);
    const report = await runHost(
      spec,
      make,
      [play([task('before', modules.file, { path: join(dir, 'made'), state: 'directory' }), task('harden sshd', risky, { path: conf, content: 'PermitRootLogin no\n' }), task('after', modules.file, { path: join(dir, 'never'), state: 'directory' })])],
      opts(),
      () => undefined,
    );
    expect(report.tasks.map((t) => [t.name, t.status])).toEqual([
      ['before', 'changed'],
      ['harden sshd', 'failed'],
    ]);
    const failed = report.tasks[1];
    expect(failed.reason).toMatch(/a new login as deploy@192\.0\.2\.7:22 failed: authentication failed for user deploy/);
    expect(failed.reason).toMatch(/reverted at once \(restored .*sshd\.conf\); a new login as root@192\.0\.2\.7:22 works again/);
    expect(report.error).toMatch(/applied and kept: "before"/);
    expect(report.error).toMatch(/not kept: "harden sshd"; the tasks after it did not run/);
    expect(readFileSync(conf, 'utf8')).toBe('PermitRootLogin yes\n');
    expect(existsSync(join(dir, 'never'))).toBe(false);
    // no snapshot left behind, and the previous credentials were tried with a fresh login
    expect(readdirSync(guardDir)).toEqual([]);
    expect(w.opened.filter((t) => t.spec.user === 'root').length).toBe(2);
  });

  it('a confirmed change is disarmed, the run goes on with the new login, and the port move is reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-safe-'));
    const conf = join(dir, 'sshd.conf');
    const { w, make, guardDir } = world(['root@22', 'deploy@2222']);
    const report = await runHost(
      spec,
      make,
      [play([task('move sshd', risky, { path: conf, content: 'Port 2222\n', port: 2222 }), task('next', modules.file, { path: join(dir, 'next'), state: 'directory' })])],
      opts(),
      () => undefined,
    );
    expect(report.tasks.map((t) => t.status)).toEqual(['changed', 'changed']);
    expect(report.tasks[0].reason).toMatch(/confirmed by a new login as deploy@192\.0\.2\.7:2222/);
    expect(report.moved).toEqual({ from: 22, to: 2222 });
    expect(readFileSync(conf, 'utf8')).toBe('Port 2222\n');
    // the later task ran over the confirmed login, and the snapshot is gone
    const confirmed = w.opened.find((t) => t.spec.port === 2222)!;
    expect(confirmed.scripts.some((s) => s.includes(join(dir, 'next')))).toBe(true);
    expect(readdirSync(guardDir)).toEqual([]);
  });

  it('a confirmation that comes after the host already reverted is a failure, not a kept change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-safe-'));
    const conf = join(dir, 'sshd.conf');
    const { make } = world(['root@22', 'deploy@22'], (script, t) => (t.spec.user === 'deploy' && script.includes('automatic revert already ran') ? { code: 3, stdout: '', stderr: 'the automatic revert already ran' } : undefined));
    const report = await runHost(spec, make, [play([task('harden sshd', risky, { path: conf, content: 'x\n' })])], opts(), () => undefined);
    expect(report.tasks[0].status).toBe('failed');
    expect(report.tasks[0].reason).toMatch(/only after the host's 30s timer had already reverted the change \(raise --guard-timeout\)/);
  });

  it('an apply that outlasts --guard-timeout is not reverted while the run is alive: its lease is renewed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-safe-'));
    const conf = join(dir, 'sshd.conf');
    writeFileSync(conf, 'PermitRootLogin yes\n');
    const { w, make, guardDir } = world(['root@22', 'deploy@22']);
    // 3 s timeout, a 9 s apply: without renewals the host's timer would undo it half-way
    const report = await runHost(spec, make, [play([task('slow sshd change', slow, { path: conf, content: 'PermitRootLogin no\n', seconds: 9 })])], { ...opts(), guardTimeoutSec: 3 }, () => undefined);
    expect(report.tasks[0].status).toBe('changed');
    expect(report.tasks[0].reason).toMatch(/confirmed by a new login as deploy/);
    expect(readFileSync(conf, 'utf8')).toBe('PermitRootLogin no\n');
    const renewals = w.opened[0].scripts.filter((s) => s.includes('/lease.new'));
    expect(renewals.length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(guardDir)).toEqual([]);
  }, 60_000);

  it('a connection lost while applying leaves the revert to the host timer, and says by when', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-safe-'));
    const { make } = world(['root@22'], (script) => (script.includes('arm an automatic revert') || script.includes('shipshape-revert-') ? { code: null, stdout: '', stderr: '' } : undefined));
    const report = await runHost(spec, make, [play([task('harden sshd', risky, { path: join(dir, 'c'), content: 'x\n' })])], opts(), () => undefined);
    expect(report.tasks[0].status).toBe('failed');
    expect(report.tasks[0].reason).toMatch(/connection lost while applying "harden sshd".*the host reverts it by itself within 30s \(by \d\d:\d\d:\d\d UTC\)/);
    expect(report.error).toMatch(/^the connection was lost while applying "harden sshd"/);
  });

  it('check predicts the login of later plans after a port move (a firewall for the new port is not refused)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-safe-'));
    const { make } = world(['root@22']);
    seen.length = 0;
    const report = await runHost(spec, make, [play([task('spy before', spy, {}), task('move sshd', risky, { path: join(dir, 'c'), content: 'Port 2222\n', port: 2222 }), task('spy after', spy, {})])], opts(true), () => undefined);
    expect(report.tasks.map((t) => t.status)).toEqual(['ok', 'changed', 'ok']);
    expect(report.tasks[1].accessCritical).toBe('changes how sshd accepts logins; SSH moves from port 22 to 2222: confirmed by a new login as deploy on 2222');
    expect(seen.map((a) => `${a.user}@${a.port}`)).toEqual(['root@22', 'deploy@2222']);
    expect(existsSync(join(dir, 'c'))).toBe(false);
  });
});

describe('bootstrap runs that would install none of our keys', () => {
  const ours = Buffer.from('\0\0\0\x0bssh-ed25519\0\0\0\x20' + 'a'.repeat(32), 'binary').toString('base64');
  const theirs = Buffer.from('\0\0\0\x0bssh-ed25519\0\0\0\x20' + 'b'.repeat(32), 'binary').toString('base64');
  const keyTask = (blob: string, user = 'deploy') => task('authorized keys of deploy', modules.authorized_key, { user, key: `ssh-ed25519 ${blob} someone@laptop`, exclusive: true });

  it('are refused before anything runs, naming the refused login and both sets of keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-safe-'));
    const { w, make } = world(['root@22']);
    const report = await runHost(spec, make, [play([task('user', modules.file, { path: join(dir, 'x'), state: 'directory' }), keyTask(theirs)])], opts(), () => undefined, {
      offeredKeys: async () => [ours],
    });
    expect(report.tasks.map((t) => [t.name, t.status])).toEqual([['authorized keys of deploy', 'failed']]);
    const why = report.tasks[0].reason;
    expect(why).toMatch(/the login deploy@192\.0\.2\.7:22 was rejected \(authentication failed for user deploy/);
    expect(why).toMatch(/connected as bootstrap_user root/);
    expect(why).toMatch(/would give deploy only ssh-ed25519 SHA256:\S+ \(someone@laptop\)/);
    expect(why).toMatch(/this controller logs in with ssh-ed25519 SHA256:/);
    expect(report.error).toMatch(/refused before anything was applied/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
    expect(w.opened.flatMap((t) => t.scripts)).toEqual([]);
  });

  it('go ahead when one declared key is ours, when our keys are unknown, or when a CA is trusted', async () => {
    const { make } = world(['root@22']);
    const link = new HostLink(spec, make, async () => [ours]);
    await link.open();
    expect(link.onBootstrap).toBe(true);
    expect(await loginKeysRefusal(link, [play([keyTask(ours)])])).toBeUndefined();
    expect(await loginKeysRefusal(link, [play([keyTask(theirs, 'someone-else')])])).toBeUndefined();
    const unknown = new HostLink(spec, make, async () => undefined);
    await unknown.open();
    expect(await loginKeysRefusal(unknown, [play([keyTask(theirs)])])).toBeUndefined();
    const ca = task('ca', modules.authorized_key, { user: 'deploy', key: `ssh-ed25519 ${theirs}`, key_options: 'cert-authority' });
    expect(await loginKeysRefusal(link, [play([ca])])).toBeUndefined();
    expect(await loginKeysRefusal(link, [play([keyTask(theirs)])])).toMatchObject({ task: { name: 'authorized keys of deploy' } });
  });
});

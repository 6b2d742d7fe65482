import type { HostInfo, Plan } from '../core/module.js';
import type { Probe } from '../core/probe.js';
import { summarize, type HostReport, type HostStats, type TaskResult } from '../core/result.js';
import { newNonce, parseBatch, renderBatch, uniqueProbes, type Batch } from '../core/script.js';
import { describeStep, sh } from '../core/step.js';
import { driftOf, hideDrift } from '../core/drift.js';
import { randomBytes } from 'node:crypto';
import { HostLockHeld, HostLockHold, newLock } from './host-lock.js';
import { hostInfo } from '../facts/host.js';
import { parseKey } from '../modules/authorized_key.js';
import { UnreachableError, type ConnectionSpec } from '../transport/types.js';
import { Meter } from '../transport/metered.js';
import { armScript, canRevert, disarmScript, guardFor, RENEWED, renewScript, revertNowScript, TOO_LATE, type Guard } from './guard.js';
import { describeKey, HostLink, type MakeTransport, type OfferedKeys, type PortMove } from './host-link.js';
import type { EngineOptions, EventSink, PlayInstance, TaskInstance } from './types.js';
import { ansibleFactsProbe, factVars, type Facts } from '../ansible/facts.js';
import { Blocks, HostVars, judged, registeredValue, type RunOutput } from '../ansible/runtime.js';
import { finishTask } from './expand.js';
import { InputError } from '../core/input-error.js';

const HIDDEN = '(hidden: no_log)';

/**
 * no_log: what the task did stays hidden from every output (reason, diffs, commands, step output);
 * its name, status and the files it touched remain, so the operator still sees that it ran.
 */
function hideResult<R extends Omit<TaskResult, 'name' | 'role' | 'module' | 'durationMs'>>(r: R): R {
  return {
    ...r,
    reason: HIDDEN,
    diff: r.diff.map((d) => ({ subject: d.subject, before: HIDDEN, after: HIDDEN })),
    commands: r.commands.length ? [HIDDEN] : [],
    ...(r.output !== undefined ? { output: HIDDEN } : {}),
    ...(r.drift ? { drift: hideDrift(r.drift, HIDDEN, r.diff.map((d) => d.subject)) } : {}),
  };
}

type Finish = (r: Omit<TaskResult, 'name' | 'role' | 'module' | 'durationMs'>) => TaskResult;

/**
 * Parsed facts by become and probe id, valid until a task changes the host. A probe reads the host as
 * its task's steps will act on it: a 0440 file is empty to the login user and full to root.
 */
type FactCache = Map<string, unknown>;
const factKey = (become: boolean, id: string) => `${become ? 'root' : 'login'}:${id}`;

/**
 * How many later tasks have their facts read again in a change's own round trip. After a change the
 * facts of every later task are stale; re-reading all of them there cost each of a first run's small
 * changes a whole fact script, read again by the next change. Only the next few ride along; a task
 * reached with stale facts reads them (with the few after it) in a trip of its own first. Either way a
 * task plans on facts read after the last change before it, as Ansible reads each task's state when
 * the task runs.
 */
export const READ_AHEAD = 3;

/** A host's report, plus the port sshd moved to during the run (the inventory must follow). */
export interface HostRunReport extends HostReport {
  moved?: PortMove;
}

/**
 * Runs the plays of one host: every probe of a play gathered in one round trip; each change applied
 * in one more round trip that also re-reads the facts of the next tasks (a change can invalidate them:
 * a package install creates a user, a unit file...; see READ_AHEAD). A no-op run is one round trip
 * per play, apply's host lock included: the first trip takes it, the end of the connection releases it.
 */
export async function runHost(
  spec: ConnectionSpec,
  make: MakeTransport,
  plays: PlayInstance[],
  opts: EngineOptions,
  emit: EventSink,
  deps: { offeredKeys?: OfferedKeys } = {},
): Promise<HostRunReport> {
  const host = spec.name;
  const results: TaskResult[] = [];
  // every transport made for this host is counted: the first login and every later one
  const meter = new Meter();
  // apply holds the host's run lock: taken by the first round trip of the plays, kept by the
  // transports of this host (every later root trip refreshes it), released when the run's
  // connection closes (see host-lock.ts)
  // /run is root's: the lock is taken as the tasks will run (without become only a root login can)
  const lockBecome = plays.some((p) => p.become || p.tasks.some((t) => t.become));
  const hold = opts.hostLock && !opts.check ? new HostLockHold(newLock(opts.hostLock), lockBecome) : undefined;
  const link = new HostLink(spec, (s) => (hold ? hold.wrap(meter.wrap(make(s))) : meter.wrap(make(s))), deps.offeredKeys, opts.loginMemory);
  const facts: FactCost = { ms: 0, processes: 0, scripts: 0 };
  const done = (emit: EventSink, report: HostRunReport, link: HostLink) => finished(emit, report, link, facts, meter);
  emit({ type: 'host-start', host });
  let report: HostRunReport | undefined;
  try {
    await link.open();
    if (hold && (lockBecome || link.current.spec.user === 'root')) hold.take();
    const refusal = link.onBootstrap ? await loginKeysRefusal(link, plays) : undefined;
    if (refusal) {
      const { task, why } = refusal;
      results.push(refused(emit, host, task, why));
      return (report = done(emit, summarize(host, results, false, `refused before anything was applied: task "${task.name}" would leave ${spec.user} unable to log in from here; ${host} is unchanged`), link));
    }
    let info: HostInfo | undefined;
    const hostVars = new HostVars();
    const willWrite = new Set<string>();
    for (const play of plays) {
      const runner = new PlayRunner(link, play, opts, emit, results, hostVars, willWrite, facts, meter);
      info = await runner.run(info);
      if (hold?.waited) {
        link.notes.push(`waited ${hold.waited}s for another shipshape run on this host to finish`);
        hold.waited = 0;
      }
      if (runner.stopped) return (report = done(emit, summarize(host, results, false, runner.stopped), link));
    }
    return (report = done(emit, summarize(host, results), link));
  } catch (err) {
    if (err instanceof HostLockHeld) {
      // the lock's script stopped the trip before any of it ran: no fact was read, nothing changed
      const why = `refused: another shipshape run is applying to ${host}: ${err.holder}. Nothing was changed. Re-run when it is done (a lock whose run died expires when its connection closes, or ${err.staleSec}s after its last activity).`;
      return (report = done(emit, summarize(host, results, false, why), link));
    }
    const unreachable = err instanceof UnreachableError;
    const msg = err instanceof Error ? err.message + (err instanceof UnreachableError && err.hint ? `\n${err.hint}` : '') : String(err);
    return (report = done(emit, summarize(host, results, unreachable, msg), link));
  } finally {
    // only a lock the host could not tie to the connection needs a trip of its own
    if (hold && link.current) await hold.release(link.current);
    await link.close();
    // counted again after the lock's release: the report shows every round trip of the run
    if (report) report.stats = { ...report.stats, ...meterStats(meter) };
  }
}

function meterStats(meter: Meter): Pick<HostStats, 'roundTrips' | 'logins' | 'timings'> {
  return { roundTrips: meter.roundTrips, logins: meter.logins, timings: { ...meter.timings } };
}

/** A task that failed before anything ran on the host: reported, never applied. */
function refused(emit: EventSink, host: string, task: TaskInstance, reason: string): TaskResult {
  const result: TaskResult = { name: task.name, ...(task.role ? { role: task.role } : {}), module: task.module.name, status: 'failed', reason, diff: [], commands: [], durationMs: 0 };
  emit({ type: 'task-done', host, result });
  return result;
}

/** What this host's fact scripts cost, as they measured themselves. */
interface FactCost {
  ms: number;
  processes: number;
  /** scripts that reported a measurement */
  scripts: number;
}

function finished(emit: EventSink, report: HostRunReport, link: HostLink, facts: FactCost, meter: Meter): HostRunReport {
  if (link.notes.length) report.notes = [...link.notes];
  if (link.moved) report.moved = link.moved;
  report.stats = { ...report.stats, ...meterStats(meter) };
  if (facts.scripts) report.stats = { ...report.stats, factScript: { ms: facts.ms, processes: facts.processes } };
  emit({ type: 'host-done', host: report.host, report });
  return report;
}

/**
 * On a bootstrap connection the inventory's user was just refused, and the run is about to give it
 * keys and then make it the only way in (root login off). When none of the keys it declares for
 * that user is one this controller logs in with, every access-critical change after it would fail
 * its confirmation and be reverted, leaving a user nobody here can use: refuse before anything is
 * applied instead. Only when the controller's keys are known for sure (agent reachable, no certs).
 */
export async function loginKeysRefusal(link: HostLink, plays: PlayInstance[]): Promise<{ task: TaskInstance; why: string } | undefined> {
  const { user, name, host } = link.spec;
  type KeyArgs = { user: string; state: string; key: string | string[]; key_options?: string };
  const tasks = plays.flatMap((p) => p.tasks).filter((t) => t.module.name === 'authorized_key' && t.args !== undefined);
  const mine = tasks.filter((t) => (t.args as KeyArgs).user === user && (t.args as KeyArgs).state === 'present');
  if (mine.length === 0) return undefined;
  const declared = mine.flatMap((t) => {
    const a = t.args as KeyArgs;
    return (Array.isArray(a.key) ? a.key : [a.key]).flatMap((k) => k.split('\n')).flatMap((l) => {
      const k = l.trim() && !l.trim().startsWith('#') ? parseKey(l) : undefined;
      return k ? [{ ...k, options: a.key_options ?? k.options }] : [];
    });
  });
  // a certificate authority line trusts keys we cannot enumerate
  if (declared.some((k) => /cert-authority/i.test(k.options ?? '') || k.type.includes('-cert-'))) return undefined;
  const offered = await link.offeredKeys(link.spec).catch(() => undefined);
  if (!offered?.length || declared.some((k) => offered.includes(k.blob))) return undefined;
  const listed = declared.map((k) => `${describeKey(k.blob)}${k.comment ? ` (${k.comment})` : ''}`).join(', ');
  const ours = offered.map(describeKey).join(', ');
  const identity = link.spec.identityFile ? ` (identity_file ${link.spec.identityFile}; its public key is ${link.spec.identityFile}.pub)` : '';
  const why =
    `refused before applying anything: the login ${user}@${host}:${link.spec.port} was rejected (${link.userRefused?.message ?? 'authentication failed'}), ` +
    `so this run connected as bootstrap_user ${link.spec.bootstrapUser}. This task would give ${user} only ${listed || 'no usable key'}, ` +
    `but this controller logs in with ${ours}${identity}, which is not among them: ${user} would still be refused after the run, and every ` +
    `access-critical change (sshd, firewall) would fail its confirmation. Nothing was changed on ${name}. ` +
    `Add your public key to the keys of ${user} (deploy_authorized_keys with the deploy_user role), or set identity_file to the private key of one of the listed keys, and re-run.`;
  return { task: mine[0], why };
}

class PlayRunner {
  stopped?: string;
  private facts: FactCache = new Map();
  /** changes applied so far in this play; a cached fact is fresh when read after the last of them */
  private changes = 0;
  private readAfter = new Map<string, number>();
  private info!: HostInfo;

  constructor(
    private link: HostLink,
    private play: PlayInstance,
    private opts: EngineOptions,
    private emit: EventSink,
    private results: TaskResult[],
    private hostVars: HostVars = new HostVars(),
    /** in check, the paths that earlier tasks of this run would write (PlanContext.willWrite) */
    private willWrite = new Set<string>(),
    /** the host's fact-script cost, summed over its plays */
    private factCost: FactCost = { ms: 0, processes: 0, scripts: 0 },
    private meter = new Meter(),
  ) {}

  private notified = new Set<string>();
  /** ids for loops unrolled on the host, apart from those unrolled at expansion */
  private loopIds = 1_000_000;
  private gathered: Facts = {};

  async run(known?: HostInfo): Promise<HostInfo> {
    const { tasks } = this.play;
    // gathered facts (Ansible's setup) ride in the same first round trip as the play's probes
    await this.gather(tasks, [...(known ? [] : [hostInfo]), ...(this.play.facts ? [ansibleFactsProbe] : [])]);
    this.info = known ?? (this.facts.get(factKey(this.play.become, hostInfo.id)) as HostInfo);
    if (this.play.facts) this.gathered = (this.facts.get(factKey(this.play.become, ansibleFactsProbe.id)) as Facts) ?? {};
    this.preflight(tasks);
    const blocks = new Blocks(tasks);
    for (let i = 0; i < tasks.length && !this.stopped; i++) {
      const task = tasks[i];
      // handlers run at the end of each section (pre_tasks; roles and tasks; post_tasks), as in Ansible
      if (task.flush || (i > 0 && task.phase !== tasks[i - 1].phase)) await this.flush();
      if (!task.flush && blocks.runs(task) && !this.stopped) {
        const instances = task.deferred ? await this.materialize(task) : [task];
        for (const t of instances) {
          if (this.stopped) break;
          const result = await this.runTask(t, tasks.slice(i + 1));
          this.settle(t, result, blocks);
        }
      }
      if (blocks.ended(i) && !this.stopped) this.stopped = `a task in a block failed and no rescue handled it; the tasks after it did not run`;
    }
    if (!this.stopped) await this.flush();
    return this.info;
  }

  /** Whether a result stops the host: ignore_errors and a block's rescue take a failure over (not a guarded change's). */
  private settle(task: TaskInstance, result: TaskResult, blocks: Blocks): void {
    if (result.status === 'changed') task.notify.forEach((h) => this.notified.add(h));
    if (result.status !== 'failed') {
      this.stopped = undefined;
      return;
    }
    if (result.accessCritical) return;
    if (task.ignoreErrors) {
      result.handled = 'ignored';
      this.stopped = undefined;
      return;
    }
    const taken = blocks.failed(task.blocks ?? []);
    if (taken === 'rescued') result.handled = 'rescued';
    if (taken) this.stopped = undefined;
  }

  /** Run the handlers notified so far: by name or by a `listen` topic; a changed handler may notify the handlers defined after it. */
  private async flush(): Promise<void> {
    const { handlers } = this.play;
    const wanted = (h: TaskInstance) => this.notified.has(h.name) || (h.listen ?? []).some((l) => this.notified.has(l));
    const run = handlers.filter(wanted);
    if (run.length === 0 || this.stopped) return;
    await this.gather(run.filter((h) => !h.deferred));
    for (let i = 0; i < handlers.length && !this.stopped; i++) {
      if (!wanted(handlers[i])) continue;
      const instances = handlers[i].deferred ? await this.materialize(handlers[i]) : [handlers[i]];
      for (const h of instances) {
        const result = await this.runTask(h, handlers.slice(i + 1));
        if (result.status === 'changed') h.notify.forEach((n) => this.notified.add(n));
      }
    }
    for (const h of run) [h.name, ...(h.listen ?? [])].forEach((n) => this.notified.delete(n));
  }

  /** The variables a deferred task sees: gathered facts, its own, then registered results and set_fact. */
  private runtimeVars(vars: Record<string, unknown> | undefined): Record<string, unknown> {
    return { ...factVars(this.gathered), ...(vars ?? {}), ...this.hostVars.vars };
  }

  /** A deferred task finished with what the host told: its instances (none when its condition is false), their facts read. */
  private async materialize(task: TaskInstance): Promise<TaskInstance[]> {
    const d = task.deferred!;
    let instances: TaskInstance[];
    try {
      const { deferred: _d, ...common } = task;
      instances = finishTask(d.spec, this.runtimeVars(d.vars), d.conditions, d.dir, d.modules, common, () => ++this.loopIds);
    } catch (err) {
      const msg = err instanceof InputError ? `${err.location}: ${err.message}${err.hint ? ` (${err.hint})` : ''}` : (err as Error).message;
      const { deferred: _d, ...rest0 } = task;
      return [{ ...rest0, args: undefined, failure: msg }];
    }
    const live = instances.filter((t) => !t.skipped);
    if (live.length) await this.gather(live);
    return instances;
  }

  private async runTask(task: TaskInstance, rest: TaskInstance[]): Promise<TaskResult> {
    const host = this.link.spec.name;
    this.emit({ type: 'task-start', host, task: task.name, role: task.role });
    const started = Date.now();
    let run: RunOutput = {};
    const finish: Finish = (raw) => {
      let r = raw;
      // register, changed_when, failed_when: Ansible's view of what the task did
      if (task.register || task.changedWhen !== undefined || task.failedWhen !== undefined) {
        const value = registeredValue(r, run);
        let status = r.status;
        try {
          status = judged(task, r.status, value, this.runtimeVars(task.vars));
        } catch (err) {
          status = 'failed';
          r = { ...r, reason: `changed_when/failed_when: ${(err as Error).message}` };
        }
        if (status !== r.status) r = { ...r, status, ...(status === 'failed' && raw.status !== 'failed' ? { reason: `failed_when is true (${r.reason})` } : {}) };
        this.hostVars.register(task, { ...value, changed: r.status === 'changed', failed: r.status === 'failed' });
      }
      if (task.setFact && r.status === 'ok') Object.assign(this.hostVars.vars, task.setFact);
      const result: TaskResult = {
        name: task.name,
        ...(task.role ? { role: task.role } : {}),
        module: task.module.name,
        ...(task.noLog ? hideResult(r) : r),
        durationMs: Date.now() - started,
      };
      if (result.status === 'failed' && !this.stopped) this.stopped = `task "${task.name}" failed; the tasks after it did not run`;
      this.results.push(result);
      this.emit({ type: 'task-done', host, result });
      return result;
    };
    if (task.failure) return finish({ status: 'failed', reason: task.failure, diff: [], commands: [] });
    if (task.skipped) return finish({ status: 'skipped', reason: task.skipped, diff: [], commands: [] });

    // facts read before the last change are read again, with those of the next tasks
    if (this.stale(task)) await this.gather([task, ...this.readWindow(task, rest)].filter((t) => this.stale(t)));
    let plan: Plan;
    try {
      plan = this.plan(task);
    } catch (err) {
      this.stopped = `task "${task.name}" failed to plan`;
      return finish({ status: 'failed', reason: `could not plan: ${(err as Error).message}`, diff: [], commands: [] });
    }
    const base: Pick<TaskResult, 'diff' | 'commands' | 'accessCritical' | 'drift'> = {
      diff: plan.diff ?? [],
      commands: plan.steps.map(describeStep),
      ...(plan.accessCritical ? { accessCritical: accessNote(plan, this.link) } : {}),
    };
    // stat's `stat`, debug's `msg`, assert's `assertion`: registered as Ansible's module returns them
    if (plan.result) run = { result: plan.result };
    if (plan.fail) {
      this.stopped = `task "${task.name}" failed`;
      return finish({ status: 'failed', reason: plan.fail, ...base });
    }
    if (plan.skip) return finish({ status: 'skipped', reason: plan.skip, diff: [], commands: [] });
    if (plan.steps.length === 0) return finish({ status: 'ok', reason: plan.reason, diff: [], commands: [] });
    if (plan.cacheOnly) return this.cacheOnly(task, plan, rest, finish, base.commands);
    // only tasks that change (or would) carry drift: what check found is what apply fixes
    base.drift = driftOf(plan, task);
    if (this.opts.check && !task.runInCheck) {
      if (plan.accessCritical) {
        // after a confirmed change apply logs in as the inventory's user, on the plan's port if it moves sshd
        const prev = this.link.predicted ?? { port: this.link.current.spec.port, user: this.link.current.spec.user };
        this.link.predicted = { port: plan.guard?.port ?? prev.port, user: this.link.spec.user };
      }
      for (const s of plan.steps) if (s.kind === 'write' || s.kind === 'path') this.willWrite.add(s.path);
      return finish({ status: 'changed', reason: `would ${plan.reason}`, ...base });
    }

    if (plan.accessCritical) return this.guarded(task, plan, rest, finish, base);
    if (plan.reboot) return this.rebooted(task, plan, rest, finish, base);
    // the facts of the next tasks read as this task runs ride along; later ones are read when reached
    const batch: Batch = { apply: { id: task.name, steps: plan.steps }, probes: uniqueProbes(this.ahead(rest, task.become).flatMap((t) => this.probesFor(t))) };
    const out = await this.exec(batch, task.become, task.noLog);
    const applied = out.apply!;
    run = { ...run, rc: applied.code ?? undefined, stdout: applied.stdout };
    if (applied.code !== 0) {
      this.stopped = `task "${task.name}" failed; the tasks after it did not run`;
      return finish({ status: 'failed', reason: `${plan.reason}: exit ${applied.code}`, output: tail(applied.stdout), ...base });
    }
    return finish({ status: 'changed', reason: plan.reason, ...(applied.stdout.trim() ? { output: tail(applied.stdout) } : {}), ...base });
  }

  /**
   * Steps that fill a cache and change nothing managed (Plan.cacheOnly): run in apply, with the facts of
   * later tasks re-read as any change does (an index update makes the cache fresh for them); ok either way.
   */
  private async cacheOnly(task: TaskInstance, plan: Plan, rest: TaskInstance[], finish: Finish, commands: string[]): Promise<TaskResult> {
    if (this.opts.check) return finish({ status: 'ok', reason: `would ${plan.reason} (not a change: nothing managed is touched)`, diff: [], commands });
    const out = await this.exec({ apply: { id: task.name, steps: plan.steps }, probes: uniqueProbes(this.ahead(rest, task.become).flatMap((t) => this.probesFor(t))) }, task.become, task.noLog);
    const applied = out.apply!;
    if (applied.code !== 0) {
      this.stopped = `task "${task.name}" failed; the tasks after it did not run`;
      return finish({ status: 'failed', reason: `${plan.reason}: exit ${applied.code}`, output: tail(applied.stdout), diff: [], commands });
    }
    return finish({ status: 'ok', reason: plan.reason, ...(applied.stdout.trim() ? { output: tail(applied.stdout) } : {}), diff: [], commands });
  }

  /**
   * A reboot: the steps schedule it and return; then new logins are tried until one reaches a new
   * boot (another boot_id) and the plan's test command works there, within the plan's time-out.
   * Facts of the later tasks are read again on the new boot.
   */
  private async rebooted(task: TaskInstance, plan: Plan, rest: TaskInstance[], finish: Finish, base: Pick<TaskResult, 'diff' | 'commands' | 'accessCritical'>): Promise<TaskResult> {
    const r = plan.reboot!;
    const started = Date.now();
    const out = await this.exec({ apply: { id: task.name, steps: plan.steps }, probes: [] }, task.become, task.noLog);
    if (out.apply!.code !== 0) {
      this.stopped = `task "${task.name}" failed; the tasks after it did not run`;
      return finish({ status: 'failed', reason: `${plan.reason}: exit ${out.apply!.code}`, output: tail(out.apply!.stdout), ...base });
    }
    const deadline = started + r.timeoutSec * 1000;
    let why = 'no login attempt';
    await new Promise((res) => setTimeout(res, 3_000));
    while (Date.now() < deadline) {
      const login = await this.link.relogin(task.become, Math.min(deadline, Date.now() + 30_000));
      if (login.ok) {
        const boot = await login.transport.run('cat /proc/sys/kernel/random/boot_id\n').catch(() => undefined);
        const id = boot?.stdout.trim();
        if (id && id !== r.bootId) {
          await this.link.switchTo(login.transport);
          if (r.postDelaySec > 0) await new Promise((res) => setTimeout(res, r.postDelaySec * 1000));
          const test = await this.link.current.run(`${r.test}\n`, { become: task.become }).catch((e: Error) => ({ code: null, stdout: '', stderr: e.message }));
          if (test.code === 0) {
            // the later tasks read their facts on the new boot as they are reached (the reboot was a change)
            const took = ((Date.now() - started) / 1000).toFixed(0);
            return finish({ status: 'changed', reason: `${plan.reason} (back after ${took}s, \`${r.test}\` works)`, ...base });
          }
          why = `the host is back, but \`${r.test}\` failed: ${(test.stderr || test.stdout).trim() || `exit ${test.code}`}`;
        } else {
          why = 'the host still runs the boot from before the reboot';
          await login.transport.close().catch(() => undefined);
        }
      } else why = login.why;
      // 10 s apart: ufw's `limit` (iptables recent, 6 hits in 30 s) would reject a faster caller, and
      // every rejected attempt renews the ban
      await new Promise((res) => setTimeout(res, 10_000));
    }
    this.stopped = `"${task.name}": the host did not come back within ${r.timeoutSec}s`;
    return finish({ status: 'failed', reason: `${plan.reason}: not back within ${r.timeoutSec}s (reboot_timeout): ${why}`, ...base });
  }

  /**
   * An access-critical change: armed revert on the host, apply, then a NEW login with the
   * credentials the inventory uses from now on; only that login disarms the revert. On failure the
   * change is undone at once over the connection still open (or by the host's timer when that
   * connection is gone), a fresh login with the previous credentials checks the host is reachable
   * as before, and the host stops with what was applied, kept and reverted.
   */
  private async guarded(task: TaskInstance, plan: Plan, rest: TaskInstance[], finish: Finish, base: Pick<TaskResult, 'diff' | 'commands' | 'accessCritical' | 'drift'>): Promise<TaskResult> {
    const guard = guardFor(plan, randomBytes(6).toString('hex'), this.opts.guardTimeoutSec);
    const become = task.become;
    const steps = [sh(armScript(guard), `arm an automatic revert in ${guard.timeoutSec}s`), ...plan.steps];
    const armedAt = Date.now();
    const fail = (reason: string, stop: string, extra: Partial<TaskResult> = {}) => {
      this.stopped = this.stopReport(task, stop);
      return finish({ status: 'failed', reason, ...extra, ...base });
    };
    let out: Awaited<ReturnType<PlayRunner['exec']>>;
    // an apply that outlasts the timeout is still alive: its lease is renewed while it runs
    const lease = this.renewWhileApplying(guard, become, armedAt);
    try {
      out = await this.exec({ apply: { id: task.name, steps }, probes: [] }, become, task.noLog);
    } catch (err) {
      const renewedAt = await lease.stop();
      if (!(err instanceof UnreachableError)) throw err;
      // the change itself (a firewall rule, an sshd reload) may have cut us off: the timer undoes it
      return fail(`${plan.reason}: ${err.message}; ${timerReverts(guard, renewedAt)}`, `the connection was lost while applying "${task.name}"; ${timerReverts(guard, renewedAt)}`);
    }
    const renewedAt = await lease.stop();
    const applied = out.apply!;
    if (applied.code !== 0) {
      const undone = await this.revertNow(guard, become, renewedAt);
      return fail(`${plan.reason}: exit ${applied.code}; ${undone}`, `"${task.name}" failed; ${undone}`, { output: tail(applied.stdout) });
    }
    // leave the disarm a few seconds before the host's timer fires (the lease is not renewed while
    // confirming: the new login has the whole window the operator chose, from the last renewal)
    const login = await this.link.confirm(plan.guard?.port, become, renewedAt + guard.timeoutSec * 1000 - 3_000);
    if (!login.ok) {
      const undone = await this.revertNow(guard, become, renewedAt);
      return fail(`${plan.reason}; then ${login.why}; ${undone}`, `the new login after "${task.name}" failed; ${undone}`);
    }
    const who = `${login.transport.spec.user}@${login.transport.spec.host}:${login.transport.spec.port}`;
    const disarm = await login.transport.run(disarmScript(guard), { become }).catch((err: Error) => ({ code: null, stderr: err.message, stdout: '' }));
    if (disarm.code !== 0) {
      await login.transport.close().catch(() => undefined);
      const why =
        disarm.code === TOO_LATE
          ? `the new login as ${who} worked, but only after the host's ${guard.timeoutSec}s timer had already reverted the change (raise --guard-timeout)`
          : `the new login as ${who} worked, but disarming the revert failed (${disarm.stderr.trim() || `exit ${disarm.code}`}); ${timerReverts(guard, renewedAt)}`;
      return fail(`${plan.reason}; ${why}`, `"${task.name}" could not be confirmed in time; ${disarm.code === TOO_LATE ? 'it was reverted' : timerReverts(guard, renewedAt)}`);
    }
    await this.link.switchTo(login.transport);
    // the change may have invalidated facts of later tasks: they read them again when reached
    return finish({ status: 'changed', reason: `${plan.reason} (confirmed by a new login as ${who})`, ...base });
  }

  /**
   * While the guarded apply runs, renew the host's revert deadline every third of the timeout over
   * the same connection (a channel of its own). Renewal stops when the apply returns, when the
   * connection fails, or once the revert has claimed the change; a controller that dies simply stops
   * renewing. `stop()` resolves to when the last successful renewal was sent (or `since`): the host's
   * deadline is at least the timeout after it.
   */
  private renewWhileApplying(guard: Guard, become: boolean, since: number): { stop: () => Promise<number> } {
    let renewedAt = since;
    let stopped = false;
    let inFlight: Promise<unknown> = Promise.resolve();
    const every = Math.max(1, guard.timeoutSec / 3) * 1000;
    const beat = () => {
      if (stopped) return;
      const sent = Date.now();
      inFlight = this.link.current.run(renewScript(guard), { become, timeoutMs: every }).then(
        (r) => {
          if (r.code === 0 && r.stdout.includes(RENEWED)) renewedAt = sent;
          else if (r.code === null) stopped = true;
        },
        () => (stopped = true),
      );
      inFlight.then(() => {
        if (!stopped) timer = setTimeout(beat, Math.max(0, sent + every - Date.now()));
      });
    };
    let timer: NodeJS.Timeout | undefined = setTimeout(beat, every);
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await inFlight;
        return renewedAt;
      },
    };
  }

  /** Undo now over the connection still open, then prove the previous login works again. */
  private async revertNow(guard: Guard, become: boolean, deadlineFrom: number): Promise<string> {
    if (!canRevert(guard)) return 'this change has nothing the guard could snapshot, so it could NOT be undone automatically; fix the host by hand';
    const r = await this.link.current.run(revertNowScript(guard), { become }).catch(() => undefined);
    if (!r || r.code !== 0) return timerReverts(guard, deadlineFrom);
    const restore = guard.restore === undefined ? '' : guard.restore.includes('\n') ? ' and ran its restore commands' : ` and ran \`${guard.restore}\``;
    const what = `reverted at once (restored ${guard.paths.join(', ') || 'nothing'}${restore})`;
    const again = await this.link.verifyPrevious(become);
    return again.ok ? `${what}; a new login as ${again.who} works again` : `${what}; but ${again.why}`;
  }

  /** The message that stops the host: what this run applied and kept, what it reverted, what it skipped. */
  private stopReport(task: TaskInstance, what: string): string {
    const kept = this.results.filter((r) => r.status === 'changed').map((r) => `"${r.name}"`);
    return [
      what,
      `applied and kept: ${kept.length ? kept.join(', ') : 'nothing'}`,
      `not kept: "${task.name}"; the tasks after it did not run (re-run once the cause is fixed)`,
    ].join('\n');
  }

  /** Refuse the whole play before its first change when any task's preflight objects (e.g. a firewall lockout). */
  private preflight(tasks: TaskInstance[]): void {
    for (const task of tasks) {
      if (task.args === undefined) continue;
      const why = task.module.preflight?.(task.args, this.context(), this.factsOf(task));
      if (!why) continue;
      this.stopped = `task "${task.name}" was refused before any change`;
      this.emit({ type: 'task-start', host: this.link.spec.name, task: task.name, role: task.role });
      this.results.push(refused(this.emit, this.link.spec.name, task, `refused before any task of this play ran: ${why}`));
      return;
    }
  }

  private context() {
    const spec = this.link.current.spec;
    // check never moves the connection: after a predicted sshd port or login change, plans see the prediction
    const now = this.link.predicted ?? { port: spec.port, user: spec.user };
    const access = { ...now, ...(this.info.client ? { client: this.info.client } : {}) };
    return {
      host: this.info,
      access,
      check: this.opts.check,
      ...(this.opts.check ? { willWrite: this.willWrite } : {}),
      ...(this.opts.aptTimeoutSec !== undefined ? { aptTimeoutSec: this.opts.aptTimeoutSec } : {}),
    };
  }

  /** check mode for this task: a command declared read-only with `check_mode: false` runs as in apply */
  private checking(task: TaskInstance): boolean {
    return this.opts.check && !task.runInCheck;
  }

  /** check is read-only: a probe running a command the playbook wrote is never run in check (unless its task runs in check) */
  private probesFor(t: TaskInstance): Probe[] {
    return probesOf(t).filter((p) => !(this.checking(t) && p.operatorCode));
  }

  private plan(task: TaskInstance): Plan {
    const facts = this.factsOf(task);
    for (const [name, p] of Object.entries(task.module.facts(task.args))) {
      if (!(name in facts) && !(this.checking(task) && p.operatorCode)) throw new Error(`fact ${p.id} was not gathered`);
    }
    return task.module.plan(task.args, facts as never, { ...this.context(), check: this.checking(task) });
  }

  /** The task's facts read so far (as its become reads them), by the names its module gives them. */
  private factsOf(task: TaskInstance): Record<string, unknown> {
    const facts: Record<string, unknown> = {};
    for (const [name, p] of Object.entries(task.module.facts(task.args))) {
      const key = factKey(task.become, p.id);
      if (this.checking(task) && p.operatorCode) continue;
      if (this.facts.has(key)) facts[name] = this.facts.get(key);
    }
    return facts;
  }

  /** Whether a task's facts were read before the last change (or not at all). */
  private stale(t: TaskInstance): boolean {
    return this.probesFor(t).some((p) => this.readAfter.get(factKey(t.become, p.id)) !== this.changes);
  }

  /** The next READ_AHEAD tasks that read facts (a task skipped before connecting reads none), those of them that read as `become`. */
  private ahead(rest: TaskInstance[], become: boolean): TaskInstance[] {
    const next: TaskInstance[] = [];
    for (const t of rest) {
      if (next.length === READ_AHEAD) break;
      if (this.probesFor(t).length) next.push(t);
    }
    return next.filter((t) => t.become === become);
  }

  /**
   * The tasks whose facts a trip that only reads takes along: the rest of the task's role, then the next
   * few. Such a trip follows tasks that changed nothing, and a role's tasks that change nothing tend to
   * come in runs (sysctl_hardening's 25 on a container, where the kernel's parameters are read-only).
   */
  private readWindow(task: TaskInstance, rest: TaskInstance[]): TaskInstance[] {
    let n = 0;
    while (task.role !== undefined && n < rest.length && rest[n].role === task.role) n++;
    return [...rest.slice(0, n).filter((t) => t.become === task.become), ...this.ahead(rest.slice(n), task.become)];
  }

  /**
   * The facts of these tasks, each read with its task's become (as its steps will run): one round trip
   * when they all agree, which is the usual case; `extra` probes (host info) go with the play's become.
   */
  private async gather(tasks: TaskInstance[], extra: Probe[] = []): Promise<void> {
    const byBecome = new Map<boolean, Probe[]>([[this.play.become, [...extra]]]);
    for (const t of tasks) byBecome.set(t.become, [...(byBecome.get(t.become) ?? []), ...this.probesFor(t)]);
    for (const [become, probes] of byBecome) {
      const unique = uniqueProbes(probes);
      if (unique.length) await this.exec({ probes: unique }, become);
    }
  }

  /** One round trip; parsed probe results go into the fact cache. */
  private async exec(batch: Batch, become: boolean, noLog = false) {
    const nonce = newNonce();
    const script = renderBatch(batch, nonce);
    // whatever the steps did, the facts read before them may no longer hold
    if (batch.apply) this.changes++;
    const res = await this.meter.as(batch.apply ? 'apply' : 'facts', () => this.link.current.run(script, { become }));
    const out = parseBatch(res.stdout, batch, nonce);
    if (res.code === null || out.incomplete) {
      const what = batch.apply ? `while applying "${batch.apply.id}"` : 'while reading facts';
      const detail = res.stderr.trim() ? `: ${noLog ? HIDDEN : tail(res.stderr)}` : '';
      if (res.code === null) throw new UnreachableError(this.link.spec.name, `connection lost ${what}${detail}`);
      throw new Error(`the host's shell stopped ${what} (exit ${res.code})${detail}`);
    }
    for (const p of batch.probes) {
      const s = out.probes.get(p.id);
      if (!s) continue;
      this.facts.set(factKey(become, p.id), p.parse(s.stdout, s.code));
      this.readAfter.set(factKey(become, p.id), this.changes);
    }
    if (out.factScript) {
      this.factCost.ms += out.factScript.ms;
      this.factCost.processes += out.factScript.processes;
      this.factCost.scripts++;
    }
    return out;
  }
}

/** The plan's access-critical note, plus the login the run moves to when it is confirmed. */
function accessNote(plan: Plan, link: HostLink): string {
  const now = link.predicted?.port ?? link.current.spec.port;
  const port = plan.guard?.port;
  return port !== undefined && port !== now ? `${plan.accessCritical}; SSH moves from port ${now} to ${port}: confirmed by a new login as ${link.spec.user} on ${port}` : plan.accessCritical!;
}

/** `since`: when the guard was armed, or its lease last renewed. */
function timerReverts(g: Guard, since: number): string {
  if (!canRevert(g)) return 'this change has nothing the guard could snapshot, so it will NOT be undone automatically';
  const at = new Date(since + g.timeoutSec * 1000).toISOString().slice(11, 19);
  return `the host reverts it by itself within ${g.timeoutSec}s (by ${at} UTC), armed before the change`;
}

function probesOf(task: TaskInstance): Probe[] {
  if (task.deferred || task.skipped || task.flush || task.args === undefined) return [];
  return Object.values(task.module.facts(task.args));
}

function tail(s: string, lines = 20): string {
  return s.trimEnd().split('\n').slice(-lines).join('\n');
}

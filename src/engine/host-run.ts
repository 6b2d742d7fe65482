import type { HostInfo, Plan } from '../core/module.js';
import type { Probe } from '../core/probe.js';
import { summarize, type HostReport, type TaskResult } from '../core/result.js';
import { newNonce, parseBatch, renderBatch, uniqueProbes, type Batch } from '../core/script.js';
import { describeStep, sh } from '../core/step.js';
import { randomBytes } from 'node:crypto';
import { hostInfo } from '../facts/host.js';
import { UnreachableError, type ConnectionSpec, type Transport } from '../transport/types.js';
import { armScript, disarmScript, guardFor, revertNowScript } from './guard.js';
import { HostLink, type MakeTransport } from './host-link.js';
import type { EngineOptions, EventSink, PlayInstance, TaskInstance } from './types.js';

const HIDDEN = '(hidden: no_log)';

type Finish = (r: Omit<TaskResult, 'name' | 'role' | 'module' | 'durationMs'>) => TaskResult;

/** Parsed facts by probe id, valid until a task changes the host. */
type FactCache = Map<string, unknown>;

/**
 * Runs the plays of one host: every probe of a play gathered in one round trip; each change applied
 * in one more round trip that also re-reads the facts of the tasks still to come (a change can
 * invalidate them: a package install creates a user, a unit file...). A no-op run is one round trip
 * per play.
 */
export async function runHost(spec: ConnectionSpec, make: MakeTransport, plays: PlayInstance[], opts: EngineOptions, emit: EventSink): Promise<HostReport> {
  const host = spec.name;
  const results: TaskResult[] = [];
  const link = new HostLink(spec, make);
  emit({ type: 'host-start', host });
  try {
    await link.open();
    let info: HostInfo | undefined;
    for (const play of plays) {
      const runner = new PlayRunner(link, play, opts, emit, results);
      info = await runner.run(info);
      if (runner.stopped) return done(emit, summarize(host, results, false, runner.stopped), link);
    }
    return done(emit, summarize(host, results), link);
  } catch (err) {
    const unreachable = err instanceof UnreachableError;
    const msg = err instanceof Error ? err.message + (err instanceof UnreachableError && err.hint ? `\n${err.hint}` : '') : String(err);
    return done(emit, summarize(host, results, unreachable, msg), link);
  } finally {
    await link.close();
  }
}

function done(emit: EventSink, report: HostReport, link: HostLink): HostReport {
  if (link.notes.length) report.notes = [...link.notes];
  emit({ type: 'host-done', host: report.host, report });
  return report;
}

class PlayRunner {
  stopped?: string;
  private facts: FactCache = new Map();
  private info!: HostInfo;

  constructor(
    private link: HostLink,
    private play: PlayInstance,
    private opts: EngineOptions,
    private emit: EventSink,
    private results: TaskResult[],
  ) {}

  async run(known?: HostInfo): Promise<HostInfo> {
    const { tasks } = this.play;
    const probes = tasks.flatMap(probesOf);
    await this.gather(known ? probes : [hostInfo, ...probes]);
    this.info = known ?? (this.facts.get(hostInfo.id) as HostInfo);
    const notified = new Set<string>();
    for (let i = 0; i < tasks.length && !this.stopped; i++) {
      const result = await this.runTask(tasks[i], tasks.slice(i + 1));
      if (result.status === 'changed') tasks[i].notify.forEach((h) => notified.add(h));
    }
    if (this.stopped) return this.info;
    const handlers = this.play.handlers.filter((h) => notified.has(h.name));
    if (handlers.length) {
      await this.gather(handlers.flatMap(probesOf));
      for (let i = 0; i < handlers.length && !this.stopped; i++) await this.runTask(handlers[i], handlers.slice(i + 1));
    }
    return this.info;
  }

  private async runTask(task: TaskInstance, rest: TaskInstance[]): Promise<TaskResult> {
    const host = this.link.spec.name;
    this.emit({ type: 'task-start', host, task: task.name, role: task.role });
    const started = Date.now();
    const finish: Finish = (r) => {
      const result: TaskResult = {
        name: task.name,
        ...(task.role ? { role: task.role } : {}),
        module: task.module.name,
        ...r,
        ...(task.noLog ? { diff: r.diff.map((d) => ({ subject: d.subject, before: HIDDEN, after: HIDDEN })), commands: r.commands.length ? [HIDDEN] : [] } : {}),
        durationMs: Date.now() - started,
      };
      this.results.push(result);
      this.emit({ type: 'task-done', host, result });
      return result;
    };

    let plan: Plan;
    try {
      plan = this.plan(task);
    } catch (err) {
      this.stopped = `task "${task.name}" failed to plan`;
      return finish({ status: 'failed', reason: `could not plan: ${(err as Error).message}`, diff: [], commands: [] });
    }
    const base = {
      diff: plan.diff ?? [],
      commands: plan.steps.map(describeStep),
      ...(plan.accessCritical ? { accessCritical: plan.accessCritical } : {}),
    };
    if (plan.fail) {
      this.stopped = `task "${task.name}" failed`;
      return finish({ status: 'failed', reason: plan.fail, ...base });
    }
    if (plan.skip) return finish({ status: 'skipped', reason: plan.skip, diff: [], commands: [] });
    if (plan.steps.length === 0) return finish({ status: 'ok', reason: plan.reason, diff: [], commands: [] });
    if (this.opts.check) return finish({ status: 'changed', reason: `would ${plan.reason}`, ...base });

    if (plan.accessCritical) return this.guarded(task, plan, rest, finish, base);
    const batch: Batch = { apply: { id: task.name, steps: plan.steps }, probes: uniqueProbes(rest.flatMap(probesOf)) };
    const out = await this.exec(batch, task.become || this.play.become);
    const applied = out.apply!;
    if (applied.code !== 0) {
      this.stopped = `task "${task.name}" failed; the tasks after it did not run`;
      return finish({ status: 'failed', reason: `${plan.reason}: exit ${applied.code}`, output: tail(applied.stdout), ...base });
    }
    return finish({ status: 'changed', reason: plan.reason, ...(applied.stdout.trim() ? { output: tail(applied.stdout) } : {}), ...base });
  }

  /**
   * An access-critical change: armed revert on the host, apply, then a NEW login with the
   * credentials the inventory uses from now on; only that login disarms the revert.
   */
  private async guarded(task: TaskInstance, plan: Plan, rest: TaskInstance[], finish: Finish, base: Pick<TaskResult, 'diff' | 'commands' | 'accessCritical'>): Promise<TaskResult> {
    const guard = guardFor(plan, randomBytes(6).toString('hex'), this.opts.guardTimeoutSec);
    const become = task.become || this.play.become;
    const steps = [sh(armScript(guard), `arm an automatic revert in ${guard.timeoutSec}s`), ...plan.steps];
    const out = await this.exec({ apply: { id: task.name, steps }, probes: [] }, become);
    const applied = out.apply!;
    if (applied.code !== 0) {
      await this.link.current.run(revertNowScript(guard), { become }).catch(() => undefined);
      this.stopped = `task "${task.name}" failed and was reverted; the tasks after it did not run`;
      return finish({ status: 'failed', reason: `${plan.reason}: exit ${applied.code}; reverted`, output: tail(applied.stdout), ...base });
    }
    if (process.env.SHIPSHAPE_TEST_FAULT === 'die-before-confirm') {
      // fault injection for the end-to-end tests: the controller vanishes between apply and confirmation
      process.kill(process.pid, 'SIGKILL');
    }
    const login = await this.link.confirm(plan.guard?.port, become);
    if (!login.ok) {
      const reverted = await this.link.current
        .run(revertNowScript(guard), { become })
        .then((r) => r.code === 0)
        .catch(() => false);
      this.stopped = `access check failed after "${task.name}"; the tasks after it did not run`;
      const what = reverted ? 'reverted at once' : `the host reverts by itself within ${guard.timeoutSec}s`;
      return finish({ status: 'failed', reason: `${plan.reason}; then ${login.why}; ${what}`, ...base });
    }
    await login.transport.run(disarmScript(guard), { become });
    await this.link.switchTo(login.transport);
    // the change may have invalidated facts of later tasks
    await this.gather(rest.flatMap(probesOf));
    return finish({ status: 'changed', reason: `${plan.reason} (confirmed by a new login as ${login.transport.spec.user}@${login.transport.spec.host}:${login.transport.spec.port})`, ...base });
  }

  private plan(task: TaskInstance): Plan {
    const probes = task.module.facts(task.args);
    const facts: Record<string, unknown> = {};
    for (const [name, p] of Object.entries(probes)) {
      if (!this.facts.has(p.id)) throw new Error(`fact ${p.id} was not gathered`);
      facts[name] = this.facts.get(p.id);
    }
    const spec = this.link.current.spec;
    const access = { port: spec.port, user: spec.user, ...(this.info.client ? { client: this.info.client } : {}) };
    return task.module.plan(task.args, facts as never, { host: this.info, access, check: this.opts.check });
  }

  private async gather(probes: Probe[]): Promise<void> {
    const unique = uniqueProbes(probes);
    if (unique.length) await this.exec({ probes: unique }, this.play.become);
  }

  /** One round trip; parsed probe results go into the fact cache. */
  private async exec(batch: Batch, become: boolean) {
    const nonce = newNonce();
    const res = await this.link.current.run(renderBatch(batch, nonce), { become });
    const out = parseBatch(res.stdout, batch, nonce);
    if (res.code === null || out.incomplete) {
      const what = batch.apply ? `while applying "${batch.apply.id}"` : 'while reading facts';
      const detail = res.stderr.trim() ? `: ${tail(res.stderr)}` : '';
      if (res.code === null) throw new UnreachableError(this.link.spec.name, `connection lost ${what}${detail}`);
      throw new Error(`the host's shell stopped ${what} (exit ${res.code})${detail}`);
    }
    for (const p of batch.probes) {
      const s = out.probes.get(p.id);
      if (s) this.facts.set(p.id, p.parse(s.stdout, s.code));
    }
    return out;
  }
}

function probesOf(task: TaskInstance): Probe[] {
  return Object.values(task.module.facts(task.args));
}

function tail(s: string, lines = 20): string {
  return s.trimEnd().split('\n').slice(-lines).join('\n');
}

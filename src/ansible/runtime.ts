/**
 * The parts of Ansible's task language that only the run can decide, kept out of the host runner's
 * transport logic: registered results, changed_when / failed_when, ignore_errors, and which tasks
 * of a block/rescue/always run after a failure.
 */
import type { TaskResult } from '../core/result.js';
import type { BlockRef, TaskInstance } from '../engine/types.js';
import type { Vars } from '../inventory/vars.js';
import { evalWhen } from '../playbook/template.js';

/** What a task's run produced besides its result: the exit code and output of its steps. */
export interface RunOutput {
  rc?: number;
  stdout?: string;
  /** what the module returns beside changed/failed (stat's `stat`, debug's `msg`), from its plan */
  result?: Record<string, unknown>;
}

/** Ansible's registered result of one task (the keys playbooks branch on). */
export function registeredValue(r: Pick<TaskResult, 'status' | 'reason'>, run: RunOutput): Vars {
  const stdout = (run.stdout ?? '').replace(/\n$/, '');
  return {
    changed: r.status === 'changed',
    failed: r.status === 'failed',
    skipped: r.status === 'skipped',
    rc: run.rc ?? (r.status === 'failed' ? 1 : 0),
    stdout,
    stdout_lines: stdout ? stdout.split('\n') : [],
    stderr: '',
    stderr_lines: [],
    msg: r.reason,
    ...run.result,
  };
}

/** Variables set on a host during the run: registered results and set_fact, visible to later plays too. */
export class HostVars {
  readonly vars: Vars = {};
  private loops = new Map<number, Vars[]>();

  register(task: TaskInstance, value: Vars): void {
    if (!task.register) return;
    if (!task.loop) {
      this.vars[task.register] = value;
      return;
    }
    // a looped task registers one result per item under `results`, as Ansible does
    const list = this.loops.get(task.loop.id) ?? [];
    list.push({ ...value, item: task.loop.item, ansible_loop_var: 'item' });
    this.loops.set(task.loop.id, list);
    this.vars[task.register] = {
      changed: list.some((v) => v.changed),
      failed: list.some((v) => v.failed),
      skipped: list.every((v) => v.skipped),
      msg: 'All items completed',
      results: list,
    };
  }
}

/**
 * changed_when / failed_when after the task ran (or was planned, in check), seeing the task's own
 * result under its register name. Returns the status to report.
 */
export function judged(task: TaskInstance, status: TaskResult['status'], value: Vars, vars: Vars): TaskResult['status'] {
  if (status === 'skipped') return status;
  const ctx = { ...vars, ...(task.register ? { [task.register]: value } : {}) };
  let s = status;
  if (task.failedWhen !== undefined) {
    const failed = evalWhen(task.failedWhen, ctx);
    if (failed) return 'failed';
    // the steps ran; changed_when may say they changed nothing
    if (s === 'failed') s = 'changed';
  }
  if (task.changedWhen !== undefined && s !== 'failed') s = evalWhen(task.changedWhen, ctx) ? 'changed' : 'ok';
  return s;
}

/**
 * Which tasks run once something in a block failed: the rest of the block's body is skipped, its
 * rescue runs, its always runs in every case. A failure nothing rescues stops the host once the
 * blocks around it have run their `always` sections.
 */
export class Blocks {
  private state = new Map<number, { failed: boolean; unhandled: boolean }>();
  private ends = new Map<number, number>();
  private parents = new Map<number, BlockRef[]>();

  constructor(tasks: TaskInstance[]) {
    tasks.forEach((t, i) => {
      const refs = t.blocks ?? [];
      refs.forEach((r, depth) => {
        this.ends.set(r.id, i);
        this.parents.set(r.id, refs.slice(0, depth));
      });
    });
  }

  private of(id: number) {
    let s = this.state.get(id);
    if (!s) this.state.set(id, (s = { failed: false, unhandled: false }));
    return s;
  }

  runs(task: TaskInstance): boolean {
    for (const ref of task.blocks ?? []) {
      const s = this.of(ref.id);
      if (ref.part === 'body' && s.failed) return false;
      if (ref.part === 'rescue' && !s.failed) return false;
    }
    return true;
  }

  /** A failure inside blocks: 'rescued' when a rescue section takes it, 'deferred' when an always section runs first, undefined when the host stops now. */
  failed(refs: BlockRef[]): 'rescued' | 'deferred' | undefined {
    const inner = refs[refs.length - 1];
    if (!inner) return undefined;
    const s = this.of(inner.id);
    if (inner.part === 'body') {
      s.failed = true;
      if (inner.hasRescue) return 'rescued';
    }
    s.unhandled = true;
    return 'deferred';
  }

  /** After task `i`: a block ending there with an unhandled failure passes it outwards. True when the host must stop. */
  ended(i: number): boolean {
    const ending = [...this.ends].filter(([, end]) => end === i).map(([id]) => id);
    // innermost first: the deeper a block, the longer its chain of parents
    ending.sort((a, b) => this.parents.get(b)!.length - this.parents.get(a)!.length);
    let stop = false;
    for (const id of ending) {
      const s = this.of(id);
      if (!s.unhandled) continue;
      s.unhandled = false;
      const up = this.failed(this.parents.get(id)!);
      if (up === undefined) stop = true;
    }
    return stop;
  }
}

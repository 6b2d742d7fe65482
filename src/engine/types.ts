import type { LoginMemory } from './login-memory.js';
import type { ModuleDef } from '../core/module.js';
import type { HostReport, TaskResult } from '../core/result.js';
import type { Vars } from '../inventory/vars.js';
import type { Phase, TaskSpec } from '../playbook/types.js';

/** The block a task sits in (Ansible's block/rescue/always) and which section of it. */
export interface BlockRef {
  id: number;
  part: 'body' | 'rescue' | 'always';
  hasRescue: boolean;
}

/**
 * A task whose `when`, loop or arguments use what only the host can tell (gathered facts, a
 * registered result, a fact set from those): everything else about it was checked at expansion;
 * the runner finishes it with the host's values right before it runs.
 */
export interface DeferredTask {
  spec: TaskSpec;
  vars: Vars;
  /** conditions still to evaluate, all must hold (the task's own `when` and its blocks' and role's) */
  conditions: (string | boolean)[];
  dir: string;
  modules: Record<string, ModuleDef>;
}

/** A task fully resolved for one host: module chosen, arguments rendered and validated. */
export interface TaskInstance {
  name: string;
  role?: string;
  module: ModuleDef;
  args: unknown;
  tags: string[];
  notify: string[];
  /** handlers only: the other names it answers to (Ansible's `listen`) */
  listen?: string[];
  become: boolean;
  noLog: boolean;
  /** finished by the runner (then `args` is unset) */
  deferred?: DeferredTask;
  /** decided at expansion not to run, and kept because it registers its (skipped) result */
  skipped?: string;
  register?: string;
  /** one iteration of a loop: registered results are gathered under `results` */
  loop?: { id: number; index: number; count: number; item: unknown };
  changedWhen?: string | boolean;
  failedWhen?: string | boolean;
  ignoreErrors?: boolean;
  /** `check_mode: false` on a command declared read-only: it runs during check as during apply */
  runInCheck?: boolean;
  /** the variables changed_when / failed_when see (with the task's own registered result) */
  vars?: Vars;
  /** enclosing blocks with a rescue or always section, outermost first */
  blocks?: BlockRef[];
  phase?: Phase;
  /** `meta: flush_handlers` */
  flush?: boolean;
  /** a deferred task that could not be finished with the host's values: reported as failed */
  failure?: string;
  /** `set_fact`: these variables for the rest of the play on this host */
  setFact?: Vars;
}

/** A play as it will run on one host. */
export interface PlayInstance {
  name: string;
  become: boolean;
  /** some task uses gathered facts (`ansible_*`): the runner reads them with the first probes */
  facts?: boolean;
  tasks: TaskInstance[];
  /** handlers by the name tasks notify */
  handlers: TaskInstance[];
}

export interface EngineOptions {
  check: boolean;
  forks: number;
  /** seconds after which an unconfirmed access-critical change reverts itself on the host */
  guardTimeoutSec: number;
  /** hosts that needed bootstrap_user last time, so they are not sent a refused login on every run */
  loginMemory?: LoginMemory;
  /** apply takes a host-wide lock (see host-lock.ts): how long a second run waits, when a silent holder is dead */
  hostLock?: { waitSec: number; staleSec: number };
  /** seconds each network phase of apt may take before its task fails with a report (--apt-timeout; plans default to 900) */
  aptTimeoutSec?: number;
}

export type EngineEvent =
  | { type: 'host-start'; host: string }
  | { type: 'task-start'; host: string; task: string; role?: string }
  | { type: 'task-done'; host: string; result: TaskResult }
  | { type: 'host-done'; host: string; report: HostReport };

export type EventSink = (e: EngineEvent) => void;

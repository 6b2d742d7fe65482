export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface FileDiff {
  /** what the diff is about: a path, or a thing like "user deploy" */
  subject: string;
  before: string;
  after: string;
}

/**
 * One way the host differs from what a task declares, in words an operator acts on: what differs,
 * why it matters, where the cause lives (a file and line, a unit, a rule) and what removes it
 * (the command, or what apply does). Check reports it; apply fixes exactly it.
 */
export interface Drift {
  what: string;
  why: string;
  where: string;
  fix: string;
}

/** The one result shape every task produces, in apply and in check mode alike. */
export interface TaskResult {
  name: string;
  role?: string;
  module: string;
  status: TaskStatus;
  /** why: what was (or would be) changed, or why nothing needed doing */
  reason: string;
  diff: FileDiff[];
  /** how the host differs from the declaration (changed tasks only): found by check, fixed by apply */
  drift?: Drift[];
  /** the steps, described for humans (secrets are never part of a description) */
  commands: string[];
  /** set when the change can cut the operator's access (sshd, firewall, keys, sudo) */
  accessCritical?: string;
  /** stdout/stderr of a failed or executed step, trimmed */
  output?: string;
  /** a failure the playbook handles (Ansible's ignore_errors, a block's rescue): not counted as failed */
  handled?: 'ignored' | 'rescued';
  durationMs: number;
}

export interface HostReport {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: boolean;
  /** why the host is unreachable or was stopped early, and what to do next */
  error?: string;
  /** what the operator should know or do after this run (connection changes, inventory edits) */
  notes?: string[];
  tasks: TaskResult[];
  /** what the run cost on this host (--json `stats`) */
  stats?: HostStats;
}

/** Measurements of one host's run; each part is set by the layer that measures it. */
export interface HostStats {
  /** scripts run on the host over every connection of the run (counted in the transport: transport/metered.ts) */
  roundTrips?: number;
  /** SSH logins made: the first, and every confirmation or re-login */
  logins?: number;
  /** the host's time: logins, round trips that only read facts, all other round trips (ms) */
  timings?: { loginMs: number; factsMs: number; applyMs: number };
  /**
   * The fact scripts' cost on the host, summed over the run (a no-op run reads facts once per play):
   * wall time (10 ms resolution) and the pids allocated meanwhile (see FactScriptStats in core/script.ts).
   */
  factScript?: { ms: number; processes: number };
}

export function summarize(host: string, tasks: TaskResult[], unreachable = false, error?: string): HostReport {
  const count = (s: TaskStatus) => tasks.filter((t) => t.status === s).length;
  return {
    host,
    ok: count('ok'),
    changed: count('changed'),
    failed: tasks.filter((t) => t.status === 'failed' && !t.handled).length,
    skipped: count('skipped'),
    unreachable,
    ...(error ? { error } : {}),
    tasks,
  };
}

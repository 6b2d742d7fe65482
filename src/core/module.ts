import type { z } from 'zod';
import type { Probe } from './probe.js';
import type { Step } from './step.js';
import type { Drift, FileDiff } from './result.js';

/** What a host is, gathered once per host; plans may branch on it (e.g. containers cannot set sysctls). */
export interface HostInfo {
  /** `systemd-detect-virt --container` output, or 'none' */
  container: string;
  /** /etc/os-release ID and VERSION_ID, e.g. debian / 12 */
  osId: string;
  osVersion: string;
  osCodename: string;
  arch: string;
  /** the controller's address as the host sees it, from $SSH_CONNECTION, when known */
  client?: string;
  /** the host's own address that connection came to (the third field of $SSH_CONNECTION), when known */
  server?: string;
  /**
   * how the host reaches that address (`ip route get`): the next hop, and the addresses (with prefix)
   * of the interface it leaves by. A new bridge (Docker's) overlapping any of them cuts the controller off.
   */
  clientRoute?: ClientRoute;
}

export interface ClientRoute {
  via?: string;
  dev?: string;
  src?: string;
  /** `10.0.0.5/24` of the interface `dev` */
  nets: string[];
}

/** How the controller reaches the host right now; lets plans refuse changes that would cut that access. */
export interface AccessInfo {
  /** the SSH port of the current connection */
  port: number;
  /** the login user of the current connection */
  user: string;
  /** the controller's address as the host sees it (from $SSH_CONNECTION), when known */
  client?: string;
}

export interface PlanContext {
  host: HostInfo;
  access: AccessInfo;
  /** true in `check`: plans must not differ, but some modules word their reasons for it */
  check: boolean;
  /**
   * In check, the paths earlier tasks of this run would write. Check reads the host once, so a plan
   * that judges a file by its age (service restart_after) would otherwise miss a change still to come.
   */
  willWrite?: ReadonlySet<string>;
  /**
   * Seconds each network phase of apt (an `apt-get update`, the download of a play's packages) may take
   * before it is stopped and its task fails with what apt was waiting for (--apt-timeout; default 900).
   */
  aptTimeoutSec?: number;
}

export interface PrepareContext {
  /** read a controller-side file, resolved against the role's or playbook's directory */
  readLocal(path: string, kind: 'templates' | 'files'): string;
  /** render a template text (Jinja2-like, nunjucks) with the task's variables */
  render(template: string): string;
  /** the value of a bare Jinja expression (`x | length > 2`, as in `when`) with the task's variables */
  evaluate?(expr: string): unknown;
}

/**
 * What a module decides from its arguments and the facts: the steps to run (empty = nothing to do),
 * a reason either way, and a diff of what changes. Computed without I/O, so check and apply agree.
 */
export interface Plan {
  steps: Step[];
  reason: string;
  diff?: FileDiff[];
  /**
   * How the host differs, cause by cause (what, why it matters, where the cause lives, the fix). Plans
   * that know more than "the task would change" say it here; otherwise the engine words one entry from
   * the reason, the diff and the steps.
   */
  drift?: Drift[];
  /** a reason to report the task as skipped instead (e.g. "kernel sysctls are read-only in a container") */
  skip?: string;
  /** the task cannot be done as asked; reported as failed with this message, nothing runs */
  fail?: string;
  /**
   * The steps reboot the host: the engine then waits for it to come back (a new login on a new boot,
   * then `test` succeeding) before the next task, and fails the task after `timeoutSec`.
   */
  reboot?: { bootId: string; timeoutSec: number; postDelaySec: number; test: string };
  /** values the task returns beside changed/failed, as Ansible's module of that name does (for `register`) */
  result?: Record<string, unknown>;
  /**
   * The steps change nothing any task manages (they fill a cache, e.g. apt's download of the play's
   * packages): the engine runs them in apply and reports the task as ok, never as a change, in check
   * (where nothing runs) as in apply, so check's prediction and apply's changes stay the same list.
   */
  cacheOnly?: boolean;
  /** set when applying this plan can lock the operator out; the engine guards it */
  accessCritical?: string;
  /**
   * How the engine's guard undoes this plan if the operator cannot log in afterwards: the files to
   * snapshot (default: the plan's write steps), a command run after they are restored, and the SSH
   * port logins use once the plan is applied (when it moves sshd).
   */
  guard?: { paths: string[]; restore?: string; port?: number };
}

export type FactValues<P> = { [K in keyof P]: NonNullable<P[K]> extends Probe<infer T> ? T : never };

/**
 * A module: an argument schema, the probes it needs (from its arguments only), and a pure plan.
 * A plan must never fail because something an earlier task creates is missing (a user, a package):
 * it plans the change, so `check` on a fresh host predicts exactly what `apply` does.
 */
export interface ModuleDef<A = any, P extends Record<string, Probe> = Record<string, Probe>, I = any> {
  name: string;
  /** one line for --help and docs */
  summary: string;
  /** the arguments: I is what a task may write (defaults optional), A what plan() receives */
  schema: z.ZodType<A, I>;
  /**
   * Ansible's other names for top-level arguments (`dest: 'path'` for lineinfile): a task may use
   * either; the loader renames them before validation, so plans only ever see the schema's names.
   */
  aliases?: Record<string, string>;
  /**
   * Controller-side work before facts and plan (Ansible's action plugins): read a local file,
   * render a template. Returns the arguments the plan will see. The only place a module may read
   * the controller's disk, and only through ctx.
   */
  prepare?(args: A, ctx: PrepareContext): A;
  facts(args: A): P;
  plan(args: A, facts: FactValues<P>, ctx: PlanContext): Plan;
  /**
   * Its arguments are apt's (`name`, `state`, `install_recommends`, ... plus fields of its own) and it installs
   * with apt: the engine downloads its packages with the play's other apt tasks' in one transaction
   * (engine/apt-prefetch.ts). `apt` and `package` themselves say so.
   */
  installsWith?: 'apt';
  /**
   * Why this task must not run on this host at all, judged from its arguments, how the controller is
   * connected and the task's facts as the play's first round trip read them (none for a task whose
   * facts were not read then, e.g. a loop unrolled on the host). The engine asks every task of a play
   * before the play changes anything, so a declaration that would lock the operator out is refused
   * before earlier tasks touch the host. The task's plan judges again on facts read after those tasks.
   */
  preflight?(args: A, ctx: PlanContext, facts?: Partial<FactValues<P>>): string | undefined;
  /**
   * Arguments Ansible's module of the same name takes and this one does not (yet), each with what to do
   * instead: a playbook brought from Ansible is told that, not "unknown argument, did you mean ...".
   */
  notYet?: Record<string, string>;
}

/** The arguments a task of this module may write (zod's input type: defaulted arguments are optional). */
export type ModuleArgs<M> = M extends ModuleDef<any, any, infer I> ? (unknown extends I ? Record<string, unknown> : I) : never;

export function defineModule<A, P extends Record<string, Probe>, I = A>(def: ModuleDef<A, P, I>): ModuleDef<A, P, I> {
  return def;
}

/** Arguments with Ansible aliases renamed to the schema's names; `clashes` lists an alias given beside its argument. */
export function canonicalArgs(
  mod: Pick<ModuleDef, 'aliases'>,
  values: Record<string, unknown>,
): { values: Record<string, unknown>; renamed: Map<string, string>; clashes: { alias: string; name: string }[] } {
  const renamed = new Map<string, string>();
  const clashes: { alias: string; name: string }[] = [];
  if (!mod.aliases) return { values, renamed, clashes };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    const name = Object.hasOwn(mod.aliases, k) ? mod.aliases[k] : k;
    if (name !== k) {
      if (Object.hasOwn(values, name) || Object.hasOwn(out, name)) {
        clashes.push({ alias: k, name });
        continue;
      }
      renamed.set(k, name);
    }
    out[name] = v;
  }
  return { values: out, renamed, clashes };
}

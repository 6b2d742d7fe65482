/**
 * First runs are mostly apt: every role's install was its own download. The packages of every apt task
 * a play will run are instead fetched in one transaction at the start of the play (modules/apt-prefetch.ts),
 * a task of its own that output and --json show; the installs stay where the roles put them, in order.
 *
 * Only tasks known, before connecting, to run take part: a `when` that is false, a tag not selected, a
 * rescue section (it runs only on failure) leave a task out; a task whose `when`, loop or arguments need
 * the host's answers (registered results, gathered facts) is left to its own transaction, as is every apt
 * task after one that adds an apt source (its packages may come from that source, unknown to apt before it).
 */
import prefetch, { type PrefetchArgs } from '../modules/apt-prefetch.js';
import type { AptArgs } from '../modules/apt.js';
import type { PlayInstance, TaskInstance } from './types.js';

export const PREFETCH_TASK = 'packages of this play downloaded (one apt transaction)';

/** Modules that may add a package source: the apt tasks after one are not resolvable before it runs. */
const SOURCE_MODULES = new Set(['apt_repository', 'apt_key', 'deb822_repository']);

/** The play with its prefetch task first, when two or more of its apt tasks install packages. */
export function withAptPrefetch(play: PlayInstance): PlayInstance {
  return { ...play, tasks: prefetched(play.tasks) };
}

function prefetched(tasks: TaskInstance[]): TaskInstance[] {
  const installs: TaskInstance[] = [];
  for (const t of tasks) {
    if (SOURCE_MODULES.has(t.module.name) && (t.deferred || (t.args as { state?: string } | undefined)?.state !== 'absent')) break;
    // a no_log task's package names stay hidden: it keeps its own transaction
    if (t.module.installsWith !== 'apt' || t.args === undefined || t.deferred || t.skipped || t.failure || t.noLog) continue;
    if ((t.blocks ?? []).some((b) => b.part === 'rescue')) continue;
    const a = t.args as AptArgs;
    if (!a.name?.length || a.state === 'absent') continue;
    // one transaction as one user: the tasks that become as the first one does
    if (installs.length && t.become !== installs[0].become) continue;
    installs.push(t);
  }
  // one apt task is one transaction already: a download of its own would only add a round trip
  if (installs.length < 2) return tasks;
  const args: PrefetchArgs = { tasks: installs.map((t) => t.args as AptArgs) };
  const task: TaskInstance = {
    name: PREFETCH_TASK,
    module: prefetch,
    args,
    tags: [],
    notify: [],
    become: installs[0].become,
    noLog: false,
    ...(tasks[0].phase ? { phase: tasks[0].phase } : {}),
  };
  return [task, ...tasks];
}

/**
 * What `command`, `shell` and `raw` share: the guards that decide whether the command runs
 * (creates, removes, shipshape's `unless`), the working directory, stdin, and what `check` does.
 *
 * In `check` a command never runs, and neither does `unless` (it is operator code: nothing proves it
 * read-only). As in Ansible, a task whose creates/removes say there is nothing to do is ok, one whose
 * creates/removes say it would run is reported as changed, and any other is skipped.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import type { Plan, PlanContext } from '../core/module.js';
import { run, type Step } from '../core/step.js';
import { checkStatus } from '../facts/command.js';
import { fileStat, type FileStat } from '../facts/file.js';

export const guardFields = {
  /** a path; when it exists the command is not run */
  creates: z.string().min(1).optional(),
  /** a path; the command runs only when it exists */
  removes: z.string().min(1).optional(),
  /** shipshape's own guard (not Ansible's): a read-only sh command; when it exits 0 the command is not run */
  unless: z.string().min(1).optional(),
  /** the working directory, also of `unless`; relative creates/removes paths are resolved in it */
  chdir: z.string().startsWith('/', 'chdir must be an absolute path').optional(),
  stdin: z.string().optional(),
  stdin_add_newline: z.boolean().default(true),
};

export interface Guarded {
  creates?: string;
  removes?: string;
  unless?: string;
  chdir?: string;
  stdin?: string;
  stdin_add_newline: boolean;
}

export interface GuardFacts {
  creates?: FileStat;
  removes?: FileStat;
  /** undefined in check: `unless` is never run there */
  unless?: number;
}

// probes and steps both run in /, so without chdir a relative path means the same to both
export const resolveIn = (a: Guarded, path: string) => posix.resolve(a.chdir ?? '/', path);

export function guardProbes(a: Guarded) {
  return {
    ...(a.creates ? { creates: fileStat(resolveIn(a, a.creates)) } : {}),
    ...(a.removes ? { removes: fileStat(resolveIn(a, a.removes)) } : {}),
    ...(a.unless ? { unless: checkStatus(a.unless, a.chdir) } : {}),
  };
}

/** The argv run in `chdir`: a step has no working directory, and positional parameters keep both unquoted. */
export function inDir(chdir: string | undefined, argv: string[]): string[] {
  return chdir ? ['sh', '-c', 'cd -- "$1" || exit; shift; exec "$@"', 'sh', chdir, ...argv] : argv;
}

/** The plan of a guarded command: `argv` is what runs, `shown` how the reason names it. */
export function planCommand(a: Guarded, f: GuardFacts, ctx: PlanContext, argv: string[], shown: string): Plan {
  if (a.creates && f.creates?.exists) return { steps: [], reason: `${resolveIn(a, a.creates)} exists (creates)` };
  if (a.removes && !f.removes?.exists) return { steps: [], reason: `${resolveIn(a, a.removes)} does not exist (removes)` };
  if (a.unless && f.unless === 0) return { steps: [], reason: `\`${a.unless}\` succeeded (unless)` };

  const input = a.stdin === undefined ? undefined : a.stdin + (a.stdin_add_newline ? '\n' : '');
  const step: Step = run(inDir(a.chdir, argv), input === undefined ? {} : { input });
  const guards = [
    a.creates ? `${resolveIn(a, a.creates)} is missing` : '',
    a.removes ? `${resolveIn(a, a.removes)} exists` : '',
    a.unless && f.unless !== undefined ? `\`${a.unless}\` failed` : '',
  ].filter(Boolean);
  const what = `run ${shown}${a.chdir ? ` in ${a.chdir}` : ''}`;
  if (ctx.check && (a.unless || (!a.creates && !a.removes))) {
    const why = a.unless ? `its \`unless\` is not run in check mode` : 'no creates/removes can tell without running it';
    return { steps: [], reason: '', skip: `commands do not run in check mode (${why}): would ${what}` };
  }
  return { steps: [step], reason: `${what}${guards.length ? ` (${guards.join(', ')})` : ''}` };
}

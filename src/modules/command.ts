import { posix } from 'node:path';
import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { shJoin } from '../core/quote.js';
import { run } from '../core/step.js';
import { checkStatus } from '../facts/command.js';
import { fileStat, type FileStat } from '../facts/file.js';

const object = z
  .object({
    /** a command line, run by sh -c (so pipes and redirections work, unlike Ansible's command) */
    cmd: z.string().min(1).optional(),
    /** a program and its arguments, run without a shell */
    argv: z.array(z.string()).min(1).optional(),
    /** a path; when it exists the command is not run */
    creates: z.string().min(1).optional(),
    /** a path; the command runs only when it exists */
    removes: z.string().min(1).optional(),
    /** shipshape's own guard: a read-only sh command; when it exits 0 the command is not run */
    unless: z.string().min(1).optional(),
    /** the working directory, also of `unless`; relative creates/removes paths are resolved in it */
    chdir: z.string().startsWith('/', 'chdir must be an absolute path').optional(),
    stdin: z.string().optional(),
    stdin_add_newline: z.boolean().default(true),
  })
  .strict()
  .refine((a) => (a.cmd === undefined) !== (a.argv === undefined), { message: 'command needs exactly one of cmd or argv' });

// Ansible's free form (`command: systemctl daemon-reload`) is a plain string; the engine may already
// have turned it into {cmd}, accepting it here too keeps the module usable on its own
const schema = z.preprocess((v) => (typeof v === 'string' ? { cmd: v } : v), object);

type Args = z.infer<typeof object>;

interface CommandFacts {
  creates?: FileStat;
  removes?: FileStat;
  unless?: number;
}

// probes and steps both run in /, so without chdir a relative path means the same to both
const resolve = (a: Args, path: string) => posix.resolve(a.chdir ?? '/', path);

export default defineModule({
  name: 'command',
  summary: 'Run a command, unless a guard (creates, removes, unless) says it has already done its work (Ansible: command)',
  schema,
  facts: (a: Args) => ({
    ...(a.creates ? { creates: fileStat(resolve(a, a.creates)) } : {}),
    ...(a.removes ? { removes: fileStat(resolve(a, a.removes)) } : {}),
    ...(a.unless ? { unless: checkStatus(a.unless, a.chdir) } : {}),
  }),
  plan(a: Args, f: CommandFacts): Plan {
    if (a.creates && f.creates?.exists) return { steps: [], reason: `${resolve(a, a.creates)} exists (creates)` };
    if (a.removes && !f.removes?.exists) return { steps: [], reason: `${resolve(a, a.removes)} does not exist (removes)` };
    if (a.unless && f.unless === 0) return { steps: [], reason: `\`${a.unless}\` succeeded (unless)` };

    const argv = a.cmd !== undefined ? ['sh', '-c', a.cmd] : a.argv!;
    // a run step has no working directory of its own; the positional parameters keep chdir and argv unquoted
    const full = a.chdir ? ['sh', '-c', 'cd -- "$1" || exit; shift; exec "$@"', 'sh', a.chdir, ...argv] : argv;
    const input = a.stdin === undefined ? undefined : a.stdin + (a.stdin_add_newline ? '\n' : '');
    const guards = [
      a.creates ? `${resolve(a, a.creates)} is missing` : '',
      a.removes ? `${resolve(a, a.removes)} exists` : '',
      a.unless ? `\`${a.unless}\` failed` : '',
    ].filter(Boolean);
    const shown = a.cmd ?? shJoin(a.argv!);
    return {
      steps: [run(full, input === undefined ? {} : { input })],
      reason: `run ${shown}${a.chdir ? ` in ${a.chdir}` : ''}${guards.length ? ` (${guards.join(', ')})` : ''}`,
    };
  },
});

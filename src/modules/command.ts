import { z } from 'zod';
import { defineModule, type Plan, type PlanContext } from '../core/module.js';
import { shJoin } from '../core/quote.js';
import { shlexSplit } from '../core/shlex.js';
import { guardFields, guardProbes, planCommand, type GuardFacts } from './command-run.js';

/**
 * Ansible's `command`: a program and its arguments, run WITHOUT a shell. A `cmd` string is split
 * into words as Ansible splits it (Python's shlex), so a templated value holding `; touch /x` is
 * arguments, never a second command. Use `shell` when pipes or redirections are wanted.
 */
const object = z
  .object({
    /** a command line, split into words (quotes group them); no shell, so `|`, `;`, `>` are plain words */
    cmd: z.string().min(1).optional(),
    /** a program and its arguments, each one word as given */
    argv: z.array(z.string()).min(1).optional(),
    ...guardFields,
  })
  .strict()
  .refine((a) => (a.cmd === undefined) !== (a.argv === undefined), { message: 'command needs exactly one of cmd or argv' })
  .superRefine((a, ctx) => {
    if (a.cmd === undefined) return;
    try {
      if (shlexSplit(a.cmd).length === 0) ctx.addIssue({ code: 'custom', path: ['cmd'], message: 'cmd has no words to run' });
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['cmd'], message: `cmd cannot be split into words: ${(e as Error).message}` });
    }
  });

// Ansible's free form (`command: systemctl daemon-reload`) is a plain string; the engine may already
// have turned it into {cmd}, accepting it here too keeps the module usable on its own
const schema = z.preprocess((v) => (typeof v === 'string' ? { cmd: v } : v), object);

type Args = z.infer<typeof object>;

export default defineModule({
  name: 'command',
  summary: 'Run a program with its arguments, without a shell, unless creates/removes/unless say it has done its work (Ansible: command)',
  schema,
  facts: (a: Args) => guardProbes(a),
  plan(a: Args, f: GuardFacts, ctx: PlanContext): Plan {
    const argv = a.argv ?? shlexSplit(a.cmd!);
    return planCommand(a, f, ctx, argv, shJoin(argv));
  },
});

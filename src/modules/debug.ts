import { z } from 'zod';
import { defineModule, type Plan, type PrepareContext } from '../core/module.js';
import { pyPrint } from '../playbook/python-repr.js';

/**
 * Ansible's `debug`: print a message (`msg`) or a variable's value (`var`). Decided on the controller;
 * never touches the host and is always ok. Shown in the output with -v, and in --json.
 */
const schema = z
  .object({
    msg: z.unknown().optional(),
    /** a variable name or expression, printed as `NAME: value` */
    var: z.string().min(1).optional(),
    /** Ansible prints it only at this -v level; shipshape keeps it in the task's reason either way */
    verbosity: z.number().int().nonnegative().default(0),
  })
  .strict()
  .refine((a) => !(a.msg !== undefined && a.var !== undefined), { message: 'debug takes msg or var, not both' });

type Args = z.infer<typeof schema> & { shown?: string; value?: unknown };

export default defineModule({
  name: 'debug',
  summary: 'Print a message or a variable while the play runs; changes nothing (Ansible: debug)',
  schema,
  prepare(a: Args, ctx) {
    if (a.var === undefined) return { ...a, shown: a.msg === undefined ? 'Hello world!' : pyPrint(a.msg) };
    const value = evaluated(ctx, a.var);
    return { ...a, shown: `${a.var}: ${pyPrint(value)}`, value };
  },
  facts: () => ({}),
  plan(a: Args): Plan {
    const shown = a.shown ?? pyPrint(a.msg ?? 'Hello world!');
    // registered as Ansible's debug returns it: `msg`, or the variable's value under its own name
    return { steps: [], reason: shown, result: a.var === undefined ? { msg: a.msg ?? 'Hello world!' } : { [a.var]: a.value } };
  },
});

function evaluated(ctx: PrepareContext, expr: string): unknown {
  if (!ctx.evaluate) throw new Error('expressions need the engine (no evaluate in this context)');
  return ctx.evaluate(expr);
}

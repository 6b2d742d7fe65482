import { z } from 'zod';
import { defineModule, type Plan, type PrepareContext } from '../core/module.js';
import { pyPrint } from '../playbook/python-repr.js';

/**
 * Ansible's `assert`: every expression of `that` must hold (Jinja expressions as in `when`), else the
 * task fails with `fail_msg`. Decided on the controller before any change; never touches the host.
 */
const schema = z
  .object({
    that: z.union([z.string().min(1), z.boolean(), z.array(z.union([z.string().min(1), z.boolean()])).min(1)]).transform((v) => (Array.isArray(v) ? v : [v])),
    fail_msg: z.unknown().optional(),
    success_msg: z.unknown().optional(),
    quiet: z.boolean().default(false),
  })
  .strict();

type Args = z.infer<typeof schema> & { failed?: string };

export default defineModule({
  name: 'assert',
  summary: 'Fail the host unless every condition of `that` holds (Ansible: assert)',
  schema,
  aliases: { msg: 'fail_msg' },
  prepare(a: Args, ctx) {
    const failed = a.that.find((c) => (typeof c === 'boolean' ? !c : !truthy(evaluated(ctx, c))));
    return failed === undefined ? a : { ...a, failed: String(failed) };
  },
  facts: () => ({}),
  plan(a: Args): Plan {
    if (a.failed !== undefined) {
      const msg = a.fail_msg !== undefined ? pyPrint(a.fail_msg) : `Assertion failed: ${a.failed}`;
      return { steps: [], reason: msg, fail: msg, result: { assertion: a.failed, evaluated_to: false } };
    }
    return { steps: [], reason: a.success_msg !== undefined ? pyPrint(a.success_msg) : 'All assertions passed' };
  },
});

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

function evaluated(ctx: PrepareContext, expr: string): unknown {
  if (!ctx.evaluate) throw new Error('expressions need the engine (no evaluate in this context)');
  return ctx.evaluate(expr);
}

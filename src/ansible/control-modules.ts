/**
 * Tasks that act on the run, not on the host: `set_fact` (variables for the rest of the play) and
 * `meta: flush_handlers`. They have no facts and plan no steps; the engine does their work.
 */
import { z } from 'zod';
import { defineModule } from '../core/module.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const setFact = defineModule({
  name: 'set_fact',
  summary: 'Set variables for the rest of the play on this host (Ansible: set_fact)',
  schema: z
    .record(z.string(), z.unknown())
    .superRefine((v, ctx) => {
      for (const k of Object.keys(v)) if (!NAME.test(k)) ctx.addIssue({ code: 'custom', message: `\`${k}\` is not a variable name`, path: [k] });
      if (Object.keys(v).filter((k) => k !== 'cacheable').length === 0) ctx.addIssue({ code: 'custom', message: 'set_fact needs at least one variable' });
    })
    .transform((v) => {
      const { cacheable: _ignored, ...vars } = v;
      return vars;
    }),
  facts: () => ({}),
  plan: (a) => ({ steps: [], reason: `set ${Object.keys(a).join(', ')}` }),
});

export const flushHandlers = defineModule({
  name: 'meta',
  summary: 'meta: flush_handlers',
  schema: z.unknown(),
  facts: () => ({}),
  plan: () => ({ steps: [], reason: 'handlers notified so far ran here' }),
});

import { z } from 'zod';
import { defineModule, type Plan, type PlanContext } from '../core/module.js';
import { guardFields, guardProbes, planCommand, type GuardFacts } from './command-run.js';

/**
 * Ansible's `shell`: a command line run by a shell (`/bin/sh -c`, or `executable`), for when pipes,
 * redirections or `&&` are wanted. A templated value reaches that shell as written: quote it with
 * the `quote` filter (`{{ path | quote }}`).
 */
const object = z
  .object({
    cmd: z.string().min(1),
    /** the shell that runs cmd, an absolute path (Ansible's default /bin/sh) */
    executable: z.string().startsWith('/', 'executable must be an absolute path').default('/bin/sh'),
    ...guardFields,
  })
  .strict();

const schema = z.preprocess((v) => (typeof v === 'string' ? { cmd: v } : v), object);

type Args = z.infer<typeof object>;

export default defineModule({
  name: 'shell',
  summary: 'Run a command line through a shell (pipes, redirections), guarded by creates/removes/unless (Ansible: shell)',
  schema,
  facts: (a: Args) => guardProbes(a),
  plan(a: Args, f: GuardFacts, ctx: PlanContext): Plan {
    return planCommand(a, f, ctx, [a.executable, '-c', a.cmd], a.cmd);
  },
});

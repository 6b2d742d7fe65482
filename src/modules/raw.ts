import { z } from 'zod';
import { defineModule, type Plan, type PlanContext } from '../core/module.js';

/**
 * Ansible's `raw`: a command line handed to the remote shell as it is, with no guard. It runs on
 * every apply (reported changed, as Ansible does) and never in check.
 */
const object = z
  .object({
    cmd: z.string().min(1),
    /** the shell that runs cmd, an absolute path (default: the login shell's sh) */
    executable: z.string().startsWith('/', 'executable must be an absolute path').default('/bin/sh'),
  })
  .strict();

// Ansible's raw takes only the free form; `cmd:` is accepted for symmetry with command and shell
const schema = z.preprocess((v) => (typeof v === 'string' ? { cmd: v } : v), object);

type Args = z.infer<typeof object>;

export default defineModule({
  name: 'raw',
  summary: 'Run a command line through the remote shell, unguarded, on every apply (Ansible: raw)',
  schema,
  facts: () => ({}),
  plan(a: Args, _f: object, ctx: PlanContext): Plan {
    if (ctx.check) return { steps: [], reason: '', skip: `raw commands do not run in check mode: would run ${a.cmd}` };
    return { steps: [{ kind: 'run', argv: [a.executable, '-c', a.cmd] }], reason: `run ${a.cmd}` };
  },
});

import { z } from 'zod';
import { defineModule } from '../core/module.js';
import { fileContent } from '../facts/file.js';
import { fileArgs, planFile } from './copy.js';

const schema = z
  .object({
    ...fileArgs,
    /** a controller template, looked up in the role's or playbook's templates/ directory */
    src: z.string().min(1),
  })
  .strict()
  .refine((a) => !a.dest.endsWith('/'), { message: 'dest ends with / (a directory): give the file name too' })
  // the rendered text travels with the arguments from prepare to plan; strict() keeps users from setting it
  .transform((a) => a as typeof a & { rendered?: string });

type Args = z.infer<typeof schema>;

export default defineModule({
  name: 'template',
  summary: 'Render a controller template (Jinja2-like) into a file on the host, atomically and validated (Ansible: template)',
  schema,
  // rendering happens on the controller, as in Ansible's action plugin: the host only receives the result
  prepare: (a: Args, ctx) => ({ ...a, rendered: ctx.render(ctx.readLocal(a.src, 'templates')) }),
  facts: (a: Args) => ({ file: fileContent(a.dest) }),
  plan(a: Args, { file }) {
    if (a.rendered === undefined) throw new Error(`template: ${a.src} was not rendered (prepare did not run)`);
    return planFile({ ...a, content: a.rendered }, file, a.src);
  },
});

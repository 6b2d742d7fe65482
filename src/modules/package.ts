import { z } from 'zod';
import { defineModule } from '../core/module.js';
import apt from './apt.js';

/**
 * Ansible's `package`: the generic package module, which on Debian hands its arguments to `apt`.
 * Only `name` and `state` (and `use: apt` or `auto`) are generic; the rest is apt's own.
 */
const schema = z
  .object({
    name: z.union([z.string(), z.array(z.string())]),
    state: z.enum(['present', 'absent', 'latest', 'installed', 'removed']).default('present'),
    use: z.enum(['auto', 'apt'], { error: 'on Debian hosts package uses apt: use must be auto or apt' }).default('auto'),
  })
  .strict()
  .transform((a) => apt.schema.parse({ name: a.name, state: a.state === 'installed' ? 'present' : a.state === 'removed' ? 'absent' : a.state }));

export default defineModule({
  name: 'package',
  summary: 'Install or remove packages with the host’s package manager, apt on Debian (Ansible: package)',
  schema,
  aliases: { pkg: 'name' },
  installsWith: 'apt',
  facts: (a) => apt.facts(a),
  plan: (a, f, ctx) => apt.plan(a, f as never, ctx),
});

import { z } from 'zod';
import { defineModule } from '../core/module.js';
import { run } from '../core/step.js';
import { groupEntry, isAccountName } from '../facts/users.js';

const schema = z
  .object({
    name: z.string().refine(isAccountName, 'name must be a valid group name (letters, digits, _ . -; not all digits)'),
    state: z.enum(['present', 'absent']).default('present'),
    gid: z.number().int().nonnegative().optional(),
    /** only used when the group is created; an existing group keeps its kind (as in Ansible) */
    system: z.boolean().default(false),
  })
  .strict();

export default defineModule({
  name: 'group',
  summary: 'Create, change the gid of, or remove a local group (Ansible: group)',
  schema,
  facts: (a) => ({ group: groupEntry(a.name) }),
  plan(a, { group }) {
    const subject = `group ${a.name}`;
    if (a.state === 'absent') {
      if (!group) return { steps: [], reason: `${subject} is already absent` };
      return {
        steps: [run(['groupdel', a.name])],
        reason: `remove ${subject} (gid ${group.gid})`,
        diff: [{ subject, before: `gid=${group.gid}\n`, after: 'absent\n' }],
      };
    }
    if (!group) {
      const argv = ['groupadd', ...(a.gid !== undefined ? ['-g', String(a.gid)] : []), ...(a.system ? ['-r'] : []), a.name];
      const kind = a.system ? 'system group' : 'group';
      return {
        steps: [run(argv)],
        reason: `create ${kind} ${a.name}${a.gid !== undefined ? ` with gid ${a.gid}` : ''}`,
        diff: [{ subject, before: 'absent\n', after: `gid=${a.gid ?? '(next free)'}\n` }],
      };
    }
    if (a.gid !== undefined && a.gid !== group.gid) {
      return {
        steps: [run(['groupmod', '-g', String(a.gid), a.name])],
        reason: `${subject}: gid ${group.gid} -> ${a.gid}`,
        diff: [{ subject, before: `gid=${group.gid}\n`, after: `gid=${a.gid}\n` }],
      };
    }
    return { steps: [], reason: `${subject} exists${a.gid !== undefined ? ` with gid ${group.gid}` : ''}` };
  },
});

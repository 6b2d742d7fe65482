import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { statProbe, type StatResult } from '../facts/stat.js';

/** Ansible's `stat`: reads a path's status for `register` (`result.stat.exists`); changes nothing. */
const schema = z
  .object({
    path: z.string().startsWith('/', 'path must be an absolute path on the host'),
    follow: z.boolean().default(false),
    get_checksum: z.boolean().default(true),
    checksum_algorithm: z.literal('sha1', { error: 'only sha1 checksums are read (Ansible’s default)' }).default('sha1'),
    /** accepted for compatibility; shipshape never reads MIME types or attributes */
    get_mime: z.boolean().optional(),
    get_attributes: z.boolean().optional(),
  })
  .strict();

type Args = z.infer<typeof schema>;

export default defineModule({
  name: 'stat',
  summary: 'Read whether a path exists and its type, mode, owner and checksum, for register (Ansible: stat)',
  schema,
  aliases: { dest: 'path', name: 'path', checksum: 'checksum_algorithm', checksum_algo: 'checksum_algorithm' },
  facts: (a: Args) => ({ stat: statProbe(a.path, a.follow, a.get_checksum) }),
  plan(a: Args, { stat }: { stat: StatResult }): Plan {
    const reason = stat.exists
      ? `${a.path}: ${stat.isdir ? 'directory' : stat.islnk ? `link to ${stat.lnk_target}` : stat.isreg ? 'file' : 'other'}, mode ${stat.mode}, ${stat.pw_name}:${stat.gr_name}${stat.isreg ? `, ${stat.size} bytes` : ''}`
      : `${a.path} does not exist`;
    return { steps: [], reason, result: { stat } };
  },
});

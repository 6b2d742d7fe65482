import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';
import { onPath } from '../core/step.js';
import { fileStat, type FileStat } from '../facts/file.js';

/**
 * Ansible's `unarchive` for an archive already on the host (`remote_src: true`, e.g. after
 * `get_url`): tar in any compression GNU tar detects. Done when `creates` exists, or when every entry
 * of the archive is already in `dest` (Ansible also compares sizes and times; this compares names).
 * Unlike Ansible, tar runs as the user who controls dest (Ansible: root), so that user must be able to read src.
 */
const schema = z
  .object({
    src: z.string().startsWith('/', 'src must be an absolute path on the host (with remote_src: true)'),
    dest: z.string().startsWith('/', 'dest must be an absolute path on the host'),
    remote_src: z.literal(true, {
      error: 'only remote_src: true is supported: put the archive on the host first (get_url, or copy for small text files), then unarchive it there',
    }),
    creates: z.string().startsWith('/', 'creates must be an absolute path').optional(),
    extra_opts: z.array(z.string()).default([]),
    /** accepted as in Ansible; names are compared either way */
    keep_newer: z.boolean().optional(),
  })
  .strict();

type Args = z.infer<typeof schema>;

export interface ArchiveState {
  /** the archive is on the host and tar can list it */
  readable: boolean;
  entries: number;
  /** entries not (yet) in dest */
  missing: number;
}

function archiveState(a: Args) {
  const s = shq(a.src);
  const d = shq(a.dest);
  return probe<ArchiveState>(
    `unarchive:${JSON.stringify([a.src, a.dest])}`,
    `if l=$(tar -tf ${s} 2>/dev/null); then n=0; m=0; while IFS= read -r e; do n=$((n + 1)); [ -e ${d}/"$e" ] || [ -L ${d}/"$e" ] || m=$((m + 1)); done <<EOF_SS\n$l\nEOF_SS\necho "ok $n $m"; else echo unreadable; fi`,
    (out) => {
      const m = /^ok (\d+) (\d+)/.exec(out.trim());
      return m ? { readable: true, entries: Number(m[1]), missing: Number(m[2]) } : { readable: false, entries: 0, missing: 0 };
    },
  );
}

export default defineModule({
  name: 'unarchive',
  summary: 'Unpack a tar archive that is on the host into a directory (Ansible: unarchive with remote_src)',
  schema,
  facts: (a: Args) => ({ archive: archiveState(a), dest: fileStat(a.dest), ...(a.creates ? { creates: fileStat(a.creates) } : {}) }),
  plan(a: Args, f: { archive: ArchiveState; dest: FileStat; creates?: FileStat }, ctx): Plan {
    if (a.creates && f.creates?.exists) return { steps: [], reason: `${a.creates} exists (creates)` };
    // tar runs as whoever controls dest (root when only root does), as the write step writes files: a user who owns
    // dest could plant a link in it (conf -> /etc) between this plan and the extraction, and root's tar would follow it
    const step = onPath(a.dest, ['tar', '-xf', a.src, ...a.extra_opts, '-C'], { into: true });
    if (!f.archive.readable) {
      // in check an earlier task (get_url) may bring the archive
      if (ctx.check) return { steps: [step], reason: `unpack ${a.src} into ${a.dest} (the archive is not there yet)` };
      return { steps: [], reason: `${a.src} cannot be read`, fail: `${a.src} is missing or not an archive tar can read` };
    }
    if (!f.dest.exists && !ctx.check) return { steps: [], reason: `${a.dest} is missing`, fail: `dest ${a.dest} must be an existing directory` };
    if (f.archive.missing === 0 && f.dest.exists) return { steps: [], reason: `all ${f.archive.entries} entries of ${a.src} are in ${a.dest}` };
    return { steps: [step], reason: `unpack ${a.src} into ${a.dest} (${f.archive.missing} of ${f.archive.entries} entries missing)` };
  },
});

import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { fileContent, type FileContent } from '../facts/file.js';
import { pyRegex } from '../playbook/filters.js';
import { modeSchema } from './common.js';

/**
 * Ansible's `blockinfile`: a block of lines between two marker lines, replaced as a whole; inserted
 * at the end (or after/before the last line matching a regexp) when the markers are not there yet.
 */
const schema = z
  .object({
    path: z.string().startsWith('/', 'path must be an absolute path on the host'),
    block: z.string().default(''),
    state: z.enum(['present', 'absent']).default('present'),
    marker: z.string().includes('{mark}', { message: 'marker must contain {mark}' }).default('# {mark} ANSIBLE MANAGED BLOCK'),
    marker_begin: z.string().default('BEGIN'),
    marker_end: z.string().default('END'),
    /** EOF, or a regular expression: after its last matching line */
    insertafter: z.string().optional(),
    /** BOF, or a regular expression: before its last matching line */
    insertbefore: z.string().optional(),
    create: z.boolean().default(false),
    mode: modeSchema.optional(),
    owner: z.string().min(1).optional(),
    group: z.string().min(1).optional(),
    validate: z.string().includes('%s', { message: 'validate must contain %s (the path of the new file)' }).optional(),
  })
  .strict()
  .refine((a) => !(a.insertafter !== undefined && a.insertbefore !== undefined), { message: 'blockinfile takes insertafter or insertbefore, not both' });

type Args = z.infer<typeof schema>;

/** The file's text with the block in place (or removed), following Ansible's blockinfile line by line. */
export function placeBlock(original: string, a: Pick<Args, 'block' | 'state' | 'marker' | 'marker_begin' | 'marker_end' | 'insertafter' | 'insertbefore'>): string {
  const lines = original.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const marker0 = a.marker.split('{mark}').join(a.marker_begin) + '\n';
  const marker1 = a.marker.split('{mark}').join(a.marker_end) + '\n';
  let blocklines: string[] = [];
  if (a.state === 'present' && a.block !== '') {
    const block = a.block.endsWith('\n') ? a.block : a.block + '\n';
    blocklines = [marker0, ...(block.match(/[^\n]*\n/g) ?? [])];
    blocklines.push(marker1);
  }
  let n0: number | undefined;
  let n1: number | undefined;
  for (const [i, l] of lines.entries()) {
    if (l === marker0) n0 = i;
    if (l === marker1) n1 = i;
  }
  if (n0 === undefined || n1 === undefined) {
    const insert = a.insertafter !== undefined && a.insertafter !== 'EOF' ? a.insertafter : a.insertbefore !== undefined && a.insertbefore !== 'BOF' ? a.insertbefore : undefined;
    if (insert !== undefined) {
      const re = pyRegex(insert);
      let last = -1;
      for (const [i, l] of lines.entries()) if (re.test(l)) last = i;
      n0 = last < 0 ? lines.length : a.insertafter !== undefined ? last + 1 : last;
    } else if (a.insertbefore === 'BOF') n0 = 0;
    else n0 = lines.length;
  } else if (n0 < n1) {
    lines.splice(n0, n1 - n0 + 1);
  } else {
    lines.splice(n1, n0 - n1 + 1);
    n0 = n1;
  }
  if (n0 > 0 && n0 <= lines.length && !lines[n0 - 1].endsWith('\n') && blocklines.length) lines[n0 - 1] += '\n';
  lines.splice(n0, 0, ...blocklines);
  return lines.join('');
}

export default defineModule({
  name: 'blockinfile',
  summary: 'Insert, update or remove a block of lines between marker lines in a file (Ansible: blockinfile)',
  schema,
  aliases: { dest: 'path', destfile: 'path', name: 'path', content: 'block' },
  facts: (a: Args) => ({ file: fileContent(a.path) }),
  plan(a: Args, { file }: { file: FileContent }, ctx): Plan {
    if (!file.exists) {
      if (a.state === 'absent') return { steps: [], reason: `${a.path} does not exist` };
      if (!a.create && !ctx.check) return { steps: [], reason: `${a.path} does not exist`, fail: `Path ${a.path} does not exist ! (set create: true to create it)` };
    } else if (file.type !== 'file' || file.content === undefined) {
      return { steps: [], reason: `${a.path} cannot be edited`, fail: `${a.path} is not a regular file small enough to edit` };
    }
    const before = file.content ?? '';
    const after = placeBlock(before, a);
    if (after === before && file.exists) return { steps: [], reason: a.state === 'present' ? `${a.path} has the block` : `${a.path} has no block` };
    return {
      steps: [{ kind: 'write', path: a.path, content: after, ...(a.mode ? { mode: a.mode } : {}), ...(a.owner ? { owner: a.owner } : {}), ...(a.group ? { group: a.group } : {}), ...(a.validate ? { validate: a.validate } : {}) }],
      reason: a.state === 'absent' ? `remove the block from ${a.path}` : file.exists ? `${before.includes(a.marker.split('{mark}').join(a.marker_begin)) ? 'update' : 'insert'} the block in ${a.path}` : `create ${a.path} with the block`,
      diff: [{ subject: a.path, before, after }],
    };
  },
});

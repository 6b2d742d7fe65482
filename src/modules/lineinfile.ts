import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { fileContent, type FileContent } from '../facts/file.js';
import { modeSchema } from './common.js';

const schema = z
  .object({
    path: z.string().startsWith('/', 'path must be an absolute path on the host'),
    /** the whole line wanted in the file (state: present) */
    line: z.string().regex(/^[^\n]*$/, 'line must be a single line').optional(),
    /** a JavaScript regular expression: the last matching line is replaced (present) or every one removed (absent) */
    regexp: z
      .string()
      .refine((r) => {
        try {
          new RegExp(r);
          return true;
        } catch {
          return false;
        }
      }, 'regexp is not a valid regular expression')
      .optional(),
    state: z.enum(['present', 'absent']).default('present'),
    /** create the file when it does not exist (present only) */
    create: z.boolean().default(false),
    mode: modeSchema.optional(),
    /** a command checking the new file before it replaces the live one; %s is the new file's path */
    validate: z.string().includes('%s', { message: 'validate must contain %s (the path of the new file)' }).optional(),
  })
  .strict()
  .refine((a) => a.state === 'absent' || a.line !== undefined, { message: 'lineinfile needs line for state: present' })
  .refine((a) => a.state === 'present' || a.line !== undefined || a.regexp !== undefined, { message: 'lineinfile needs regexp or line for state: absent' });

type Args = z.infer<typeof schema>;

/**
 * The file's text with the line in place (Ansible's lineinfile without insertafter/backrefs):
 * present replaces the LAST line matching regexp, else keeps an identical line, else appends;
 * absent drops every line matching regexp (or equal to line). Untouched text stays byte for byte.
 */
export function editLines(text: string, a: Pick<Args, 'line' | 'regexp' | 'state'>): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const re = a.regexp !== undefined ? new RegExp(a.regexp) : undefined;
  const matches = (l: string) => (re ? re.test(l) : l === a.line);
  if (a.state === 'absent') {
    const kept = lines.filter((l) => !matches(l));
    return kept.length === lines.length ? text : kept.length ? kept.join('\n') + '\n' : '';
  }
  const line = a.line!;
  let at = -1;
  if (re) lines.forEach((l, i) => re.test(l) && (at = i));
  if (at >= 0) {
    if (lines[at] === line) return text;
    lines[at] = line;
  } else if (lines.includes(line)) {
    return text;
  } else {
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

export default defineModule({
  name: 'lineinfile',
  summary: 'Make sure one line is in a file (or is not), replacing the line a regexp finds (Ansible: lineinfile)',
  schema,
  aliases: { dest: 'path', destfile: 'path', name: 'path', regex: 'regexp' },
  facts: (a: Args) => ({ file: fileContent(a.path) }),
  plan(a: Args, { file }: { file: FileContent }, ctx): Plan {
    if (!file.exists) {
      if (a.state === 'absent') return { steps: [], reason: `${a.path} does not exist` };
      if (!a.create && !ctx.check) return { steps: [], reason: `${a.path} does not exist`, fail: `${a.path} does not exist (set create: true to create it)` };
      // check mode: an earlier task of the run (a package install) may create the file, so predict the edit
    } else if (file.type !== 'file') {
      return { steps: [], reason: `${a.path} is a ${file.type}`, fail: `${a.path} is a ${file.type}, not a file` };
    } else if (file.content === undefined) {
      return { steps: [], reason: `${a.path} is too large`, fail: `${a.path} is too large to edit (${file.size} bytes)` };
    }
    const before = file.content ?? '';
    const after = editLines(before, a);
    const what = a.state === 'present' ? `"${a.line}"` : `lines matching ${a.regexp !== undefined ? `/${a.regexp}/` : `"${a.line}"`}`;
    if (after === before && file.exists) {
      return { steps: [], reason: a.state === 'present' ? `${a.path} has ${what}` : `${a.path} has no ${what}` };
    }
    return {
      steps: [{ kind: 'write', path: a.path, content: after, ...(a.mode ? { mode: a.mode } : {}), ...(a.validate ? { validate: a.validate } : {}) }],
      reason: a.state === 'present' ? `${file.exists ? 'set' : 'create ' + a.path + ' with'} ${what}${file.exists ? ` in ${a.path}` : ''}` : `remove ${what} from ${a.path}`,
      diff: [{ subject: a.path, before, after }],
    };
  },
});

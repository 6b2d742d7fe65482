import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { fileContent, type FileContent } from '../facts/file.js';
import { pyRegex, pyReplacement } from '../playbook/filters.js';
import { modeSchema } from './common.js';

/**
 * Ansible's `replace`: every match of a Python regular expression (multiline: `^` and `$` match at
 * each line) replaced, `\1` and `\g<name>` in the replacement; `after`/`before` limit the section.
 */
const regex = (what: string) =>
  z.string().refine((r) => {
    try {
      pyRegex(r);
      return true;
    } catch {
      return false;
    }
  }, `${what} is not a valid regular expression`);

const schema = z
  .object({
    path: z.string().startsWith('/', 'path must be an absolute path on the host'),
    regexp: regex('regexp'),
    replace: z.string().default(''),
    after: regex('after').optional(),
    before: regex('before').optional(),
    mode: modeSchema.optional(),
    owner: z.string().min(1).optional(),
    group: z.string().min(1).optional(),
    validate: z.string().includes('%s', { message: 'validate must contain %s (the path of the new file)' }).optional(),
    encoding: z.literal('utf-8', { error: 'only utf-8 files are edited' }).default('utf-8'),
  })
  .strict();

type Args = z.infer<typeof schema>;

/** The text with the replacements made, and how many there were. */
export function replaceIn(text: string, a: Pick<Args, 'regexp' | 'replace' | 'after' | 'before'>): { text: string; count: number } {
  let start = 0;
  let end = text.length;
  // the section between the first match of after and the first match of before after it (re.DOTALL)
  if (a.after !== undefined) {
    const m = pyRegex(a.after, 'ms').exec(text);
    if (m) start = m.index + m[0].length;
    else return { text, count: 0 };
  }
  if (a.before !== undefined) {
    const rest = text.slice(start);
    const m = pyRegex(a.before, 'ms').exec(rest);
    if (m) end = start + m.index;
    else return { text, count: 0 };
  }
  let count = 0;
  const replacer = pyReplacement(a.replace);
  const section = text.slice(start, end).replace(pyRegex(a.regexp, 'gm'), (...m: unknown[]) => {
    count++;
    return replacer(...(m as [string, ...unknown[]]));
  });
  return { text: text.slice(0, start) + section + text.slice(end), count };
}

export default defineModule({
  name: 'replace',
  summary: 'Replace every match of a regular expression in a file (Ansible: replace)',
  schema,
  aliases: { dest: 'path', destfile: 'path', name: 'path' },
  facts: (a: Args) => ({ file: fileContent(a.path) }),
  plan(a: Args, { file }: { file: FileContent }, ctx): Plan {
    if (!file.exists) {
      if (ctx.check) return { steps: [], reason: `${a.path} does not exist yet: nothing to replace` };
      return { steps: [], reason: `${a.path} does not exist`, fail: `Path ${a.path} does not exist !` };
    }
    if (file.type !== 'file' || file.content === undefined) return { steps: [], reason: `${a.path} cannot be edited`, fail: `${a.path} is not a regular file small enough to edit` };
    const { text, count } = replaceIn(file.content, a);
    if (text === file.content) return { steps: [], reason: `${a.path}: nothing to replace for /${a.regexp}/` };
    return {
      steps: [{ kind: 'write', path: a.path, content: text, ...(a.mode ? { mode: a.mode } : {}), ...(a.owner ? { owner: a.owner } : {}), ...(a.group ? { group: a.group } : {}), ...(a.validate ? { validate: a.validate } : {}) }],
      reason: `${count} replacement${count === 1 ? '' : 's'} made in ${a.path}`,
      diff: [{ subject: a.path, before: file.content, after: text }],
    };
  },
});

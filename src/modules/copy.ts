import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { shq } from '../core/quote.js';
import type { FileDiff } from '../core/result.js';
import { run, sh, type Step } from '../core/step.js';
import { fileContent, type FileContent } from '../facts/file.js';
import { accessCriticalFile, modeSchema, normalizeMode, ownerSchema } from './common.js';

/** The arguments copy and template share: where the file goes and how it must look there. */
export const fileArgs = {
  dest: z.string().startsWith('/', 'dest must be an absolute path on the host'),
  mode: modeSchema.optional(),
  owner: ownerSchema.optional(),
  group: ownerSchema.optional(),
  /** a command checking the new file before it replaces the live one; %s is the new file's path */
  validate: z.string().includes('%s', { message: 'validate must contain %s (the path of the new file), e.g. "visudo -cf %s"' }).optional(),
  /** keep the replaced file as dest.YYYY-MM-DD@HH:MM:SS~, as Ansible names it */
  backup: z.boolean().default(false),
  /** false: only create the file when dest does not exist yet */
  force: z.boolean().default(true),
};

export interface WantedFile {
  dest: string;
  content: string;
  mode?: string;
  owner?: string;
  group?: string;
  validate?: string;
  backup: boolean;
  force: boolean;
}

/**
 * The plan of copy and template. Replace dest when its bytes differ (compared by sha256, so files
 * above the probe's text limit and non-UTF-8 files compare correctly too), else fix mode and owner.
 * Parent directories are not created, as in Ansible: that is a task of its own (file: state=directory).
 * Reasons name the file, never its text: for secrets the task keyword no_log hides diff and commands,
 * and the reason is what is left to show.
 */
export function planFile(w: WantedFile, cur: FileContent, source?: string): Plan {
  const plan = planFileChange(w, cur, source);
  const critical = plan.steps.length ? accessCriticalFile(w.dest) : undefined;
  return critical ? { ...plan, accessCritical: critical, guard: { paths: [w.dest] } } : plan;
}

function planFileChange(w: WantedFile, cur: FileContent, source?: string): Plan {
  const { dest } = w;
  if (cur.type === 'directory') {
    return { steps: [], reason: `${dest} is a directory`, fail: `${dest} is a directory; dest must be the full path of the file` };
  }
  if (cur.exists && !w.force) return { steps: [], reason: `${dest} exists and force is false, so it is left as it is` };

  const mode = normalizeMode(w.mode);
  const isFile = cur.type === 'file';
  const same = isFile && (cur.sha256 !== undefined ? cur.sha256 === sha256(w.content) : cur.content === w.content);
  const attrs = attributeChanges(w, mode, cur);

  if (!same) {
    const steps: Step[] = [];
    if (w.backup && isFile) {
      // the timestamp is the host's time of the change, so it cannot be computed in the (pure) plan
      steps.push(sh(`cp -p -- ${shq(dest)} ${shq(dest)}."$(date +%Y-%m-%d@%H:%M:%S)"~`, `back up ${dest}`));
    }
    // the write step copies owner and group from the old file only when neither is given; keep the
    // half that was not asked for, as Ansible does, instead of letting it fall back to root
    const keep: { owner?: string; group?: string } = w.owner || w.group ? cur : {};
    const owner = w.owner ?? keep.owner;
    const group = w.group ?? keep.group;
    steps.push({
      kind: 'write',
      path: dest,
      content: w.content,
      ...(w.mode ? { mode: w.mode } : {}),
      ...(owner ? { owner } : {}),
      ...(group ? { group } : {}),
      ...(w.validate ? { validate: w.validate } : {}),
    });
    const verb = !cur.exists ? 'create' : isFile ? 'update' : `replace the ${cur.type} at`;
    const diff: FileDiff[] = [{ subject: dest, before: textBefore(cur), after: w.content }];
    if (cur.exists && attrs.length) diff.push(attributeDiff(w, mode, cur));
    const what = `${verb} ${dest}${source ? ` from ${source}` : ''}`;
    return { steps, reason: [what, ...(cur.exists ? attrs : [])].join('; '), diff };
  }

  const steps: Step[] = [];
  if (mode && mode !== cur.mode) steps.push(run(['chmod', mode, '--', dest]));
  if ((w.owner && w.owner !== cur.owner) || (w.group && w.group !== cur.group)) {
    steps.push(run(['chown', `${w.owner ?? ''}${w.group ? ':' + w.group : ''}`, '--', dest]));
  }
  if (!steps.length) return { steps, reason: `${dest} already has the wanted content${w.mode || w.owner || w.group ? ', mode and owner' : ''}` };
  return { steps, reason: `${dest} content is right; ${attrs.join('; ')}`, diff: [attributeDiff(w, mode, cur)] };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function textBefore(cur: FileContent): string {
  if (!cur.exists) return '';
  if (cur.type !== 'file') return `(${cur.type}${cur.target ? ' -> ' + cur.target : ''})\n`;
  return cur.content ?? `(${cur.size} bytes, too large to show)\n`;
}

function attributeChanges(w: WantedFile, mode: string | undefined, cur: FileContent): string[] {
  const out: string[] = [];
  if (mode && mode !== cur.mode) out.push(`mode ${cur.mode ?? 'none'} -> ${mode}`);
  if ((w.owner && w.owner !== cur.owner) || (w.group && w.group !== cur.group)) {
    out.push(`owner ${cur.owner}:${cur.group} -> ${w.owner ?? cur.owner}:${w.group ?? cur.group}`);
  }
  return out;
}

function attributeDiff(w: WantedFile, mode: string | undefined, cur: FileContent): FileDiff {
  return {
    subject: `${w.dest} (mode and owner)`,
    before: `mode=${cur.mode} owner=${cur.owner} group=${cur.group}\n`,
    after: `mode=${mode ?? cur.mode} owner=${w.owner ?? cur.owner} group=${w.group ?? cur.group}\n`,
  };
}

const schema = z
  .object({
    ...fileArgs,
    content: z.string().optional(),
    /** a controller file, looked up in the role's or playbook's files/ directory */
    src: z.string().min(1).refine((s) => !s.endsWith('/'), 'src must be a file: copying directories is not supported').optional(),
  })
  .strict()
  .refine((a) => (a.content === undefined) !== (a.src === undefined), { message: 'copy needs exactly one of content or src' })
  .refine((a) => !a.dest.endsWith('/') || a.src !== undefined, { message: 'dest ends with / (a directory): give the file name too' })
  // Ansible: a dest ending in / is a directory the src file is copied into under its own name
  .transform((a) => (a.dest.endsWith('/') && a.src ? { ...a, dest: a.dest + posix.basename(a.src) } : a));

type Args = z.infer<typeof schema>;

export default defineModule({
  name: 'copy',
  summary: 'Put a file with the given content (or a controller file) on the host, atomically and validated (Ansible: copy)',
  schema,
  prepare: (a: Args, ctx) => (a.src !== undefined ? { ...a, content: ctx.readLocal(a.src, 'files') } : a),
  facts: (a: Args) => ({ file: fileContent(a.dest) }),
  plan(a: Args, { file }) {
    if (a.content === undefined) throw new Error(`copy: src ${a.src} was not read (prepare did not run)`);
    return planFile({ ...a, content: a.content }, file, a.src);
  },
});

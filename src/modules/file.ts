import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { onPath, type Step } from '../core/step.js';
import { fileStat, type FileStat } from '../facts/file.js';
import { accessCriticalFile, modeSchema, normalizeMode, ownerSchema } from './common.js';

const schema = z
  .object({
    path: z.string().startsWith('/', 'path must be an absolute path on the host (a relative one would be resolved from /)'),
    state: z.enum(['file', 'directory', 'link', 'absent', 'touch']).default('file'),
    mode: modeSchema.optional(),
    owner: ownerSchema.optional(),
    group: ownerSchema.optional(),
    /** link target, for state: link */
    src: z.string().optional(),
  })
  .strict();

export default defineModule({
  name: 'file',
  summary: 'Manage a file, directory or symlink and its mode and ownership (Ansible: file)',
  schema,
  aliases: { dest: 'path', name: 'path' },
  facts: (a) => ({ stat: fileStat(a.path) }),
  plan(a, facts) {
    const plan = planPath(a, facts.stat);
    const critical = plan.steps.length ? accessCriticalFile(a.path) : undefined;
    return critical ? { ...plan, accessCritical: critical, guard: { paths: [a.path] } } : plan;
  },
});

function planPath(a: z.infer<typeof schema>, stat: FileStat): Plan {
  const steps: Step[] = [];
  const what: string[] = [];
  if (a.state === 'absent') {
    if (!stat.exists) return { steps, reason: `${a.path} is already absent` };
    return {
      steps: [onPath(a.path, ['rm', '-rf', '--'], { nofollow: true })],
      reason: `remove ${a.path}`,
      diff: [{ subject: a.path, before: `${stat.type} ${stat.mode}\n`, after: 'absent\n' }],
    };
  }
  if (a.state === 'link') {
    if (!a.src) throw new Error('file: state=link needs src (the link target)');
    if (!(stat.type === 'link' && stat.target === a.src)) {
      steps.push(onPath(a.path, ['ln', '-sfn', '--', a.src], { nofollow: true }));
      what.push(`link ${a.path} -> ${a.src}`);
    }
  } else if (a.state === 'directory') {
    if (stat.type !== 'directory') {
      steps.push(onPath(a.path, ['mkdir', '-p', '--']));
      what.push(`create directory ${a.path}`);
    }
  } else if (a.state === 'touch') {
    steps.push(onPath(a.path, ['touch', '--']));
    what.push(`touch ${a.path}`);
  } else if (stat.type !== 'file') {
    // Ansible's state=file never creates: a missing file is an error worth reporting, not a silent create
    return { steps: [], reason: `${a.path} does not exist`, fail: `${a.path} does not exist (state: file never creates; use copy, template or state: touch)` };
  }
  const isLink = a.state === 'link';
  const mode = normalizeMode(a.mode);
  const fresh = steps.length > 0;
  if (mode && !isLink && (fresh || stat.mode !== mode)) {
    steps.push(onPath(a.path, ['chmod', mode, '--']));
    what.push(`mode ${stat.mode ?? 'none'} -> ${mode}`);
  }
  if ((a.owner || a.group) && (fresh || (a.owner && a.owner !== stat.owner) || (a.group && a.group !== stat.group))) {
    // as root by name in the checked directory, never through a link (-h): see core/safe-path.ts
    steps.push(onPath(a.path, ['chown', '-h', `${a.owner ?? ''}${a.group ? ':' + a.group : ''}`, '--'], { root: true, nofollow: isLink }));
    what.push(`owner ${stat.owner ?? '-'}:${stat.group ?? '-'} -> ${a.owner ?? stat.owner ?? '-'}:${a.group ?? stat.group ?? '-'}`);
  }
  if (steps.length === 0) return { steps, reason: `${a.path} is a ${stat.type} with the wanted mode and owner` };
  return {
    steps,
    reason: what.join('; '),
    diff: [{ subject: a.path, before: describe(stat), after: describeWanted(a, mode, stat) }],
  };
}

function describe(s: { exists: boolean; type?: string; mode?: string; owner?: string; group?: string; target?: string }): string {
  if (!s.exists) return 'absent\n';
  return `${s.type}${s.target ? ' -> ' + s.target : ''} mode=${s.mode} owner=${s.owner} group=${s.group}\n`;
}

function describeWanted(a: z.infer<typeof schema>, mode: string | undefined, s: { mode?: string; owner?: string; group?: string }): string {
  const type = a.state === 'touch' ? 'file' : a.state;
  return `${type}${a.src ? ' -> ' + a.src : ''} mode=${mode ?? s.mode ?? '-'} owner=${a.owner ?? s.owner ?? 'root'} group=${a.group ?? s.group ?? 'root'}\n`;
}

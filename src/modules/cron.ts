import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import type { Probe } from '../core/probe.js';
import { run, type Step } from '../core/step.js';
import type { Drift } from '../core/result.js';
import { describeStep } from '../core/step.js';
import { classifyCronLine, crontabLines, crontabOf, type Crontab } from '../facts/cron.js';
import { CRON_SPOOL, cronState, type CronState } from '../facts/cron-tables.js';
import { judgeCron, ownTableProblems } from './cron-effective.js';
import { fileContent, type FileContent } from '../facts/file.js';
import { isAccountName } from '../facts/users.js';

/** YAML reads `minute: 0` as a number; cron fields are text, and a space would shift every later field. */
const timeField = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform(String)
  .pipe(z.string().regex(/^\S+$/, 'a cron time field must be one word such as *, 5, */10 or 1-5'))
  .default('*');
const oneLine = z.string().regex(/^[^\n]*$/, 'must be a single line');

const schema = z
  .object({
    /** the entry's marker (#shipshape: NAME above the job); for env: true, the variable's name */
    name: oneLine.min(1),
    /** the command; for env: true, the variable's value. Remember cron reads an unescaped % as a newline */
    job: oneLine.min(1).optional(),
    minute: timeField,
    hour: timeField,
    day: timeField,
    month: timeField,
    weekday: timeField,
    special_time: z.enum(['annually', 'daily', 'hourly', 'monthly', 'reboot', 'weekly', 'yearly']).optional(),
    user: z.string().refine(isAccountName, 'user must be a valid account name').default('root'),
    /** a file under /etc/cron.d (or an absolute path) instead of the user's crontab */
    cron_file: oneLine.min(1).optional(),
    state: z.enum(['present', 'absent']).default('present'),
    /** keep the job but comment it out */
    disabled: z.boolean().default(false),
    /** manage a NAME="job" variable line instead of a job */
    env: z.boolean().default(false),
  })
  .strict()
  .refine((a) => a.state === 'absent' || a.job !== undefined, { message: 'job is required with state: present' })
  .refine((a) => !a.special_time || [a.minute, a.hour, a.day, a.month, a.weekday].every((f) => f === '*'), {
    message: 'give either special_time or minute/hour/day/month/weekday, not both',
  })
  .refine((a) => !a.env || /^[A-Za-z_][A-Za-z0-9_]*$/.test(a.name), { message: 'with env: true, name must be a variable name' })
  .refine((a) => !a.cron_file || a.cron_file.startsWith('/') || /^[A-Za-z0-9_-]+$/.test(a.cron_file), {
    // run-parts naming: Debian's cron silently skips /etc/cron.d files with a dot (or other characters) in the name
    message: 'cron_file names under /etc/cron.d may hold only letters, digits, _ and - (cron ignores others, e.g. "app.cron")',
  });

type Args = z.infer<typeof schema>;

/**
 * New entries get a #shipshape: marker; existing #Ansible: markers are recognised as the same entry and
 * kept as they are, so hosts migrating from Ansible neither get duplicates nor a churn of marker rewrites.
 */
const MARKER = (name: string) => `#shipshape: ${name}`;

export const cronFilePath = (f: string) => (f.startsWith('/') ? f : `/etc/cron.d/${f}`);

export default defineModule({
  name: 'cron',
  summary: "Add, change or remove a named cron job or variable in a user's crontab or /etc/cron.d (Ansible: cron)",
  schema,
  aliases: { value: 'job' },
  facts(a): Record<string, Probe> {
    const own: Record<string, Probe> = a.cron_file ? { file: fileContent(cronFilePath(a.cron_file)) } : { crontab: crontabOf(a.user) };
    // a job is judged as cron will run it: the table read at all, cron running, no twin elsewhere
    return judged(a) ? { ...own, cron: cronState } : own;
  },
  plan: (a, facts) => planCron(a, facts as Facts),
});

type Facts = { file?: FileContent; crontab?: Crontab; cron?: CronState };

const judged = (a: Args) => a.state === 'present' && !a.env && !a.disabled;

function wantedLine(a: Args): string {
  if (a.env) return `${a.name}="${a.job}"`;
  const when = a.special_time ? `@${a.special_time}` : [a.minute, a.hour, a.day, a.month, a.weekday].join(' ');
  return `${a.disabled ? '#' : ''}${when} ${a.cron_file ? a.user + ' ' : ''}${a.job}`;
}

function planCron(a: Args, f: Facts): Plan {
  const path = a.cron_file ? cronFilePath(a.cron_file) : undefined;
  const where = path ?? `${a.user}'s crontab`;
  let before = '';
  if (path) {
    const file = f.file ?? { exists: false };
    if (file.exists && file.type !== 'file') return failed(`${path} is a ${file.type}, not a regular file`);
    if (file.exists && file.content === undefined) return failed(`${path} is too large to be a cron file`);
    before = file.content ?? '';
  } else if (f.crontab?.status === 'error') {
    return failed(`cannot read ${where}: ${f.crontab.error}${/privileged/.test(f.crontab.error ?? '') ? ' (run the task with become: true)' : ''}`);
  } else before = f.crontab?.content ?? '';

  // carriage returns are not part of any line cron should run: the rewrite drops them
  const edit = a.env ? editEnv(crontabLines(before.replace(/\r$/gm, '')), a) : editJob(crontabLines(before.replace(/\r$/gm, '')), a);
  const what = a.env ? `variable ${a.name}` : `cron job "${a.name}"`;
  const after = edit.lines.length ? edit.lines.join('\n') + '\n' : '';
  const fileOk = !path || a.state === 'absent' || !f.file?.exists || (f.file.mode === '644' && f.file.owner === 'root' && f.file.group === 'root');
  const ownPath = path ?? `${CRON_SPOOL}/${a.user}`;
  const problems = f.cron && judged(a) ? ownTableProblems(f.cron.tables.find((t) => t.path === ownPath)) : [];
  const outside = f.cron && judged(a) ? judgeCron(f.cron, { path: ownPath, label: what, same: (c) => c === a.job }) : undefined;

  if (edit.changes.length === 0 && fileOk && !problems.length) {
    const reason = a.state === 'absent' ? `${what} is not in ${where}` : `${what} is already in ${where} as wanted`;
    if (!outside?.steps.length) return { steps: [], reason };
    return { steps: outside.steps, reason: `${where}: ${outside.changes.join('; ')}`, diff: outside.diff, drift: outside.drift };
  }

  const steps: Step[] = [];
  if (path) {
    // cron.d files must be root's and not writable by others, or cron skips them
    if (after.trim() === '' && a.state === 'absent') steps.push(run(['rm', '-f', '--', path]));
    else steps.push({ kind: 'write', path, content: after, mode: '0644', owner: 'root', group: 'root' });
  } else if (after === '') {
    steps.push(run(['crontab', '-u', a.user, '-r']));
  } else {
    // the whole crontab goes through stdin: no temporary file, and crontab(1) itself checks the syntax
    steps.push(run(['crontab', '-u', a.user, '-'], { input: after }));
  }
  const changes = edit.changes.length
    ? edit.changes
    : problems.length
      ? [`rewrite it so cron reads it (${problems.map((p) => p.what).join('; ')})`]
      : [`fix mode and owner of ${path} (was ${f.file?.mode} ${f.file?.owner}:${f.file?.group})`];
  const own: Plan = {
    steps,
    reason: `${where}: ${changes.join('; ')}${steps[0].kind === 'run' && steps[0].argv[0] === 'rm' ? ' (nothing left: file removed)' : ''}`,
    diff: [{ subject: path ?? `crontab of ${a.user}`, before, after }],
  };
  if (!problems.length && !outside?.steps.length) return own;
  // drift worded cause by cause: why cron would not run the table, then what the edit does, then the twins elsewhere
  const fix = steps.map(describeStep).join('; ');
  const drift: Drift[] = [
    ...problems.map((p) => ({ ...p, where: ownPath, fix })),
    ...(edit.changes.length ? [{ what: edit.changes.join('; '), why: `the playbook declares ${what} in ${where}`, where, fix }] : []),
    ...(outside?.drift ?? []),
  ];
  return {
    ...own,
    steps: [...steps, ...(outside?.steps ?? [])],
    reason: [own.reason, ...(outside?.changes ?? [])].join('; '),
    diff: [...own.diff!, ...(outside?.diff ?? [])],
    drift,
  };
}

interface Edit {
  lines: string[];
  changes: string[];
}

/** Entries are a marker line plus the job line under it (when the next line is a job, active or not). */
function editJob(lines: string[], a: Args): Edit {
  const wanted = wantedLine(a);
  const entries = lines.flatMap((l, i) => {
    const c = classifyCronLine(l);
    if (c.kind !== 'marker' || c.name !== a.name) return [];
    return [{ marker: i, job: classifyCronLine(lines[i + 1] ?? '').kind === 'job' ? i + 1 : undefined }];
  });
  const what = `cron job "${a.name}"`;
  const drop = new Set((a.state === 'absent' ? entries : entries.slice(1)).flatMap((e) => (e.job === undefined ? [e.marker] : [e.marker, e.job])));
  const changes: string[] = [];
  if (a.state === 'absent') {
    if (entries.length) changes.push(`remove ${what}`);
    return { lines: lines.filter((_, i) => !drop.has(i)), changes };
  }
  if (entries.length === 0) {
    // a job line identical to the wanted one but unnamed (written by hand): name it rather than duplicate it
    const adopt = lines.findIndex((l, i) => l === wanted && (i === 0 || classifyCronLine(lines[i - 1]).kind !== 'marker'));
    if (adopt >= 0) {
      return { lines: [...lines.slice(0, adopt), MARKER(a.name), ...lines.slice(adopt)], changes: [`name the existing identical job line ${what}`] };
    }
    return { lines: [...lines, MARKER(a.name), wanted], changes: [`add ${what}`] };
  }
  const first = entries[0];
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (drop.has(i)) return;
    if (i === first.job) out.push(wanted);
    else out.push(l);
    if (i === first.marker && first.job === undefined) out.push(wanted);
  });
  if (first.job === undefined) changes.push(`add the missing job line of ${what}`);
  else if (lines[first.job] !== wanted) changes.push(`update ${what}: ${lines[first.job]} -> ${wanted}`);
  if (entries.length > 1) changes.push(`remove ${entries.length - 1} duplicate ${what} entr${entries.length > 2 ? 'ies' : 'y'}`);
  return { lines: out, changes };
}

/** Cron reads NAME=value and NAME="value" alike, so the quotes are not a difference. */
const unquote = (v: string) => v.replace(/^(["'])(.*)\1$/, '$2');

function editEnv(lines: string[], a: Args): Edit {
  const wanted = wantedLine(a);
  const found = lines.flatMap((l, i) => {
    const c = classifyCronLine(l);
    return c.kind === 'env' && c.name === a.name ? [{ i, value: c.value }] : [];
  });
  const drop = new Set((a.state === 'absent' ? found : found.slice(1)).map((e) => e.i));
  const changes: string[] = [];
  const what = `variable ${a.name}`;
  if (a.state === 'absent') {
    if (found.length) changes.push(`remove ${what}`);
    return { lines: lines.filter((_, i) => !drop.has(i)), changes };
  }
  // variables only affect the jobs below them: a new one goes first, as Ansible puts it
  if (found.length === 0) return { lines: [wanted, ...lines], changes: [`set ${what}`] };
  const first = found[0];
  const same = unquote(first.value) === a.job;
  if (!same) changes.push(`set ${what}: ${first.value} -> "${a.job}"`);
  if (found.length > 1) changes.push(`remove ${found.length - 1} duplicate ${what} line(s)`);
  return { lines: lines.flatMap((l, i) => (drop.has(i) ? [] : i === first.i && !same ? [wanted] : [l])), changes };
}

function failed(message: string): Plan {
  return { steps: [], reason: message, fail: message };
}

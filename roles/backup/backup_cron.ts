import { z } from 'zod';
import { defineModule } from '../../src/core/module.js';
import type { Drift } from '../../src/core/result.js';
import { cronState, type CronTable } from '../../src/facts/cron-tables.js';
import { cronJobs, judgeCron, ownTableProblems } from '../../src/modules/cron-effective.js';

const schema = z
  .object({
    /** the cron.d file, as the role renders it */
    path: z.string().regex(/^\/etc\/cron\.d\/[A-Za-z0-9_-]+$/),
    content: z.string(),
    /** the program its jobs run: any other cron line running it is a second schedule */
    program: z.string().regex(/^\/\S+$/),
  })
  .strict();

/** Why a variable of the job's environment matters to the backup. */
const ENV_WHY: Record<string, string> = {
  PATH: 'the program finds restic, docker and its own tools through PATH: another PATH runs other programs, or none',
  SHELL: 'cron runs the job with SHELL: another shell reads the line differently',
  MAILTO: "a failing run's reason (its stderr) goes to cron's mail, MAILTO: changed, it goes elsewhere or nowhere",
};

/**
 * The backup's cron entry as cron will run it: the file cron must read (name, owner, mode, one link, a
 * final newline, no carriage returns) with the declared schedule and environment, cron itself enabled and
 * running, and no other cron line (a user's crontab, another cron.d file) running the program too. The
 * file is rewritten when it differs; the rest is fixed where it lives.
 */
export default defineModule({
  name: 'backup_cron',
  summary: "The backup's cron.d entry as cron will run it: the file cron reads, cron running, no second schedule elsewhere",
  schema,
  facts: () => ({ cron: cronState }),
  plan(a, { cron }) {
    const base = a.program.slice(a.program.lastIndexOf('/') + 1);
    const judged = judgeCron(cron, { path: a.path, label: `the backup program (${base})`, same: (c) => c.split(/\s+/).some((w) => w.slice(w.lastIndexOf('/') + 1) === base) });
    const t = cron.tables.find((x) => x.path === a.path);
    const drift: Drift[] = [];
    const fix = `rewrite ${a.path} as declared (mode 0644, root:root; apply does it)`;
    const rewrite = !t || t.content !== a.content || t.type !== 'regular file' || t.owner !== 'root' || t.mode !== '644' || t.links !== 1;
    if (!t) {
      drift.push({ what: `${a.path} is missing`, why: 'cron has no entry for the backup: no backup runs, and nothing says so', where: a.path, fix });
    } else if (rewrite) {
      for (const p of ownTableProblems(t)) drift.push({ ...p, where: a.path, fix });
      drift.push(...jobDrift(t, a.content, a.path, fix));
      if (t.type !== 'regular file') drift.push({ what: `${a.path} is a ${t.type}, not a regular file`, why: 'what cron reads is then decided by whatever the link points at', where: a.path, fix });
      if (!drift.length) {
        const attrs = t.owner !== 'root' || t.mode !== '644' ? ` (mode ${t.mode}, owner ${t.owner})` : '';
        drift.push({ what: `${a.path} differs from the declared entry${attrs}`, why: 'the file is the backup schedule the playbook declares', where: a.path, fix });
      }
    }
    const steps = [
      ...(rewrite ? [{ kind: 'write' as const, path: a.path, content: a.content, mode: '0644', owner: 'root', group: 'root' }] : []),
      ...judged.steps,
    ];
    if (!steps.length) return { steps, reason: `${a.path} is read by cron as declared, cron is running, and no other cron line runs ${base}` };
    return {
      steps,
      reason: [...(rewrite ? [`${t ? 'rewrite' : 'write'} ${a.path}`] : []), ...judged.changes].join('; '),
      diff: [...(rewrite ? [{ subject: a.path, before: t?.content ?? '', after: a.content }] : []), ...judged.diff],
      drift: [...drift, ...judged.drift],
    };
  },
});

/** The declared jobs against the file's: a job gone, another schedule, another environment for it. */
function jobDrift(t: CronTable, content: string, path: string, fix: string): Drift[] {
  const have = cronJobs(t);
  const out: Drift[] = [];
  for (const want of cronJobs({ ...t, content })) {
    const got = have.find((j) => j.command === want.command);
    if (!got) {
      out.push({ what: `no line of ${path} runs "${want.command}"`, why: 'the declared job does not run', where: path, fix });
      continue;
    }
    if (got.schedule !== want.schedule || got.user !== want.user) {
      out.push({ what: `"${want.command}" runs at "${got.schedule}" as ${got.user}, declared "${want.schedule}" as ${want.user}`, why: 'the backup does not run when the playbook says', where: `${path}:${got.line}`, fix });
    }
    for (const k of Object.keys(ENV_WHY)) {
      if (got.env[k] !== want.env[k]) {
        out.push({ what: `${k}${got.env[k] === undefined ? ' is not set' : `="${got.env[k]}"`} for "${want.command}", declared ${want.env[k] === undefined ? 'unset' : `"${want.env[k]}"`}`, why: ENV_WHY[k], where: `${path}:${got.line}`, fix });
      }
    }
  }
  return out;
}

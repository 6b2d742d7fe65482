import type { Plan } from './module.js';
import type { Drift } from './result.js';
import { describeStep } from './step.js';

/**
 * The drift a plan reports, or (for plans that only say "would change") one entry worded from what
 * every plan has: the reason is what differs, the diff subjects are where, the steps are the fix.
 */
export function driftOf(plan: Plan, task: { name: string; role?: string }): Drift[] {
  if (plan.drift?.length) return plan.drift;
  const where = [...new Set((plan.diff ?? []).map((d) => d.subject))];
  return [
    {
      what: plan.reason,
      why: `${task.role ? `the ${task.role} role` : 'the playbook'} declares "${task.name}", and the host does not match it`,
      where: where.length ? where.join(', ') : `task "${task.name}"`,
      fix: plan.steps.map(describeStep).join('; '),
    },
  ];
}

/**
 * The same drift with the parts that could carry a secret hidden (no_log tasks): why stays, and where
 * when it only names what the task's diff shows anyway (the files it touched), so a loosened mode on a
 * secret file still says which file.
 */
export function hideDrift(drift: Drift[], hidden: string, subjects: string[] = []): Drift[] {
  const shown = new Set(subjects);
  return drift.map((d) => ({ what: hidden, why: d.why, where: d.where.split(', ').every((w) => shown.has(w)) ? d.where : hidden, fix: hidden }));
}

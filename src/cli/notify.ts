import type { RunReport } from '../engine/run.js';
import { InputError } from '../core/input-error.js';

/** At most this many drift lines in a message: a chat notice, not a report (the run's own output has all). */
const MAX_LINES = 20;

export interface DriftNotice {
  /** Slack, Mattermost and Rocket.Chat incoming webhooks show `text` */
  text: string;
  /** ntfy's JSON publishing and most generic receivers read title + message */
  title: string;
  message: string;
  drifted: true;
  hosts: Record<string, { task: string; what: string; where: string }[]>;
}

/** `--notify URL`: an http(s) URL, refused before any host is contacted otherwise. */
export function notifyUrl(v: string): string {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new InputError(`--notify wants an http(s) URL (an ntfy topic, a healthchecks.io ping URL, a Slack incoming webhook), not "${v}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InputError(`--notify wants an http(s) URL, not ${url.protocol}`);
  return v;
}

/** The short summary of a drifted check run, or undefined when nothing drifted (then nothing is sent). */
export function driftNotice(report: RunReport): DriftNotice | undefined {
  const hosts: DriftNotice['hosts'] = {};
  for (const [name, h] of Object.entries(report.hosts)) {
    const items = h.tasks
      .filter((t) => t.status === 'changed')
      .flatMap((t) => (t.drift ?? [{ what: t.reason, where: t.name }]).map((d) => ({ task: t.role ? `${t.role} | ${t.name}` : t.name, what: d.what, where: d.where })));
    if (items.length) hosts[name] = items;
  }
  const names = Object.keys(hosts);
  if (!names.length) return undefined;
  const count = names.reduce((n, h) => n + hosts[h].length, 0);
  const title = `shipshape: drift on ${names.length === 1 ? names[0] : `${names.length} hosts`} (${count} difference${count === 1 ? '' : 's'})`;
  const lines = names.flatMap((h) => hosts[h].map((d) => `${h}: ${d.task}: ${d.what} [${d.where}]`));
  const shown = lines.slice(0, MAX_LINES);
  if (lines.length > shown.length) shown.push(`... and ${lines.length - shown.length} more`);
  shown.push('Run `shipshape check --diff` for the details, `shipshape apply` to put it back.');
  const message = shown.join('\n');
  return { text: `${title}\n${message}`, title, message, drifted: true, hosts };
}

/**
 * One POST of the notice as JSON. The Title header is ntfy's (it shows the body as the message);
 * healthchecks.io keeps the body as the ping's log (use its /fail URL to mark the check down).
 * A failure to deliver is reported, never fatal: the exit code already says "drift".
 */
export async function sendNotice(url: string, notice: DriftNotice, fetchImpl: typeof fetch = fetch): Promise<string | undefined> {
  try {
    const res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Title: notice.title, Tags: 'warning' },
      body: JSON.stringify(notice),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) return `the notify URL answered ${res.status} ${res.statusText}`;
    return undefined;
  } catch (err) {
    return `could not post to the notify URL: ${(err as Error).message}`;
  }
}

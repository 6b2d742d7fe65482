import { probe } from '../core/probe.js';

/** One file cron reads jobs from, with what cron checks before it reads it at all. */
export interface CronTable {
  path: string;
  /** `system`: /etc/crontab and /etc/cron.d (a user field on every job line); `user`: a spool crontab */
  kind: 'system' | 'user';
  /** the spool crontab's user (its file name) */
  user?: string;
  owner: string;
  /** octal permission bits as stat prints them: "644" */
  mode: string;
  links: number;
  /** regular file | symbolic link | ... (stat %F) */
  type: string;
  content: string;
}

export interface CronState {
  /** `systemctl is-enabled` / `is-active` of cron.service; absent without systemctl */
  service?: { enabled: string; active: string };
  tables: CronTable[];
}

export const CRON_SPOOL = '/var/spool/cron/crontabs';

/**
 * Every table cron reads (the system crontab, /etc/cron.d, the users' spool crontabs; the spool is
 * root's only, so without become it is simply not seen) and the state of the cron service. Contents
 * travel base64-encoded: a user writes their own crontab, and must not be able to forge another
 * table's lines or attributes in this output (nor hide a carriage return or a missing final newline).
 */
export const cronState = probe<CronState>(
  'cron:state',
  [
    `printf 'S %s %s\\n' "$(systemctl is-enabled cron.service 2>/dev/null || true)" "$(systemctl is-active cron.service 2>/dev/null || true)"`,
    `for f in /etc/crontab /etc/cron.d/* ${CRON_SPOOL}/*; do`,
    '  [ -f "$f" ] && [ -r "$f" ] || continue',
    `  printf 'T %s %s %s %s\\n' "$(stat -L -c '%U %a %h' "$f")" "$(stat -c %F "$f" | tr ' ' _)" "$(base64 -w0 < "$f")" "$f"`,
    'done',
  ].join('\n'),
  parseCronState,
);

export function parseCronState(out: string): CronState {
  const state: CronState = { tables: [] };
  for (const line of out.split('\n')) {
    const s = /^S (\S*) (\S*)$/.exec(line);
    if (s) {
      if (s[1] || s[2]) state.service = { enabled: s[1], active: s[2] };
      continue;
    }
    const t = /^T (\S+) ([0-7]+) (\d+) (\S+) ([A-Za-z0-9+/=]*) (\/.*)$/.exec(line);
    if (!t) continue;
    const path = t[6];
    const spool = path.startsWith(`${CRON_SPOOL}/`);
    state.tables.push({
      path,
      kind: spool ? 'user' : 'system',
      ...(spool ? { user: path.slice(CRON_SPOOL.length + 1) } : {}),
      owner: t[1],
      mode: t[2],
      links: Number(t[3]),
      type: t[4].replace(/_/g, ' '),
      content: Buffer.from(t[5], 'base64').toString('utf8'),
    });
  }
  return state;
}

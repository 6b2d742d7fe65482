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
  /** cron.service's UnitFileState (enabled, masked, ...; empty when not installed) and ActiveState; absent without systemctl */
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
    'systemctl show -p UnitFileState -p ActiveState cron.service 2>/dev/null',
    `for f in /etc/crontab /etc/cron.d/* ${CRON_SPOOL}/*; do`,
    '  [ -f "$f" ] && [ -r "$f" ] || continue',
    '  if [ -L "$f" ]; then t=symbolic_link; else t=regular_file; fi',
    `  printf 'T %s %s %s %s\\n' "$(stat -L -c '%U %a %h' "$f")" "$t" "$(base64 -w0 < "$f")" "$f"`,
    'done',
  ].join('\n'),
  parseCronState,
);

export function parseCronState(out: string): CronState {
  const state: CronState = { tables: [] };
  const unit: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const s = /^(UnitFileState|ActiveState)=(.*)$/.exec(line);
    if (s) {
      unit[s[1]] = s[2];
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
  if (unit.ActiveState !== undefined) state.service = { enabled: unit.UnitFileState ?? '', active: unit.ActiveState };
  return state;
}

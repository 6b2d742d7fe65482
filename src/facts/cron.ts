import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';

/**
 * A user's crontab as `crontab -l` prints it. `none` (no crontab yet), `no-cron` (crontab not installed)
 * and `unknown-user` all read as empty: an earlier task may install cron or create the user, and a
 * plan must not fail for that. `error` carries what crontab said (e.g. "must be privileged to use -u").
 */
export interface Crontab {
  status: 'ok' | 'none' | 'no-cron' | 'unknown-user' | 'error';
  content: string;
  error?: string;
}

export function crontabOf(user: string) {
  const u = shq(user);
  return probe<Crontab>(
    `crontab:${user}`,
    [
      `command -v crontab >/dev/null 2>&1 || { echo status=no-cron; exit 0; }`,
      // the trailing x keeps the crontab's final newlines from $(...), which strips them
      `if c=$(crontab -l -u ${u} 2>/dev/null; r=$?; printf x; exit $r); then echo status=ok; printf '%s' "\${c%x}"; exit 0; fi`,
      `e=$(crontab -l -u ${u} 2>&1 >/dev/null)`,
      `case $e in *'no crontab for'*) echo status=none;; *unknown*) echo status=unknown-user;; *) echo status=error; printf '%s\\n' "$e";; esac`,
    ].join('\n'),
    parseCrontabOutput,
  );
}

export function parseCrontabOutput(out: string): Crontab {
  const nl = out.indexOf('\n');
  const head = nl < 0 ? out : out.slice(0, nl);
  const rest = nl < 0 ? '' : out.slice(nl + 1);
  switch (head) {
    case 'status=ok':
      return { status: 'ok', content: rest };
    case 'status=none':
    case 'status=no-cron':
    case 'status=unknown-user':
      return { status: head.slice('status='.length) as Crontab['status'], content: '' };
    default:
      return { status: 'error', content: '', error: rest.trim() || 'crontab -l gave no answer' };
  }
}

/** One crontab line, classified: what the cron module finds its entries by. */
export type CronLine =
  | { kind: 'marker'; name: string; style: 'shipshape' | 'Ansible' }
  | { kind: 'env'; name: string; value: string }
  | { kind: 'job'; disabled: boolean }
  | { kind: 'other' };

const MARKER = /^#(shipshape|Ansible): (.*)$/;
const ENV = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;
// a schedule (5 fields or @keyword) and a command, possibly commented out
const JOB = /^(#\s*)?(@[a-z]+|\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+\S/;

export function classifyCronLine(line: string): CronLine {
  const m = MARKER.exec(line);
  if (m) return { kind: 'marker', name: m[2], style: m[1] as 'shipshape' | 'Ansible' };
  const e = ENV.exec(line);
  if (e && !line.trimStart().startsWith('#')) return { kind: 'env', name: e[1], value: e[2].trim() };
  const j = JOB.exec(line);
  if (j && (!j[1] || /^[\d*@]/.test(j[2]))) return { kind: 'job', disabled: !!j[1] };
  return { kind: 'other' };
}

/** Crontab text as lines, without the empty string a final newline would add. */
export function crontabLines(content: string): string[] {
  return content === '' ? [] : content.replace(/\n$/, '').split('\n');
}

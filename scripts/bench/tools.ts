// The measured phases of each tool on fresh hosts: first run, no-op re-runs, check runs. A phase
// counts only if the tool itself says every host converged: a fast broken run is not a result.
import fs from 'node:fs';
import path from 'node:path';
import { measure, summarize, type MeasureOptions, type Run, type Summary } from './measure.js';
import { ANSIBLE_SITE, SHIPSHAPE_BIN, SITE, type AnsibleSetup } from './setup.js';

export interface ToolResult {
  first: Run;
  noop: Run[];
  check: Run[];
  summary: { first: Summary; noop: Summary; check: Summary };
  /** why the result does not count; empty when every run converged */
  problems: string[];
}

export type Kind = 'first' | 'noop' | 'check';

export interface PhaseOptions {
  hosts: string[];
  repeat: number;
  logDir: string;
}

/**
 * Generous bounds, for hangs only: a first run installs packages on every host over 2 shared cores, and on a
 * machine loaded by other work (load 20 on 2 cores) Ansible's no-op of one host was seen past 140 s.
 */
export const timeouts = (n: number) => ({ firstMs: (600 + 60 * n) * 1000, againMs: (300 + 20 * n) * 1000 });

type Judge = (run: Run, kind: Kind) => string[];

async function phases(o: PhaseOptions, argv: (kind: Kind) => string[], judge: Judge, extra: Partial<MeasureOptions>, progress: (msg: string) => void): Promise<ToolResult> {
  const t = timeouts(o.hosts.length);
  const problems: string[] = [];
  const run = async (label: string, kind: Kind) => {
    const timeoutMs = kind === 'first' ? t.firstMs : t.againMs;
    const r = await measure(label, argv(kind), { timeoutMs, logDir: o.logDir, ...extra });
    const found = (r.timedOut ? [`timed out after ${timeoutMs / 1000} s`] : judge(r, kind)).map((p) => `${label}: ${p}`);
    problems.push(...found);
    progress(`${label.padEnd(8)} ${r.wallS.toFixed(2).padStart(7)} s wall  ${r.cpuS.toFixed(2).padStart(6)} s CPU  ${Math.round(r.maxRssKb / 1024)} MB RSS${found.length ? '  NOT CONVERGED' : ''}`);
    return r;
  };
  const first = await run('first', 'first');
  const noop: Run[] = [];
  const check: Run[] = [];
  // a first run that failed leaves nothing meaningful to re-run
  // and after a run that does not count, the rest of the round would only burn time
  for (const [kind, into] of [['noop', noop], ['check', check]] as const) {
    for (let i = 1; i <= o.repeat && problems.length === 0; i++) into.push(await run(`${kind}-${i}`, kind));
  }
  return { first, noop, check, summary: { first: summarize([first]), noop: summarize(noop), check: summarize(check) }, problems };
}

// ---- shipshape ---------------------------------------------------------------------------------

interface ShipshapeJson {
  hosts: Record<string, { ok: number; changed: number; failed: number; unreachable: boolean; error?: string; tasks: { name: string; status: string; reason: string }[] }>;
}

/** Problems with one `shipshape ... --json` run: exit code, hosts missing, failed, unreachable, changed. */
export function judgeShipshape(stdout: string, exitCode: number | null, hosts: string[], kind: Kind): string[] {
  let report: ShipshapeJson;
  try {
    report = JSON.parse(stdout) as ShipshapeJson;
  } catch {
    return [`exit ${exitCode}, no JSON report on stdout`];
  }
  const problems: string[] = [];
  if (exitCode !== 0) problems.push(`exit ${exitCode}${kind === 'check' && exitCode === 2 ? ' (check found drift)' : ''}`);
  for (const h of hosts) {
    const r = report.hosts[h];
    if (!r) problems.push(`${h} missing from the report`);
    else if (r.unreachable || r.failed > 0) problems.push(`${h} ${r.unreachable ? 'unreachable' : `${r.failed} task(s) failed`}${r.error ? `: ${r.error.split('\n')[0]}` : ''}`);
    else if (kind !== 'first' && r.changed > 0) {
      const what = r.tasks.filter((t) => t.status === 'changed').map((t) => `"${t.name}" (${t.reason})`);
      problems.push(`${h} not converged: ${r.changed} change(s): ${what.join(', ')}`);
    }
  }
  return problems;
}

/** One shipshape run of site.yml, JSON report on stdout. */
export function shipshapeArgv(kind: Kind, inventoryDir: string, forks = 50): string[] {
  return [
    SHIPSHAPE_BIN,
    kind === 'check' ? 'check' : 'apply',
    SITE,
    '-i', inventoryDir,
    '--json',
    // as many hosts at once as Ansible's forks
    '--forks', String(forks),
    ...(kind === 'check' ? [] : ['--yes']),
  ];
}

export const SHIPSHAPE_ENV = (): NodeJS.ProcessEnv => ({ ...process.env, NO_COLOR: '1' });

export function benchShipshape(o: PhaseOptions & { inventoryDir: string }, progress: (msg: string) => void): Promise<ToolResult> {
  const judge: Judge = (r, kind) => judgeShipshape(fs.readFileSync(r.stdoutPath, 'utf8'), r.exitCode, o.hosts, kind);
  return phases(o, (kind) => shipshapeArgv(kind, o.inventoryDir), judge, { env: SHIPSHAPE_ENV() }, progress);
}

// ---- Ansible -----------------------------------------------------------------------------------

export interface RecapLine {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
}

/** The PLAY RECAP lines of ansible-playbook's default output. */
export function parseRecap(output: string): Map<string, RecapLine> {
  const recap = new Map<string, RecapLine>();
  const at = output.lastIndexOf('PLAY RECAP');
  if (at < 0) return recap;
  const re = /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)/gm;
  for (const m of output.slice(at).matchAll(re)) {
    recap.set(m[1], { ok: +m[2], changed: +m[3], unreachable: +m[4], failed: +m[5], skipped: +m[6] });
  }
  return recap;
}

export function judgeAnsible(output: string, exitCode: number | null, hosts: string[], kind: Kind): string[] {
  const recap = parseRecap(output);
  if (recap.size === 0) return [`exit ${exitCode}, no PLAY RECAP in the output`];
  const problems: string[] = [];
  if (exitCode !== 0) problems.push(`exit ${exitCode}`);
  for (const h of hosts) {
    const r = recap.get(h);
    if (!r) problems.push(`${h} missing from the recap`);
    else if (r.unreachable || r.failed) problems.push(`${h} ${r.unreachable ? 'unreachable' : `failed=${r.failed}`}`);
    else if (kind !== 'first' && r.changed > 0) {
      problems.push(`${h} not converged: changed=${r.changed} (${changedTasks(output).slice(0, 10).join(', ') || 'see the log'})`);
    }
  }
  return problems;
}

/** Names of the tasks that reported "changed:", for the message. */
function changedTasks(output: string): string[] {
  const names: string[] = [];
  let task = '';
  for (const line of output.split('\n')) {
    const t = /^(?:TASK|RUNNING HANDLER) \[(.*)\]/.exec(line);
    if (t) task = t[1];
    else if (line.startsWith('changed:') && !names.includes(task)) names.push(task);
  }
  return names;
}

export function benchAnsible(o: PhaseOptions & { setup: AnsibleSetup; tags: string[] }, progress: (msg: string) => void): Promise<ToolResult> {
  const argv = (kind: Kind) => [
    'ansible-playbook',
    '-i', o.setup.inventory,
    ANSIBLE_SITE,
    '--tags', o.tags.join(','),
    // a fresh VPS lets only root in; from then on deploy with sudo, like shipshape's bootstrap_user
    ...(kind === 'first' ? ['-e', 'ansible_user=root'] : []),
    ...(kind === 'check' ? ['--check'] : []),
  ];
  const judge: Judge = (r, kind) => judgeAnsible(fs.readFileSync(r.stdoutPath, 'utf8'), r.exitCode, o.hosts, kind);
  return phases(o, argv, judge, { env: o.setup.env, cwd: path.dirname(o.setup.inventory), muxDir: o.setup.muxDir }, progress).finally(() =>
    fs.rmSync(o.setup.muxDir, { recursive: true, force: true }),
  );
}

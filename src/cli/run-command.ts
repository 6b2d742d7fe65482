import './zod-setup.js';
import { dirname } from 'node:path';
import { InputError } from '../core/input-error.js';
import { withAptPrefetch } from '../engine/apt-prefetch.js';
import { expandForHost } from '../engine/expand.js';
import { exitCode, runAll, type HostJob } from '../engine/run.js';
import { fileLoginMemory } from '../engine/login-memory.js';
import { interruptReporter, onInterrupt } from './interrupt.js';
import { loadInventory, looksSecret, secretValues, selectHosts, type Inventory, type Vars } from '../inventory/index.js';
import { addSecret, addSecrets } from '../core/redact.js';
import { loadPlaybook } from '../playbook/index.js';
import { loadProjectCode, playbookBase } from './project-code.js';
import { setupVault, type VaultFlags } from './vault-password.js';
import { createTransport } from '../transport/index.js';
import type { HostRunReport } from '../engine/host-run.js';
import { confirm } from './confirm.js';
import { recordPortInInventory } from './inventory-port.js';
import { parseExtraVars, splitExtraVars } from './extra-vars.js';
import { driftNotice, sendNotice } from './notify.js';
import { formatEvent, formatRecap, writeJson, type OutputOptions } from './output.js';
import { applyRunV8Flags } from './v8-flags.js';

// the young generation held at its initial size (see v8-flags.ts). Only apply and check load this file.
applyRunV8Flags();

export interface RunFlags extends VaultFlags {
  inventory: string;
  limit?: string;
  tags?: string;
  skipTags?: string;
  diff?: boolean;
  forks: number;
  extraVars: string[];
  json?: boolean;
  verbose?: boolean;
  yes?: boolean;
  acceptNewHostKeys?: boolean;
  color: boolean;
  guardTimeout: number;
  /** seconds a second run waits for another run's host lock (--lock-wait) */
  lockWait?: number;
  /** seconds each network phase of apt (update, the play's download) may take on a host (--apt-timeout) */
  aptTimeout?: number;
  /** false with --no-update-inventory: only tell the operator to edit it */
  updateInventory: boolean;
  /** check only: where a drifted run posts its summary */
  notify?: string;
}

const list = (s?: string) => (s ? s.split(',').map((t) => t.trim()).filter(Boolean) : []);

/** Everything that can go wrong in the input is found here, before any host is contacted. */
export async function prepareRun(playbookPath: string, flags: RunFlags): Promise<HostJob[]> {
  await setupVault(flags);
  const extra = splitExtraVars(parseExtraVars(flags.extraVars));
  const inventory = await loadInventory(flags.inventory, { extraConnection: extra.conn, playbookDir: dirname(playbookPath) });
  declareSecrets(inventory);
  for (const w of inventory.warnings) process.stderr.write(`warning: ${w.format()}\n`);
  // a project's own roles and modules beside its playbooks, then the built-in ones
  const { roles, modules } = await loadProjectCode([playbookBase(playbookPath)]);
  const playbook = await loadPlaybook(playbookPath, { modules, roles });
  const extraVars = extra.vars;
  declareSecretVars(extraVars);
  const limit = flags.limit ? new Set(selectHosts(inventory, flags.limit, { file: '--limit' })) : undefined;
  const byHost = new Map<string, HostJob>();
  const opts = { playbook, inventory, roles, modules, extraVars, tags: list(flags.tags), skipTags: list(flags.skipTags) };
  const problems: InputError[] = [];
  for (const play of playbook.plays) {
    const hosts = selectHosts(inventory, play.hosts, play.hostsSource).filter((h) => !limit || limit.has(h));
    for (const host of hosts) {
      try {
        // the packages of the play's apt tasks that will run, fetched in one transaction first
        const instance = withAptPrefetch(expandForHost(opts, play, host));
        const spec = { ...inventory.hosts.get(host)!.connection, acceptNewHostKeys: !!flags.acceptNewHostKeys };
        const job = byHost.get(host) ?? { spec, plays: [] };
        job.plays.push(instance);
        byHost.set(host, job);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        // the same mistake usually repeats for every host: report it once
        if (!problems.some((p) => p.location === err.location && p.message === err.message)) problems.push(err);
      }
    }
  }
  if (problems.length) throw InputError.combine(problems)!;
  if (byHost.size === 0) {
    throw new InputError(`no host matches${flags.limit ? ` --limit ${flags.limit} and` : ''} the plays' hosts patterns`, {
      hint: `the inventory ${inventory.path} has: ${[...inventory.hosts.keys()].join(', ') || 'no hosts'}`,
    });
  }
  return [...byHost.values()];
}

export async function runCommand(mode: 'apply' | 'check', playbookPath: string, flags: RunFlags): Promise<void> {
  const check = mode === 'check';
  const jobs = await prepareRun(playbookPath, flags);
  const tty = Boolean(process.stdout.isTTY) && !flags.json;
  const out: OutputOptions = { check, diff: !!flags.diff, verbose: !!flags.verbose, color: tty && flags.color && !process.env.NO_COLOR };

  if (!check && !flags.yes && tty && process.stdin.isTTY) {
    const names = jobs.map((j) => j.spec.name);
    const ok = await confirm(`Apply ${playbookPath} to ${names.length} host(s): ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}?`);
    if (!ok) {
      process.stderr.write('Nothing applied. (Use `shipshape check` to see what would change, or --yes to skip this question.)\n');
      process.exitCode = 0;
      return;
    }
  }

  const write = (lines: string[]) => lines.length && process.stdout.write(lines.join('\n') + '\n');
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  let sink = (e: Parameters<typeof formatEvent>[0]) => void (flags.json ? undefined : write(formatEvent(e, out)));
  let finished: Promise<void> = Promise.resolve();
  const buffered: Parameters<typeof formatEvent>[0][] = [];
  if (tty) {
    // listr owns the screen while it runs; the details are printed once it is done. Loaded only on a
    // terminal: --json, CI and pipes never pay for it
    const { terminalProgress } = await import('./progress.js');
    const progress = terminalProgress(jobs.map((j) => j.spec.name), check);
    finished = progress.finished;
    sink = (e) => {
      progress.sink(e);
      buffered.push(e);
    };
  }
  // a host whose sshd moved gets its inventory entry updated before its report is shown
  let queue = Promise.resolve();
  const show = sink;
  const interrupted = interruptReporter(jobs.map((j) => j.spec.name), check, flags.guardTimeout);
  sink = (e) => {
    interrupted.track(e);
    queue = queue.then(() => (e.type === 'host-done' ? notePortMove(e.report as HostRunReport, flags) : undefined)).then(() => show(e));
  };
  const uninstall = onInterrupt(interrupted.report);
  // performance.now() counts from the process's start: CLI start, loading the files, expansion
  const startMs = Math.round(performance.now());
  const report = await runAll(jobs, { check, forks: flags.forks, guardTimeoutSec: flags.guardTimeout, loginMemory: fileLoginMemory(), hostLock: { waitSec: flags.lockWait ?? 60, staleSec: 900 }, ...(flags.aptTimeout !== undefined ? { aptTimeoutSec: flags.aptTimeout } : {}) }, (spec) => createTransport(spec, { log: flags.json ? () => undefined : log }), sink);
  await queue;
  await finished;
  uninstall();
  if (flags.json) {
    writeJson(report, { startMs, peakRssMb: peakRssMb() }, (text) => process.stdout.write(text));
    process.stdout.write('\n');
  } else {
    for (const e of buffered) write(formatEvent(e, out));
    write(formatRecap(report, out));
  }
  process.exitCode = exitCode(report, check);
  const notice = check && flags.notify ? driftNotice(report) : undefined;
  if (notice) {
    const problem = await sendNotice(flags.notify!, notice);
    if (problem) log(`warning: drift found, but ${problem}`);
  }
}

/** The process's peak resident memory so far (maxRSS is in kilobytes). */
function peakRssMb(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** sshd of this host moved: record the new port in the inventory (or say exactly what to change). */
async function notePortMove(report: HostRunReport, flags: RunFlags): Promise<void> {
  if (!report.moved) return;
  const { from, to } = report.moved;
  const edit = `set \`port: ${to}\` for ${report.host} in the inventory (it says ${from}) before the next run`;
  let note: string;
  if (!flags.updateInventory) note = `sshd now listens on port ${to}: ${edit}`;
  else {
    const r = await recordPortInInventory(flags.inventory, report.host, from, to).catch((err: Error) => ({ ok: false as const, why: err.message }));
    note = r.ok ? `sshd now listens on port ${to}: ${r.note}` : `sshd now listens on port ${to}: ${edit}; the inventory was not edited: ${r.why}`;
  }
  report.notes = [...(report.notes ?? []), note];
}

/** Secret values the output must never show: become passwords and secret-looking variables, wherever they were set. */
function declareSecrets(inventory: Inventory): void {
  for (const v of secretValues(inventory)) addSecret(v);
  for (const h of inventory.hosts.values()) declareSecretVars(h.vars);
  for (const g of inventory.groups.values()) declareSecretVars(g.vars);
}

function declareSecretVars(vars: Vars): void {
  for (const [k, v] of Object.entries(vars)) if (looksSecret(k)) addSecrets(v);
}

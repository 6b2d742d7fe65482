// `npm run bench`: shipshape and Ansible side by side, doing playbooks/site.yml's work on the same fresh
// lab hosts (h200..h219) in one run, on Debian 12 and/or 13. For each release and host count: fresh hosts,
// shipshape's first apply, no-op re-applies and checks (and, in the largest round, the controller
// simulation over those hosts); fresh hosts again, the same for Ansible (scripts/bench/ansible/site.yml).
// Speed and memory goals live here, never in timed tests. See README "Benchmark" and scripts/bench/.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST_LABEL, sshOptions, type Dist } from './lab/index.js';
import { labDir } from './lab/paths.js';
import { missingPackages } from './lab/prerequisites.js';
import { USAGE, UsageError, benchHostNames, parseArgs, repeatFor, type BenchArgs } from './bench/args.js';
import { freshBenchHosts, stopBenchHosts } from './bench/hosts.js';
import { GNU_TIME, killRunning, measure, median } from './bench/measure.js';
import { roundTable, simulationTable, simulationVerdict, verdictLines, type Reference, type Round } from './bench/report.js';
import { countScriptProcesses } from './bench/script-processes.js';
import { simulate, type SimPoint } from './bench/simulate.js';
import { breakdown } from './bench/stats.js';
import { ANSIBLE_SITE, ROOT, SHIPSHAPE_BIN, SITE, ansibleRoleTags, sha256, siteRoles, writeAnsibleSetup, writeShipshapeInventory } from './bench/setup.js';
import { benchAnsible, benchShipshape } from './bench/tools.js';

const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
  } catch {
    return '';
  }
}

/** Newest .ts under these dirs, to tell a stale dist/ (bin/shipshape runs dist/ when it exists). */
function newestSource(dirs: string[]): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  dirs.filter((d) => fs.existsSync(d)).forEach(walk);
  return newest;
}

/** Everything that would make the numbers meaningless or the run impossible, before any host boots. */
async function preflight(args: BenchArgs): Promise<{ roles: string[]; tags: string[]; plays: number }> {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root: run the bench as root');
  if (!fs.existsSync(GNU_TIME) || (await missingPackages(['time'])).length > 0) {
    throw new Error(`${GNU_TIME} (Debian's \`time\` package) is missing: apt-get install time`);
  }
  const built = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!fs.existsSync(built)) throw new Error('dist/ is missing: run `npm run build` (npm run bench does it first)');
  if (newestSource([path.join(ROOT, 'src'), path.join(ROOT, 'roles')]) > fs.statSync(built).mtimeMs) {
    say('warning: some sources are newer than dist/: the bench measures dist/ (npm run bench builds first)');
  }
  const { roles, plainTasks, plays } = siteRoles();
  if (plainTasks > 0) say(`warning: site.yml has ${plainTasks} task(s) outside roles; the Ansible playbook only mirrors roles`);
  if (args.skipAnsible) return { roles, tags: [], plays };
  if (!firstLine('ansible-playbook', ['--version'])) throw new Error('ansible-playbook is missing: apt-get install ansible (or --skip-ansible)');
  const tags = ansibleRoleTags();
  const missing = roles.filter((r) => !tags.has(r));
  if (missing.length > 0) {
    throw new Error(
      `site.yml has role(s) ${missing.join(', ')} with no tagged block in ${path.relative(ROOT, ANSIBLE_SITE)}: ` +
        'the two tools would not do the same work. Add the equivalent Ansible tasks (ansible.builtin only) tagged with the role name.',
    );
  }
  return { roles, tags: roles, plays };
}

/** Floors for reading shipshape's no-op time: starting the CLI, and one SSH login with sudo. */
async function reference(host: { addr: string }, repeat: number, logDir: string): Promise<Reference> {
  const opts = { logDir, timeoutMs: 30_000 };
  const cli: number[] = [];
  const ssh: number[] = [];
  for (let i = 1; i <= repeat; i++) {
    cli.push((await measure(`cli-start-${i}`, [SHIPSHAPE_BIN, '--version'], opts)).wallS);
    ssh.push((await measure(`ssh-login-sudo-${i}`, ['ssh', ...sshOptions(), `deploy@${host.addr}`, 'sudo -n true'], opts)).wallS);
  }
  return { cliStartS: median(cli), sshLoginSudoS: median(ssh) };
}

async function main(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    const parsed = parseArgs(argv);
    if (parsed === 'help') {
      console.log(USAGE);
      return 0;
    }
    args = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message}\n\n${USAGE}`);
    return 64;
  }
  const { roles, tags, plays } = await preflight(args);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const benchDir = path.join(labDir(), 'bench');
  const runDir = path.join(benchDir, stamp);
  fs.mkdirSync(runDir, { recursive: true });
  const siteHash = sha256(SITE);
  const started = Date.now();
  const results = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    durationS: 0,
    argv,
    converged: true,
    problems: [] as string[],
    machine: { cpus: os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(), node: process.version },
    loadavgAtStart: os.loadavg(),
    shipshape: { commit: git('rev-parse', '--short', 'HEAD'), uncommitted: git('status', '--porcelain', '--', 'src', 'roles', 'playbooks') !== '' },
    ansible: args.skipAnsible ? null : { version: firstLine('ansible-playbook', ['--version']), playbook: path.relative(ROOT, ANSIBLE_SITE), tags },
    site: { roles, plays, sha256: siteHash },
    dists: args.dists,
    repeat: args.repeat ?? 'default',
    logs: runDir,
    rounds: [] as Round[],
    simulations: [] as { dist: Dist; hosts: string[]; points: SimPoint[] }[],
    verdict: [] as string[],
    tables: [] as string[],
  };
  say(`site.yml roles: ${roles.join(', ')}; logs in ${runDir}`);
  const load = os.loadavg()[0];
  if (load > os.cpus().length) say(`warning: load average ${load.toFixed(1)} on ${os.cpus().length} cores: other work shares the machine, timings are noisy`);
  const print = (text: string) => {
    results.tables.push(text);
    console.log(`\n${text}\n`);
  };
  const stopOnProblems = (label: string, problems: string[]) => {
    if (sha256(SITE) !== siteHash) problems.push('playbooks/site.yml changed while the bench ran: the runs did not all do the same work');
    if (problems.length === 0) return false;
    results.converged = false;
    results.problems.push(...problems.map((p) => `${label}: ${p}`));
    return true;
  };

  const used = new Set<string>();
  const largest = Math.max(...args.hostCounts);
  try {
    rounds: for (const dist of args.dists) {
      for (const count of args.hostCounts) {
        const names = benchHostNames(count);
        names.forEach((n) => used.add(n));
        const label = `${count} host(s), ${dist}`;
        const roundDir = path.join(runDir, dist, `${count}-hosts`);
        const durationsS: Record<string, number> = {};
        const timed = async <T>(part: string, f: () => Promise<T>): Promise<T> => {
          const t = Date.now();
          try {
            return await f();
          } finally {
            durationsS[part] = Math.round((Date.now() - t) / 100) / 10;
          }
        };
        say(`${label} ${names[0]}${count > 1 ? `..${names.at(-1)}` : ''} (${DIST_LABEL[dist]}): fresh hosts for shipshape`);
        let lab = await timed('boot for shipshape', () => freshBenchHosts(names, dist));
        const loadavgBefore = os.loadavg();
        const inventoryDir = writeShipshapeInventory(path.join(roundDir, 'shipshape', 'inventory'), lab, lab.hosts);
        const progress = (tool: string) => (msg: string) => say(`${count}h ${dist} ${tool} ${msg}`);
        const repeat = { shipshape: repeatFor(args, count, 'shipshape'), ansible: repeatFor(args, count, 'ansible') };
        const shipshape = await timed('shipshape', () =>
          benchShipshape({ hosts: names, repeat: repeat.shipshape, logDir: path.join(roundDir, 'shipshape'), inventoryDir }, progress('shipshape')),
        );
        const round: Round = { hosts: names, dist, loadavgBefore, repeat, shipshape, durationsS };
        results.rounds.push(round);
        if (stopOnProblems(label, shipshape.problems.map((p) => `shipshape ${p}`))) break rounds;
        const stdoutOf = (runs: { stdoutPath: string }[]) => runs.map((r) => fs.readFileSync(r.stdoutPath, 'utf8'));
        round.breakdown = { noop: breakdown(stdoutOf(shipshape.noop)), check: breakdown(stdoutOf(shipshape.check)) };
        round.reference = await timed('reference', () => reference(lab.hosts[0], 3, path.join(roundDir, 'reference')));
        if (args.simulate.length > 0 && count === largest) {
          // the hosts shipshape just provisioned: converged, so every check must report no change
          const points = await timed('simulation', () =>
            simulate({ lab, hosts: lab.hosts, counts: args.simulate, repeat: 3, logDir: path.join(roundDir, 'simulate') }, progress('shipshape')),
          );
          results.simulations.push({ dist, hosts: names, points });
          if (stopOnProblems(label, points.flatMap((p) => p.problems).map((p) => `simulation ${p}`))) break rounds;
          print(simulationTable(points, dist));
          results.verdict.push(...simulationVerdict(points));
        }
        // after every timed shipshape run: strace slows what it follows, and it is installed on the host
        round.scriptProcesses = await timed('process count', () =>
          countScriptProcesses(lab.hosts[0], inventoryDir, path.join(roundDir, 'script-processes'), say).catch((e: unknown) => {
            say(`counting the fact script's processes: ${e instanceof Error ? e.message : String(e)}`);
            return undefined;
          }),
        );
        if (!args.skipAnsible) {
          say(`${label}: fresh hosts again for Ansible`);
          lab = await timed('boot for Ansible', () => freshBenchHosts(names, dist));
          const setup = writeAnsibleSetup(path.join(roundDir, 'ansible'), lab, lab.hosts);
          round.ansible = await timed('ansible', () =>
            benchAnsible({ hosts: names, repeat: repeat.ansible, logDir: path.join(roundDir, 'ansible'), setup, tags }, progress('ansible')),
          );
          if (stopOnProblems(label, round.ansible.problems.map((p) => `ansible ${p}`))) break rounds;
        }
        print(roundTable(round));
        results.verdict.push(...verdictLines(round, plays));
        say(`${label}: parts took ${Object.entries(durationsS).map(([k, v]) => `${k} ${v} s`).join(', ')} (load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
      }
    }
  } finally {
    results.finishedAt = new Date().toISOString();
    results.durationS = Math.round((Date.now() - started) / 1000);
    const file = path.join(benchDir, `${stamp}.json`);
    fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    if (!args.keepHosts && used.size > 0) await stopBenchHosts([...used]).catch((e: unknown) => say(`could not stop ${[...used].join(' ')}: ${String(e)}`));
    say(`results: ${file} (the bench took ${Math.round((Date.now() - started) / 1000)} s)`);
  }
  if (!results.converged) {
    console.log('NOT A RESULT: a tool did not converge (a fast broken run is not a benchmark):');
    for (const p of results.problems) console.log(`  ${p}`);
    console.log(`logs: ${runDir}`);
    return 1;
  }
  console.log(results.verdict.join('\n'));
  return 0;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killRunning();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    killRunning();
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

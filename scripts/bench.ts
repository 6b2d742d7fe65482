// `npm run bench`: shipshape and Ansible side by side, doing playbooks/site.yml's work on the same fresh
// lab hosts (h30..h49) in one run. For each host count: fresh hosts, shipshape's first apply, no-op
// re-applies and checks; fresh hosts again, the same for Ansible (scripts/bench/ansible/site.yml).
// Speed and memory goals live here, never in timed tests. See README "Benchmark" and scripts/bench/.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sshOptions } from './lab/index.js';
import { labDir } from './lab/paths.js';
import { missingPackages } from './lab/prerequisites.js';
import { USAGE, UsageError, benchHostNames, parseArgs, type BenchArgs } from './bench/args.js';
import { freshBenchHosts, stopBenchHosts } from './bench/hosts.js';
import { GNU_TIME, killRunning, measure, median } from './bench/measure.js';
import { roundTable, verdictLines, type Reference, type Round } from './bench/report.js';
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
async function preflight(args: BenchArgs): Promise<{ roles: string[]; tags: string[] }> {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root: run the bench as root');
  if (!fs.existsSync(GNU_TIME) || (await missingPackages(['time'])).length > 0) {
    throw new Error(`${GNU_TIME} (Debian's \`time\` package) is missing: apt-get install time`);
  }
  const built = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!fs.existsSync(built)) throw new Error('dist/ is missing: run `npm run build` (npm run bench does it first)');
  if (newestSource([path.join(ROOT, 'src'), path.join(ROOT, 'roles')]) > fs.statSync(built).mtimeMs) {
    say('warning: some sources are newer than dist/: the bench measures dist/ (npm run bench builds first)');
  }
  const { roles, plainTasks } = siteRoles();
  if (plainTasks > 0) say(`warning: site.yml has ${plainTasks} task(s) outside roles; the Ansible playbook only mirrors roles`);
  if (args.skipAnsible) return { roles, tags: [] };
  if (!firstLine('ansible-playbook', ['--version'])) throw new Error('ansible-playbook is missing: apt-get install ansible (or --skip-ansible)');
  const tags = ansibleRoleTags();
  const missing = roles.filter((r) => !tags.has(r));
  if (missing.length > 0) {
    throw new Error(
      `site.yml has role(s) ${missing.join(', ')} with no tagged block in ${path.relative(ROOT, ANSIBLE_SITE)}: ` +
        'the two tools would not do the same work. Add the equivalent Ansible tasks (ansible.builtin only) tagged with the role name.',
    );
  }
  return { roles, tags: roles };
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
  const { roles, tags } = await preflight(args);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const benchDir = path.join(labDir(), 'bench');
  const runDir = path.join(benchDir, stamp);
  fs.mkdirSync(runDir, { recursive: true });
  const siteHash = sha256(SITE);
  const results = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    converged: true,
    problems: [] as string[],
    machine: { cpus: os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(), node: process.version },
    shipshape: { commit: git('rev-parse', '--short', 'HEAD'), uncommitted: git('status', '--porcelain', '--', 'src', 'roles', 'playbooks') !== '' },
    ansible: args.skipAnsible ? null : { version: firstLine('ansible-playbook', ['--version']), playbook: path.relative(ROOT, ANSIBLE_SITE), tags },
    site: { roles, sha256: siteHash },
    repeat: args.repeat,
    logs: runDir,
    rounds: [] as Round[],
    verdict: [] as string[],
    tables: [] as string[],
  };
  say(`site.yml roles: ${roles.join(', ')}; logs in ${runDir}`);
  const load = os.loadavg()[0];
  if (load > os.cpus().length) say(`warning: load average ${load.toFixed(1)} on ${os.cpus().length} cores: other work shares the machine, timings are noisy`);

  const used = new Set<string>();
  try {
    for (const count of args.hostCounts) {
      const names = benchHostNames(count);
      names.forEach((n) => used.add(n));
      const roundDir = path.join(runDir, `${count}-hosts`);
      say(`${count} host(s) ${names[0]}${count > 1 ? `..${names.at(-1)}` : ''}: fresh hosts for shipshape`);
      let lab = await freshBenchHosts(names);
      const loadavgBefore = os.loadavg();
      const inventoryDir = writeShipshapeInventory(path.join(roundDir, 'shipshape', 'inventory'), lab, lab.hosts);
      const progress = (tool: string) => (msg: string) => say(`${count}h ${tool} ${msg}`);
      const shipshape = await benchShipshape({ hosts: names, repeat: args.repeat, logDir: path.join(roundDir, 'shipshape'), inventoryDir }, progress('shipshape'));
      const round: Round = { hosts: names, loadavgBefore, shipshape };
      if (shipshape.problems.length === 0) round.reference = await reference(lab.hosts[0], args.repeat, path.join(roundDir, 'reference'));
      if (!args.skipAnsible && shipshape.problems.length === 0) {
        say(`${count} host(s): fresh hosts again for Ansible`);
        lab = await freshBenchHosts(names);
        const setup = writeAnsibleSetup(path.join(roundDir, 'ansible'), lab, lab.hosts);
        round.ansible = await benchAnsible({ hosts: names, repeat: args.repeat, logDir: path.join(roundDir, 'ansible'), setup, tags }, progress('ansible'));
      }
      results.rounds.push(round);
      const problems = [...shipshape.problems.map((p) => `shipshape ${p}`), ...(round.ansible?.problems ?? []).map((p) => `ansible ${p}`)];
      if (sha256(SITE) !== siteHash) problems.push('playbooks/site.yml changed while the bench ran: the runs did not all do the same work');
      if (problems.length > 0) {
        results.converged = false;
        results.problems.push(...problems.map((p) => `${count} host(s): ${p}`));
        break;
      }
      const table = roundTable(round, args.repeat);
      results.tables.push(table);
      results.verdict.push(...verdictLines(round));
      console.log(`\n${table}\n`);
    }
  } finally {
    results.finishedAt = new Date().toISOString();
    const file = path.join(benchDir, `${stamp}.json`);
    fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    if (!args.keepHosts && used.size > 0) await stopBenchHosts([...used]).catch((e: unknown) => say(`could not stop ${[...used].join(' ')}: ${String(e)}`));
    say(`results: ${file}`);
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

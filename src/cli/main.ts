// Only what every command needs is imported here: each command loads its own code when it runs, so
// `shipshape --help` and the start of a run do not pay for the wizard, the SSH library, listr2 or
// the schema tooling (see README "Speed": CLI start).
import { Command, CommanderError, Option } from 'commander';
import { InputError } from '../core/input-error.js';
import { didYouMean } from '../core/suggest.js';
import type { RunFlags } from './run-command.js';
import { notifyUrl } from './notify.js';
import type { BackupAction, BackupFlags } from './backup-command.js';
import type { InitFlags } from './init-command.js';
import { maskSecretsInOutput } from './safe-output.js';

maskSecretsInOutput();

// `shipshape roles | head`: a reader that stops early is not an error
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const program = new Command();

program
  .name('shipshape')
  .description(
    'Provision small VPS fleets over SSH: idempotent tasks from playbooks and roles, with check/diff and drift detection.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

function runOptions(cmd: Command): Command {
  return cmd
    .argument('<playbook>', 'playbook YAML file, e.g. playbooks/site.yml')
    .requiredOption('-i, --inventory <path>', 'inventory file or directory (hosts.yml with host_vars/ and group_vars/ beside it)')
    .option('-l, --limit <pattern>', 'only these hosts: names, groups, globs, "web*,!web3", "prod:&db"')
    .option('-t, --tags <tags>', 'only tasks and roles with these tags (comma-separated)')
    .option('--skip-tags <tags>', 'skip tasks and roles with these tags (comma-separated)')
    .option('-D, --diff', 'show a unified diff of every file and setting that changes')
    .addOption(new Option('-f, --forks <n>', 'hosts worked on at the same time').default(10).argParser(positiveInt))
    .option('-e, --extra-vars <key=value>', 'set a variable, highest precedence (repeatable; value may be JSON)', collect, [])
    .option('--json', 'print one JSON document on stdout instead of progress and text')
    .option('-v, --verbose', 'also list tasks that needed no change, with the reason')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--accept-new-host-keys', 'record the host key of a host never seen before (like OpenSSH accept-new); a CHANGED key is always refused')
    .addOption(
      new Option('--guard-timeout <seconds>', 'an access-critical change (sshd, firewall, keys) reverts itself on the host unless a new login confirms it within this time')
        .default(120)
        .argParser(guardSeconds),
    )
    .addOption(
      new Option('--lock-wait <seconds>', 'apply takes a lock on each host; how long to wait for another run holding it before refusing that host')
        .default(60)
        .argParser(lockSeconds),
    )
    .addOption(
      new Option('--apt-timeout <seconds>', "each network phase of apt (apt-get update, the download of a play's packages) may take this long on a host; then it is stopped and its task fails, naming the mirror or proxy (an install's dpkg is never stopped)")
        .default(900)
        .argParser(aptSeconds),
    )
    .option('--no-update-inventory', 'when a run moves sshd to another port, only say what to change in the inventory instead of editing its port in place')
    .option('--vault-password-file <file>', 'password for Ansible Vault values and files (first line of the file, or the output of an executable script; repeatable)', collect, [])
    .option('--vault-id <label@file>', 'a labelled vault password (label@file or label@prompt; repeatable)', collect, [])
    .option('-J, --ask-vault-pass', 'ask for the vault password on the terminal')
    .option('--no-color', 'no colours in the output');
}

runOptions(program.command('apply'))
  .description('apply a playbook: change the hosts to match it, then report what changed')
  .addHelpText(
    'after',
    `
Examples:
  shipshape apply playbooks/site.yml -i inventory/hosts.yml
  shipshape apply playbooks/site.yml -i inventory/ -l web1 -t firewall --diff

Exit codes: 0 all hosts fine, 1 a task failed, 4 a host was unreachable, 64 bad command line or input files
(nothing was contacted).`,
  )
  .action(async (playbook: string, flags: RunFlags) => (await runCode()).runCommand('apply', playbook, flags));

runOptions(program.command('check'))
  .addOption(new Option('--notify <url>', 'when anything drifted, POST a short JSON summary there (ntfy topic, healthchecks.io /fail URL, Slack webhook); nothing is sent for a clean run').argParser(notifyUrl))
  .description('dry run: read every host and report what apply would change (drift), changing nothing')
  .addHelpText(
    'after',
    `
Examples:
  shipshape check playbooks/site.yml -i inventory/hosts.yml --diff
  shipshape check playbooks/site.yml -i inventory/ --json | jq '.hosts[].changed'
  shipshape check playbooks/site.yml -i inventory/ --notify https://ntfy.sh/my-drift-topic

Exit codes: 0 nothing would change, 2 changes or drift found, 1 a task could not be planned,
4 a host was unreachable, 64 bad command line or input files (nothing was contacted).`,
  )
  .action(async (playbook: string, flags: RunFlags) => (await runCode()).runCommand('check', playbook, flags));

program
  .command('init')
  .description('first-time setup: asks about your server, checks each answer on it, writes the project folder, shows the plan and applies it')
  .argument('[dir]', 'project folder to write (inventory/, playbooks/site.yml, .gitignore)', '.')
  .option('--answers <file>', 'take the answers from this YAML file instead of asking (keys as in the README)')
  .option('-y, --yes', 'apply the plan without asking (needed without a terminal)')
  .option('--force', 'replace existing files whose content the answers change')
  .option('--accept-new-host-keys', 'trust a host key never seen before without asking (or pin it: host_key_fingerprint in the answers)')
  .option('--no-color', 'no colours in the output')
  .addHelpText(
    'after',
    `
Examples:
  shipshape init my-servers                                  # on a terminal: asks, checks, writes, plans, applies
  shipshape init my-servers --answers answers.yml --yes      # the same without questions (CI, scripts)

Exit codes: 0 done, 1 a check or task failed, 4 the server was unreachable, 64 bad answers file or
command line (nothing was contacted), 130 interrupted (Ctrl-C; no file half-written).`,
  )
  .action(async (dir: string, flags: InitFlags) => (await import('./init-command.js')).initCommand(dir, flags));

program
  .command('modules')
  .description('list the task modules a playbook can use, with their arguments')
  .argument('[name]', 'show one module in detail')
  .option('--project <dir>', "the project whose own modules (modules/) are listed too", '.')
  .action(async (name: string | undefined, o: { project: string }) => (await import('./list-command.js')).listCommand('modules', name, o.project));

program
  .command('roles')
  .description('list the roles and their variables with defaults')
  .argument('[name]', 'show one role in detail')
  .option('--project <dir>', "the project whose own roles (roles/, playbooks/roles/) are listed too", '.')
  .action(async (name: string | undefined, o: { project: string }) => (await import('./list-command.js')).listCommand('roles', name, o.project));

program
  .command('schema')
  .description('print or write JSON Schemas for inventories, vars files and playbooks (editor completion and checks)')
  .argument('[which]', 'inventory, vars or playbook (default: all three as one JSON object)')
  .option('-w, --write <dir>', 'write inventory.schema.json, vars.schema.json and playbook.schema.json into this directory')
  .option('--project <dir>', "the project whose own roles and modules are included", '.')
  .addHelpText(
    'after',
    `
Examples:
  shipshape schema --write .shipshape/schemas
  shipshape schema playbook > playbook.schema.json

Then the first line of a playbook, for editors with the YAML language server (VS Code's YAML extension):
  # yaml-language-server: $schema=../.shipshape/schemas/playbook.schema.json`,
  )
  .action(async (which: string | undefined, o: { write?: string; project: string }) => (await import('./schema-command.js')).schemaCommand(which, o));

program
  .command('backup')
  .description('the backups the backup role set up: run one now, list, verify a restore, restore, show the repository key')
  .argument('<action>', 'run | list | verify | restore | key')
  .requiredOption('-i, --inventory <path>', 'inventory file or directory')
  .option('-l, --limit <pattern>', 'only these hosts: names, groups, globs')
  .option('--database <name>', 'restore: the database (CONTAINER/DATABASE or DATABASE, as in backup_postgres)')
  .option('--target <dir>', 'restore: put the backed-up paths under this directory on the host')
  .option('--paths <list>', 'restore: only these paths (comma-separated; default all of backup_paths)')
  .option('--snapshot <id>', 'restore: this restic snapshot instead of the newest')
  .addOption(new Option('-f, --forks <n>', 'hosts worked on at the same time').default(10).argParser(positiveInt))
  .option('--json', 'print one JSON document on stdout')
  .option('-y, --yes', 'restore without asking first')
  .option('--accept-new-host-keys', 'record the host key of a host never seen before; a CHANGED key is always refused')
  .addHelpText(
    'after',
    `
Examples:
  shipshape backup key -i inventory/             # each host's public key, to authorize on the sftp repository
  shipshape backup run -i inventory/ -l db1      # a backup now, exactly as cron runs it
  shipshape backup list -i inventory/
  shipshape backup verify -i inventory/          # restore the newest into scratch and compare with its manifest
  shipshape backup restore -i inventory/ -l db1 --database app-db/app
  shipshape backup restore -i inventory/ -l db1 --target /srv/restored --paths /srv/app/uploads

Exit codes: 0 fine on every host, 1 a host failed (verify: a difference), 4 a host was unreachable, 64 bad input.`,
  )
  .action(async (action: string, flags: BackupFlags) => {
    const actions = ['run', 'list', 'verify', 'restore', 'key'];
    if (!actions.includes(action)) throw new InputError(`backup ${action}: not an action`, { hint: [didYouMean(action, actions), `one of ${actions.join(', ')}`].filter(Boolean).join('; ') });
    return (await import('./backup-command.js')).backupCommand(action as BackupAction, flags);
  });

/** The run's code, after zod's settings: they apply to schemas created later (see zod-setup.ts). */
async function runCode(): Promise<typeof import('./run-command.js')> {
  await import('./zod-setup.js');
  return import('./run-command.js');
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--forks wants a whole number of at least 1, not "${v}"`);
  return n;
}

/** Below 10 s a confirmation login (sshd re-exec, key exchange, sudo) cannot finish before the revert. */
function guardSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 10) throw new InputError(`--guard-timeout wants whole seconds, at least 10, not "${v}"`);
  return n;
}

function lockSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InputError(`--lock-wait wants whole seconds (0 or more), not "${v}"`);
  return n;
}

function aptSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--apt-timeout wants whole seconds, at least 1, not "${v}"`);
  return n;
}

function collect(v: string, acc: string[]): string[] {
  return [...acc, v];
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // help and version are "errors" to commander but successes to the user
    process.exitCode = err.exitCode === 0 ? 0 : 64;
  } else if (err instanceof InputError) {
    process.stderr.write(`${err.format()}\n`);
    process.exitCode = 64;
  } else {
    process.stderr.write(`shipshape: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  }
}

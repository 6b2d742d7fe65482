/**
 * `shipshape init [DIR]`: the first-time setup. Asks (or reads --answers), checks every answer live,
 * writes the project folder, shows the plan (the run's own `check`), applies it on consent with the
 * run's own progress, and ends with what to do next and the equivalent non-interactive command.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { InputError } from '../core/input-error.js';
import { addSecret } from '../core/redact.js';
import { builtinRolesDir, loadRoles } from '../playbook/index.js';
import { baseAnswers, type Answers } from '../wizard/answers.js';
import { SECRET_ENV, parseAnswersFile } from '../wizard/answers-file.js';
import { compareFiles, readProject, removeStaleTemps, writeChanges, type FileChange } from '../wizard/files.js';
import { WizardStop, runFlow } from '../wizard/flow.js';
import { FILES, answersFileText, answersFromProject, projectFiles } from '../wizard/project.js';
import { projectSchemas, schemaFiles } from './schema-command.js';
import { Interrupted, type Ui } from '../wizard/ui.js';
import { runCommand, type RunFlags } from './run-command.js';

export interface InitFlags {
  answers?: string;
  yes?: boolean;
  force?: boolean;
  acceptNewHostKeys?: boolean;
  color: boolean;
}

const say = (text: string) => process.stdout.write(`${text}\n`);

export async function initCommand(dirArg: string | undefined, flags: InitFlags): Promise<void> {
  const dir = resolve(dirArg ?? '.');
  const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY) && process.env.CI !== 'true';
  if (!flags.answers && !terminal) {
    throw new InputError('`shipshape init` without a terminal needs an answers file', {
      file: '--answers',
      hint: 'shipshape init DIR --answers answers.yml --yes   (a complete example answers file is in the README)',
    });
  }
  if (flags.answers && !terminal && !flags.yes) {
    throw new InputError('without a terminal nobody can confirm the plan: add --yes to apply it', { file: '--yes', hint: `shipshape init ${dirArg ?? '.'} --answers ${flags.answers} --yes` });
  }

  await removeStaleTemps(dir);
  const existing = await readProject(dir);
  const defaults = answersFromProject(existing);
  const roles = await loadRoles([join(dir, 'roles'), builtinRolesDir()]);

  let answers: Answers;
  let ui: Ui | undefined;
  if (flags.answers) {
    const text = await readFile(flags.answers, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new InputError(`cannot read the answers file: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { file: flags.answers });
    });
    answers = parseAnswersFile(flags.answers, text, defaults, roles);
    // refused before any host is contacted: the files it would replace
    const changes = await compareFiles(dir, [...projectFiles(answers, existing[FILES.gitignore]), ...schemaFiles(await projectSchemas(dir))]);
    const clash = changes.filter((c) => c.state === 'changed');
    if (clash.length && !flags.force) {
      throw new InputError(`these files exist with other content: ${clash.map((c) => c.path).join(', ')}`, {
        file: dir,
        hint: 'pass --force to replace them (your edits to them are lost), or change the answers to match them',
      });
    }
  } else {
    const { inquirerUi } = await import('../wizard/inquirer.js');
    ui = await inquirerUi();
    answers = baseAnswers(defaults);
    say(`shipshape init: set up ${dir === process.cwd() ? 'this folder' : dir} for a server. Every answer is checked on the server as you give it.`);
    say('Ctrl-C at any time stops without leaving a half-written file.');
    if (Object.keys(existing).length) say(`Found an earlier setup here: its answers are the defaults (enter keeps them).`);
    say('');
  }

  // secrets from the answers file, the environment or an earlier run are masked in all output
  for (const s of [answers.become_password, answers.backup_restic_password]) if (s) addSecret(s);
  try {
    await wizard(dir, answers, ui, roles, flags, existing[FILES.gitignore]);
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write('\nInterrupted: nothing more was written; run `shipshape init` again to continue.\n');
      process.exit(130);
    }
    if (err instanceof WizardStop) {
      process.stderr.write(`shipshape init: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

async function wizard(dir: string, given: Answers, ui: Ui | undefined, roles: Awaited<ReturnType<typeof loadRoles>>, flags: InitFlags, gitignore?: string): Promise<void> {
  const { answers, connected } = await runFlow({ dir, answers: given, ui, roles, acceptNewHostKeys: !!flags.acceptNewHostKeys, say });
  await connected.link.close();
  // for the equivalent command: the key the operator trusted, pinned
  answers.host_key_fingerprint = connected.hostKey.fingerprint;

  const changes = await compareFiles(dir, [...projectFiles(answers, gitignore), ...schemaFiles(await projectSchemas(dir))]);
  if (!(await mayWrite(changes, ui, !!flags.force))) {
    say('Nothing written. (Pass --force to replace files that differ.)');
    return;
  }
  await writeChanges(dir, changes);
  say('');
  for (const c of changes) say(`${c.state === 'same' ? '  unchanged' : c.state === 'new' ? '  written  ' : '  updated  '} ${c.path}${c.mode === 0o600 ? ' (owner-only; named by .gitignore)' : ''}`);
  if (connected.notes.some((n) => n.includes(FILES.knownHosts))) say(`  recorded  ${FILES.knownHosts}`);

  const inventory = join(dir, 'inventory');
  const playbook = join(dir, FILES.playbook);
  const runFlags: RunFlags = { inventory, forks: 10, extraVars: [], yes: true, color: flags.color, guardTimeout: 120, updateInventory: true };
  say(`\nThe plan (shipshape check ${FILES.playbook} -i inventory/):`);
  const check = await run('check', playbook, runFlags);
  if (check === 0) {
    say('\nThe server already matches: nothing to apply.');
  } else if (check !== 2) {
    process.exitCode = check;
    say(`\nThe check did not succeed (exit ${check}); fix what it says and run \`shipshape init\` again: the files are kept.`);
    return;
  } else {
    // --answers on a terminal without --yes: the answers are taken as given, the plan is still confirmed
    const asker = ui ?? (!flags.yes && process.stdin.isTTY && process.stdout.isTTY ? await (await import('../wizard/inquirer.js')).inquirerUi() : undefined);
    const go = flags.yes || (asker ? await asker.confirm({ message: `Apply this to ${answers.name} (${answers.host}) now?`, default: true }) : false);
    if (!go) {
      say(`\nNot applied. When you are ready: cd ${shown(dir)} && shipshape apply ${FILES.playbook} -i inventory/`);
      printEquivalent(dir, answers);
      return;
    }
    say('');
    const applied = await run('apply', playbook, runFlags);
    if (applied !== 0) {
      process.exitCode = applied;
      say(`\nThe apply did not finish cleanly (exit ${applied}); what failed is above. Fix it and run again: cd ${shown(dir)} && shipshape apply ${FILES.playbook} -i inventory/`);
      return;
    }
  }
  nextSteps(dir, answers);
  printEquivalent(dir, answers);
}

/** A changed file is replaced only with --force or a yes on the terminal, after showing which. */
async function mayWrite(changes: FileChange[], ui: Ui | undefined, force: boolean): Promise<boolean> {
  const clash = changes.filter((c) => c.state === 'changed');
  if (!clash.length || force) return true;
  if (!ui) return false;
  say(`\nThese files exist and your answers change them: ${clash.map((c) => c.path).join(', ')}`);
  return ui.confirm({ message: 'Replace them (your own edits to them are lost)?', default: false });
}

async function run(mode: 'check' | 'apply', playbook: string, flags: RunFlags): Promise<number> {
  const before = process.exitCode;
  await runCommand(mode, playbook, flags);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return code;
}

function shown(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel === '' ? '.' : rel.startsWith('..') ? dir : rel;
}

function nextSteps(dir: string, a: Answers): void {
  const port = a.port !== 22 ? ` -p ${a.port}` : '';
  const key = a.identity_file ? ` -i ${a.identity_file}` : '';
  say('\nDone. Next:');
  say(`  log in:      ssh${key}${port} -o UserKnownHostsFile=${join(shown(dir), FILES.knownHosts)} ${a.deploy_user}@${a.host}   (root and passwords are refused now)`);
  say(`  drift check: cd ${shown(dir)} && shipshape check ${FILES.playbook} -i inventory/    (exit 0: nothing changed)`);
  say(`  re-apply:    cd ${shown(dir)} && shipshape apply ${FILES.playbook} -i inventory/`);
  for (const s of a.caddy_sites) say(`  site:        https://${s.domain}/`);
  say(`  files:       ${shown(dir)}/{inventory/hosts.yml, inventory/group_vars/all.yml, inventory/known_hosts, playbooks/site.yml}: commit them`);
}

/** What `gh auth login` does: the same thing without questions. Secrets stay out of it. */
function printEquivalent(dir: string, a: Answers): void {
  say(`\nThe same without questions: save this as answers.yml and run \`shipshape init ${shown(dir)} --answers answers.yml --yes\``);
  for (const line of answersFileText(a).trimEnd().split('\n')) say(`  ${line}`);
  for (const k of ['become_password', 'backup_restic_password'] as const) {
    if (a[k]) say(`  # ${k}: not shown; set ${SECRET_ENV[k]} in the environment (or keep ${FILES.secrets})`);
  }
}

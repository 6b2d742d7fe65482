/**
 * The command line each run is started with, and the script that kills a run on timeout.
 *
 * Every run carries SHIPSHAPE_RUN=<id> in its environment, inherited by everything the script
 * starts. That is how a timeout finds its processes again: sshd neither forwards our close nor
 * kills the session (it waits for the child, and for whoever still holds its stdout), and ssh2
 * cannot send a signal once stdin is closed, so killing needs a second channel that looks for the id.
 */
import { randomBytes } from 'node:crypto';
import { shq as shQuote } from '../core/quote.js';

export interface RunTokens {
  /** sudo prompt to watch for on stderr */
  prompt: string;
  /** printed on stderr by the root shell once it is up */
  marker: string;
  /** value of SHIPSHAPE_RUN in the run's environment */
  runId: string;
}

/** Random per run so neither a script nor sudo can produce them by accident. */
export function newRunTokens(): RunTokens {
  const id = randomBytes(12).toString('hex');
  // No `%` in the prompt: sudo expands %u, %h, ... in it.
  return { prompt: `[shipshape-sudo-${id}] `, marker: `SHIPSHAPE_BECOME_READY_${id}`, runId: id };
}

/**
 * - plain: `env` rather than `VAR=x cmd`, because the login shell that parses this may not be sh.
 * - sudo: the marker is printed by the root shell itself, so seeing it proves sudo succeeded;
 *   the variable is set after sudo, whose env_reset would drop it.
 *   Without a password, `-n` makes a missing NOPASSWD fail at once instead of prompting.
 */
export function runCommand(tokens: RunTokens, become: 'none' | 'sudo' | 'sudo-password'): string {
  if (become === 'none') return `env SHIPSHAPE_RUN=${tokens.runId} sh -s`;
  // sudo's env_reset drops SSH_CONNECTION; it is passed as an argument so plans know the controller's address.
  // This shell is sh: it exports the run id itself (an `env` in front of `sh -s` was one more program per login)
  const inner = `printf '%s\\n' ${shQuote(tokens.marker)} >&2; SSH_CONNECTION="$1"; SHIPSHAPE_RUN=${tokens.runId}; export SSH_CONNECTION SHIPSHAPE_RUN; exec sh -s`;
  const auth = become === 'sudo-password' ? `-S -p ${shQuote(tokens.prompt)}` : '-n';
  return `sudo ${auth} -- sh -c ${shQuote(inner)} shipshape "$SSH_CONNECTION"`;
}

/**
 * Kill every process whose environment holds the run id (Linux /proc). Two passes catch children
 * forked while the first pass ran. The script's own shell does not match: the id is in its text,
 * not its environment.
 */
export function killScript(runId: string): string {
  return [...killRunLines(shQuote(`SHIPSHAPE_RUN=${runId}`)), 'exit 0', ''].join('\n');
}

/**
 * The kill loop, for a run id known only on the host: `word` is a shell word that expands to
 * `SHIPSHAPE_RUN=<id>` (the guard's revert stops an apply that outlived its controller this way).
 */
export function killRunLines(word: string): string[] {
  return [
    'for pass in 1 2; do',
    '  for d in /proc/[0-9]*; do',
    `    if tr '\\000' '\\n' < "$d/environ" 2>/dev/null | grep -qx ${word}; then kill -KILL "\${d#/proc/}" 2>/dev/null; fi`,
    '  done',
    'done',
  ];
}

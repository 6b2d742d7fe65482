import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';

/**
 * The exit status of a read-only check command (command's `unless`), run the way the task would
 * run: by sh, in `chdir` when given. A chdir that does not exist yet counts as the check failing,
 * so the task is planned to run (an earlier task may create the directory). It runs operator code,
 * so `check` never runs it (see Probe.operatorCode).
 */
export function checkStatus(cmd: string, chdir?: string) {
  // a subshell only to change directory: sh -c alone leaves the batch's shell where it was
  const run = chdir ? `(cd ${shq(chdir)} && sh -c ${shq(cmd)})` : plainCommand(cmd) ? cmd : `sh -c ${shq(cmd)}`;
  return probe<number>(
    `status:${JSON.stringify([chdir ?? null, cmd])}`,
    `${run} >/dev/null 2>&1\necho $?`,
    (out) => {
      const code = Number(out.trim());
      return out.trim() === '' || !Number.isInteger(code) ? 255 : code;
    },
    { operatorCode: true, inline: true },
  );
}

/**
 * Words a simple command may be made of and mean the same in the batch's shell as in `sh -c`: bare words
 * without expansion, glob, quote-removal or operator characters, and single-quoted strings (taken literally
 * by both). A simple command of only such words needs no shell of its own: `sh -c` would parse it and run
 * the same program with the same arguments, environment (only exported variables reach a program), umask,
 * directory and stdin. It saves the shell (awk ... as 1 process instead of 2, `command -v docker` as none).
 */
const PLAIN_WORD = /(?:[A-Za-z0-9_./:=+,@%-]+|'[^']*')+/y;
const BLANKS = /[ \t]+/y;

/** The command's words when it is made of plain words only (see PLAIN_WORD); undefined otherwise. */
function plainWords(cmd: string): string[] | undefined {
  const words: string[] = [];
  let at = 0;
  const text = cmd.trim();
  while (at < text.length) {
    BLANKS.lastIndex = at;
    if (BLANKS.exec(text)) at = BLANKS.lastIndex;
    PLAIN_WORD.lastIndex = at;
    const m = PLAIN_WORD.exec(text);
    if (!m) return undefined;
    words.push(m[0]);
    at = PLAIN_WORD.lastIndex;
    // a word ends at a blank: anything else glued to it (a quote, an operator) is not plain
    if (at < text.length && !/[ \t]/.test(text[at]!)) return undefined;
  }
  return words.length ? words : undefined;
}

/**
 * First words that would act on the batch's own shell (its directory, variables, options, traps, limits,
 * jobs, flow) or are not commands at all: those keep their own `sh -c`. A program, or a builtin that only
 * answers (command -v, test, printf, echo, kill, type), runs the same in either shell.
 */
const SHELL_STATE = new Set(
  ('if then else elif fi do done case esac while until for in function select time ' +
    'alias unalias bg fg jobs break continue cd chdir eval exec exit export readonly local return set shift unset ' +
    'getopts read trap umask ulimit hash wait fc times source .').split(' '),
);

/** The command can run in the batch's shell as it is, meaning what `sh -c` would (see PLAIN_WORD). */
export function plainCommand(cmd: string): boolean {
  const words = plainWords(cmd);
  if (!words) return false;
  // `command NAME ...` runs NAME (a builtin too: \`command cd\` would move the batch's shell); -v and -V only look it up
  let i = 0;
  while (words[i] === 'command' && i + 1 < words.length) {
    i++;
    while (words[i] === '-p') i++;
    if (words[i] === '-v' || words[i] === '-V') return true;
  }
  const first = words[i]!;
  // an assignment would set the batch's variable; the engine's own functions are named __ss_*
  return !SHELL_STATE.has(first) && !first.includes('=') && !first.startsWith("'") && !first.startsWith('__ss_');
}

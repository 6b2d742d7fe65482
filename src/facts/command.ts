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
  const run = chdir ? `(cd ${shq(chdir)} && sh -c ${shq(cmd)})` : `sh -c ${shq(cmd)}`;
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

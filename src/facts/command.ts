import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';

/**
 * The exit status of a read-only check command (command's `unless`), run the way the task would
 * run: by sh, in `chdir` when given. A chdir that does not exist yet counts as the check failing,
 * so the task is planned to run (an earlier task may create the directory). It runs operator code,
 * so `check` never runs it (see Probe.operatorCode).
 */
export function checkStatus(cmd: string, chdir?: string) {
  const cd = chdir ? `cd ${shq(chdir)} && ` : '';
  return probe<number>(`status:${JSON.stringify([chdir ?? null, cmd])}`, `(${cd}sh -c ${shq(cmd)}) >/dev/null 2>&1\necho $?`, (out) => {
    const code = Number(out.trim());
    return out.trim() === '' || !Number.isInteger(code) ? 255 : code;
  }, { operatorCode: true });
}

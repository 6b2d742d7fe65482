/**
 * apt's network phases under one overall bound (`--apt-timeout`): `apt-get update` and the `--download-only`
 * fetch of a play's packages. A mirror or proxy that accepts a connection and then never answers (or closes
 * it in a way apt's http method does not notice) held a run for 15 minutes and more: apt's own
 * Acquire::http::Timeout is an idle timer of one wait inside a request, re-armed by every event (apt-get's
 * own messages to the method included) and with Acquire::Retries (3 by default since apt 2.3.2) a timed-out
 * item is simply asked for again; neither bounds the whole fetch.
 *
 * The bound is coreutils `timeout` around that one apt-get, on the host: it kills the remote process
 * itself (closing the SSH channel would not), and with it apt's methods (timeout signals its whole process
 * group). Only phases that never start dpkg are bounded: killing an install half-way through unpacking
 * would leave dpkg half-configured. A killed update or download leaves at most a partial file in apt's
 * `partial/` directories, which the next run resumes or replaces.
 */
import { shq } from '../core/quote.js';

/** Generous for a slow mirror: at 1 Mbit/s, about 110 MB (a first run's packages) in 15 minutes. */
export const DEFAULT_APT_TIMEOUT = 900;

/** `timeout`'s status when it stopped the command (124), or had to KILL it after TERM (128 + 9). */
export const TIMED_OUT = 124;

/** One apt-get: its `-o` options (also what apt-config reads) and the rest of its words, both already shell words. */
export interface AptCall {
  options: string;
  command: string;
}

/**
 * Shell lines that run `apt-get OPTIONS COMMAND` under the bound. On success or apt's own failure, `$out` holds
 * apt's output and `$rc` its status, and the lines go on; on the bound, they print apt's output and a report
 * naming what apt was waiting for, and the step ends with status 124. `what` names the phase ("apt-get update").
 */
export function boundedApt(call: AptCall, seconds: number, what: string): string[] {
  return [
    `rc=0; out=$(timeout -k 10 ${seconds} apt-get ${call.options} ${call.command} 2>&1) || rc=$?`,
    `if [ "$rc" -eq ${TIMED_OUT} ] || [ "$rc" -eq 137 ]; then`,
    `  [ -z "$out" ] || printf '%s\\n' "$out"`,
    ...noAnswerReport(call, seconds, what).map((l) => `  ${l}`),
    `  exit ${TIMED_OUT}`,
    'fi',
  ];
}

/**
 * What apt was fetching from, in apt's own words: the servers of the URIs it would fetch (`--print-uris`
 * fetches nothing) and the proxy it goes through (`apt-config shell` quotes the value), each without its
 * `user:password@`: the report is printed and kept in --json. Read only when the bound was hit: a run that
 * works pays nothing for it.
 */
function noAnswerReport(call: AptCall, seconds: number, what: string): string[] {
  return [
    `sites=$(apt-get --print-uris ${call.options} ${call.command} 2>/dev/null | sed -n "s|^'\\([a-z+]*://\\)\\([^/'@]*@\\)*\\([^/']*\\).*|\\1\\3|p" | sort -u | tr '\\n' ' ')`,
    `P=; eval "$(apt-config ${call.options} shell P Acquire::http::Proxy 2>/dev/null)"`,
    `case $P in *://*@*) P="\${P%%://*}://\${P##*@}" ;; esac`,
    `case $P in ''|DIRECT|false) via= ;; *) via=" through the proxy $P" ;; esac`,
    `printf '%s did not finish within %ss (--apt-timeout): no answer, or too slow, from %s%s. Stopped it before anything was installed (dpkg did not run). Check that mirror or proxy, or give a slow one more time with --apt-timeout.\\n' ${shq(what)} ${seconds} "\${sites% }" "$via"`,
  ];
}

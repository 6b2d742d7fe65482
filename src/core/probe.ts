/**
 * A fact probe: a read-only sh fragment and a parser for what it prints on stdout.
 * Probes never change a host. The engine batches every probe a play needs into one script,
 * so `id` must identify the question (two modules asking the same thing share one run).
 */
export interface Probe<T = unknown> {
  id: string;
  script: string;
  parse(stdout: string, exitCode: number): T;
  /**
   * Set when the script runs a command the playbook wrote (command's `unless`): nothing proves it
   * read-only, so `check` never runs it and the plan sees the fact as undefined.
   */
  operatorCode?: true;
}

export function probe<T>(id: string, script: string, parse: (stdout: string, exitCode: number) => T, opts: { operatorCode?: true } = {}): Probe<T> {
  return { id, script, parse, ...opts };
}

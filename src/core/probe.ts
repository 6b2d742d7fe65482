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
  /**
   * The script may run in the batch's own shell instead of a subshell (one process less per probe):
   * it never calls `exit` or `cd`, and any variable it sets is its own (set before it is read).
   */
  inline?: true;
  /**
   * Gathered together with every other probe of the same batcher in one command (one `stat` for all
   * paths, one `systemctl show` for all units...). `script` stays the probe's answer on its own.
   */
  batch?: { batcher: Batcher; key: string };
  /**
   * What the script costs on the host, roughly, in ms (measured on a small Debian 13 host: 2 cores, the site
   * provisioned); unset: DEFAULT_COST (builtins and a small program or two). The probe part runs in two lanes
   * at once, the script's own shell and one background child (src/core/lanes.ts), and this is what splits
   * them evenly. Any probe may run in either lane: it reads nothing an earlier section set and leaves nothing
   * a later one reads (an inline script's variables are its own, any other runs in a subshell), so where it
   * runs changes only when its answer arrives. Only the operator's code keeps to the script's own shell.
   */
  cost?: number;
  /**
   * Answered from other probes: each part is asked as a probe of its own, so it is shared by id with every
   * other asker and batched where it batches (one iptables dump for ufw and Docker, one file dump for every
   * set of files...). `join` rebuilds from the parts' answers the text `script` prints on its own, so the
   * parser stays one pure function of that text. `script` stays the probe's answer on its own; `cost` and
   * `inline` belong on the parts.
   */
  compose?: { parts: Probe[]; join(outs: Answer[]): Answer };
}

/** What a probe's script printed on stdout, and its exit code. */
export interface Answer {
  stdout: string;
  code: number;
}

/**
 * Reads many keys of one kind at once. `split` hands each key what the probe's own script would have
 * printed (and its exit code), so a probe's parser is the same pure function of text either way.
 */
export interface Batcher {
  /** names the batched section; one batcher per kind of question */
  id: string;
  /** one sh fragment for all keys (deduplicated, in first-asked order); inline-safe: no `exit`, no `cd` */
  script(keys: string[]): string;
  /** one output per key, in the order of `keys` */
  split(stdout: string, exitCode: number, keys: string[]): Answer[];
  /** as a probe's `cost`, for these keys (systemctl show, say, costs by the unit) */
  cost?(keys: string[]): number;
}

export function probe<T>(
  id: string,
  script: string,
  parse: (stdout: string, exitCode: number) => T,
  opts: { operatorCode?: true; inline?: true; batch?: { batcher: Batcher; key: string }; cost?: number; compose?: Probe['compose'] } = {},
): Probe<T> {
  return { id, script, parse, ...opts };
}

/** The probes a script runs for these: composed ones replaced by their parts (each id once, first-asked order). */
export function leafProbes(probes: Iterable<Probe>): Probe[] {
  const seen = new Map<string, Probe>();
  const add = (p: Probe) => {
    if (p.compose) p.compose.parts.forEach(add);
    else if (!seen.has(p.id)) seen.set(p.id, p);
  };
  for (const p of probes) add(p);
  return [...seen.values()];
}

/** A probe's answer from its leaves' answers; undefined when a part has none (the script stopped early). */
export function answerOf(p: Probe, leaves: Map<string, Answer>): Answer | undefined {
  if (!p.compose) return leaves.get(p.id);
  const outs: Answer[] = [];
  for (const part of p.compose.parts) {
    const a = answerOf(part, leaves);
    if (!a) return undefined;
    outs.push(a);
  }
  return p.compose.join(outs);
}

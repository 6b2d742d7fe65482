import { posix } from 'node:path';
import { shJoin, shq } from './quote.js';
import { SAFE_PATH_LIB } from './safe-path.js';

/**
 * Commands are data: a module's plan returns steps, the engine renders them into one script,
 * and only the transport runs it. Tests compare steps, never run them.
 */
export type Step =
  /** run a program; a non-zero exit fails the task */
  | { kind: 'run'; argv: string[]; input?: string; env?: Record<string, string> }
  /**
   * replace a file atomically: write a temporary file beside it, set mode/owner, run `validate`
   * (with %s standing for the temporary path) and only then rename it over the live one. Never
   * through a link another user controls, never as root in a directory another user owns (safe-path.ts)
   */
  | ({
      kind: 'write';
      path: string;
      mode?: string;
      owner?: string;
      group?: string;
      validate?: string;
    } & (
      | { content: string; from?: never }
      /**
       * the content is what this program prints (a download): it runs as root into a private directory
       * of root's first, so a failure writes nothing and nobody can swap the file while it is written
       */
      | { from: string[]; content?: never }
    ))
  /**
   * a command on one path (appended as its last argument: end argv with `--`), never through a link another user
   * controls: run as the user who controls the path's directory (root when only root does); with
   * `root`, as root by name inside that directory, for commands that never follow the name (chown -h).
   * A link at the path itself owned by another user is refused unless `nofollow` (rm, ln -sfn).
   * With `into`, the path is a directory the command writes below (tar -C): it runs as whoever controls that
   * directory itself, so a link planted inside it can only send the command where that user may write anyway.
   */
  | { kind: 'path'; path: string; argv: string[]; root?: boolean; nofollow?: boolean; into?: boolean }
  /** a raw POSIX sh fragment, for what argv cannot say (pipes, redirections); say why in `why` */
  | { kind: 'sh'; script: string; why: string };

export const run = (argv: string[], extra: { input?: string; env?: Record<string, string> } = {}): Step => ({
  kind: 'run',
  argv,
  ...extra,
});

export const sh = (script: string, why: string): Step => ({ kind: 'sh', script, why });

export function renderStep(step: Step): string {
  switch (step.kind) {
    case 'run': {
      const env = Object.entries(step.env ?? {}).map(([k, v]) => `${k}=${shq(v)}`);
      const cmd = (env.length ? ['env', ...env].join(' ') + ' ' : '') + shJoin(step.argv);
      return step.input === undefined ? cmd : `printf '%s' ${shq(step.input)} | ${cmd}`;
    }
    case 'sh':
      // its own subshell: an `exit 0` that ends the fragment early must not end the task's later steps
      return `(\n${step.script}\n)`;
    case 'write':
      return renderWrite(step);
    case 'path':
      return renderPath(step);
  }
}

/** Paths a step touches on the host, with the same checks the write step makes (see safe-path.ts). */
export const onPath = (path: string, argv: string[], o: { root?: boolean; nofollow?: boolean; into?: boolean } = {}): Step => ({ kind: 'path', path, argv, ...o });

function renderPath(step: Extract<Step, { kind: 'path' }>): string {
  // the directory itself is walked: its owner (or the owner of one above it) acts; a link at it is refused by the walk
  if (step.into) return [SAFE_PATH_LIB, `__ss_owner ${shq(step.path)}`, `__ss_run ${shJoin(step.argv)} "$__ss_dir"`].join('\n');
  const base = posix.basename(step.path);
  const lines = [SAFE_PATH_LIB, `__ss_owner ${shq(posix.dirname(step.path))}`, `__ss_p="$__ss_dir"/${shq(base)}`];
  if (!step.nofollow) {
    lines.push(
      `if [ -L "$__ss_p" ] && [ "$(stat -c %u -- "$__ss_p")" != 0 ]; then echo "refused: $__ss_p is a symbolic link owned by $(stat -c %U -- "$__ss_p"), not root; root does not follow it, and nothing was changed" >&2; exit 1; fi`,
    );
  }
  lines.push(step.root ? `__ss_root ${shJoin(step.argv)} ${shq(`./${base}`)}` : `__ss_run ${shJoin(step.argv)} "$__ss_p"`);
  return lines.join('\n');
}

function renderWrite(step: Extract<Step, { kind: 'write' }>): string {
  const name = shq(`./${posix.basename(step.path)}`);
  const lines = [
    SAFE_PATH_LIB,
    // who may act in the target's directory; the temporary file sits there so the final mv is an
    // atomic rename, and it is made by that user: a swap can only send it where that user may write
    `__ss_owner ${shq(posix.dirname(step.path))}`,
    `__ss_p="$__ss_dir"/${shq(posix.basename(step.path))}`,
    ...(step.from
      ? [
          `__ss_src=$(mktemp -d /var/tmp/.shipshape-from.XXXXXX) || exit 1`,
          `trap 'rm -rf "$__ss_src"' EXIT`,
          `${shJoin(step.from)} > "$__ss_src/content" || exit 1`,
          `__ss_tmp=$(__ss_run sh -c 'umask 077 && t=$(mktemp "$1/.shipshape.XXXXXX") && cat > "$t" && printf %s "$t"' sh "$__ss_dir" < "$__ss_src/content")`,
          `trap 'rm -rf "$__ss_src"; __ss_run rm -f "$__ss_tmp"' EXIT`,
        ]
      : [
          `__ss_tmp=$(printf '%s' ${shq(step.content)} | __ss_run sh -c 'umask 077 && t=$(mktemp "$1/.shipshape.XXXXXX") && cat > "$t" && printf %s "$t"' sh "$__ss_dir")`,
          `trap '__ss_run rm -f "$__ss_tmp"' EXIT`,
        ]),
    `[ -n "$__ss_tmp" ] || { echo ${shq(`cannot write a temporary file beside ${step.path}`)} >&2; exit 1; }`,
    `__ss_t=./\${__ss_tmp##*/}`,
  ];
  if (step.mode) lines.push(`__ss_run chmod ${shq(step.mode)} "$__ss_tmp"`);
  else lines.push(`if [ -e "$__ss_p" ]; then __ss_run chmod --reference="$__ss_p" "$__ss_tmp"; else __ss_run chmod 0644 "$__ss_tmp"; fi`);
  // ownership as root, by name inside the checked directory and never through a link (-h); whatever
  // half is not given is kept from the live file; a new file in another user's directory is root's
  lines.push(
    `if [ -e "$__ss_p" ]; then __ss_root chown -h --reference=${name} -- "$__ss_t"; elif [ "$__ss_as" != 0:0 ] && [ "$(id -u)" = 0 ]; then __ss_root chown -h 0:0 -- "$__ss_t"; fi`,
  );
  if (step.owner || step.group) {
    lines.push(`__ss_root chown -h ${shq(`${step.owner ?? ''}${step.group ? ':' + step.group : ''}`)} -- "$__ss_t"`);
  }
  if (step.validate) {
    const cmd = step.validate.split('%s').join('"$__ss_t"');
    lines.push(`if ! __ss_root eval ${shq(cmd)}; then echo ${shq(`validation failed: ${step.validate}`)} >&2; exit 1; fi`);
  }
  lines.push(`__ss_run mv -fT -- "$__ss_tmp" "$__ss_p"`, ...(step.from ? ['rm -rf "$__ss_src"'] : []), `trap - EXIT`);
  return lines.join('\n');
}

/** A one-line human description of a step, for --diff/--json output and check mode. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'run':
      return shJoin(step.argv);
    case 'sh':
      return step.why;
    case 'path':
      return shJoin([...step.argv, step.path]);
    case 'write':
      return `write ${step.path}${step.from ? ` from ${shJoin(step.from)}` : ''}${step.mode ? ` mode ${step.mode}` : ''}${step.owner ? ` owner ${step.owner}` : ''}${step.validate ? ` (validated: ${step.validate})` : ''}`;
  }
}

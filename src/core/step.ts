import { shJoin, shq } from './quote.js';

/**
 * Commands are data: a module's plan returns steps, the engine renders them into one script,
 * and only the transport runs it. Tests compare steps, never run them.
 */
export type Step =
  /** run a program; a non-zero exit fails the task */
  | { kind: 'run'; argv: string[]; input?: string; env?: Record<string, string> }
  /**
   * replace a file atomically: write a temporary file beside it, set mode/owner, run `validate`
   * (with %s standing for the temporary path) and only then rename it over the live one
   */
  | {
      kind: 'write';
      path: string;
      content: string;
      mode?: string;
      owner?: string;
      group?: string;
      validate?: string;
    }
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
      return step.script;
    case 'write':
      return renderWrite(step);
  }
}

function renderWrite(step: Extract<Step, { kind: 'write' }>): string {
  const p = shq(step.path);
  const lines = [
    // same directory as the target so the final mv is an atomic rename on one filesystem
    `__ss_tmp=$(mktemp "$(dirname ${p})/.shipshape.XXXXXX")`,
    `trap 'rm -f "$__ss_tmp"' EXIT`,
    `printf '%s' ${shq(step.content)} > "$__ss_tmp"`,
  ];
  if (step.mode) lines.push(`chmod ${shq(step.mode)} "$__ss_tmp"`);
  else lines.push(`if [ -e ${p} ]; then chmod --reference=${p} "$__ss_tmp"; else chmod 0644 "$__ss_tmp"; fi`);
  // whatever half of the ownership is not given is kept from the live file
  lines.push(`if [ -e ${p} ]; then chown --reference=${p} "$__ss_tmp"; fi`);
  if (step.owner || step.group) {
    lines.push(`chown ${shq(`${step.owner ?? ''}${step.group ? ':' + step.group : ''}`)} "$__ss_tmp"`);
  }
  if (step.validate) {
    const cmd = step.validate.split('%s').join('"$__ss_tmp"');
    lines.push(`if ! ${cmd}; then echo ${shq(`validation failed: ${step.validate}`)} >&2; exit 1; fi`);
  }
  lines.push(`mv -f "$__ss_tmp" ${p}`, `trap - EXIT`);
  return lines.join('\n');
}

/** A one-line human description of a step, for --diff/--json output and check mode. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'run':
      return shJoin(step.argv);
    case 'sh':
      return step.why;
    case 'write':
      return `write ${step.path}${step.mode ? ` mode ${step.mode}` : ''}${step.owner ? ` owner ${step.owner}` : ''}${step.validate ? ` (validated: ${step.validate})` : ''}`;
  }
}

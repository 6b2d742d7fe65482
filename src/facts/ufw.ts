import { probe } from '../core/probe.js';

export interface UfwState {
  installed: boolean;
  active: boolean;
  /** policies as ufw's commands name them: deny | allow | reject */
  defaults: { incoming?: string; outgoing?: string; routed?: string };
  ipv6: boolean;
  /** rules in ufw's own command form, as `ufw show added` prints them: "allow 22/tcp" */
  rules: string[];
}

const POLICY: Record<string, string> = { DROP: 'deny', ACCEPT: 'allow', REJECT: 'reject' };

/** `ufw show added` reads the rule files, so it works before ufw is enabled, unlike `ufw status`. */
export const ufwState = probe<UfwState>(
  'ufw:state',
  [
    'command -v ufw >/dev/null || exit 0',
    'echo installed',
    'ufw status | head -n 1',
    "grep -E '^(DEFAULT_INPUT_POLICY|DEFAULT_OUTPUT_POLICY|DEFAULT_FORWARD_POLICY|IPV6)=' /etc/default/ufw",
    'echo --rules--',
    'ufw show added',
  ].join('\n'),
  parseUfw,
);

export function parseUfw(out: string): UfwState {
  const lines = out.split('\n');
  if (lines[0] !== 'installed') return { installed: false, active: false, defaults: {}, ipv6: true, rules: [] };
  const kv: Record<string, string> = {};
  for (const l of lines) {
    const m = /^([A-Z_0-9]+)="?([^"]*)"?$/.exec(l);
    if (m) kv[m[1]] = m[2];
  }
  const at = lines.indexOf('--rules--');
  const rules = lines
    .slice(at + 1)
    .filter((l) => l.startsWith('ufw '))
    .map((l) => l.slice(4).trim());
  return {
    installed: true,
    active: /^Status: active/.test(lines[1] ?? ''),
    defaults: {
      incoming: POLICY[kv.DEFAULT_INPUT_POLICY],
      outgoing: POLICY[kv.DEFAULT_OUTPUT_POLICY],
      routed: POLICY[kv.DEFAULT_FORWARD_POLICY],
    },
    ipv6: kv.IPV6 !== 'no',
    rules,
  };
}

import { z } from 'zod';
import { defineModule, type Plan } from '../../src/core/module.js';
import { run } from '../../src/core/step.js';
import { ufwState, type UfwState } from '../../src/facts/ufw.js';

const schema = z
  .object({
    ports: z.array(z.string().regex(/^\d{1,5}\/(tcp|udp)$/, 'a port like "443/tcp"')).min(1).default(['80/tcp', '443/tcp']),
  })
  .strict();

type Args = z.infer<typeof schema>;

export const CADDY_COMMENT = 'caddy by shipshape';

/**
 * Caddy's ports allowed by ufw when ufw filters. Only adds `allow PORT/PROTO` rules, in the exact form
 * the firewall role declares them (so that role sees them as its own); never enables ufw, changes a
 * policy or removes a rule: the firewall as a whole belongs to the firewall role.
 */
export default defineModule({
  name: 'caddy_firewall',
  summary: "Allow Caddy's ports (80/tcp, 443/tcp) in ufw when ufw is active; nothing else about the firewall",
  schema,
  facts: () => ({ ufw: ufwState }),
  plan: (a: Args, { ufw }: { ufw: UfwState }) => planPorts(a, ufw),
});

function planPorts(a: Args, ufw: UfwState): Plan {
  const list = a.ports.join(', ');
  if (!ufw.installed) return { steps: [], reason: `ufw is not installed, so nothing on this host filters ${list} (a provider's firewall may: open them there)` };
  if (!ufw.active) return { steps: [], reason: `ufw is inactive, so it does not filter ${list}` };
  const missing = a.ports.filter((p) => !ufw.rules.some((r) => allows(r, p)));
  if (!missing.length) return { steps: [], reason: `ufw allows ${list}` };
  return {
    // the comment marks them as shipshape's: the firewall role keeps them instead of removing them as foreign
    steps: missing.map((p) => run(['ufw', 'allow', p, 'comment', CADDY_COMMENT])),
    reason: `allow ${missing.join(', ')} in ufw (Caddy serves HTTP and HTTPS there, and ACME validation connects to them)`,
    diff: [{ subject: 'ufw', before: ufw.rules.map((r) => `rule: ${r}\n`).join(''), after: [...ufw.rules, ...missing.map((p) => `allow ${p} comment '${CADDY_COMMENT}'`)].map((r) => `rule: ${r}\n`).join('') }],
  };
}

/** Does a rule as `ufw show added` prints it open `port/proto` to everyone? ("allow 80", "allow 80:90/tcp", "limit 443/tcp") */
export function allows(rule: string, wanted: string): boolean {
  const m = /^(?:allow|limit)(?: in)? (\d+(?::\d+)?(?:,\d+(?::\d+)?)*)(?:\/(tcp|udp))?(?: comment '.*')?$/.exec(rule);
  if (!m) return false;
  const [port, proto] = wanted.split('/');
  if (m[2] && m[2] !== proto) return false;
  return m[1].split(',').some((spec) => {
    const [lo, hi = lo] = spec.split(':').map(Number);
    return Number(port) >= lo && Number(port) <= hi;
  });
}

import { z } from 'zod';
import { defineModule, type Plan } from '../../src/core/module.js';
import { run } from '../../src/core/step.js';
import { admits } from '../../src/facts/ufw-admits.js';
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
  // open to everyone, on each family ufw filters: the judgment every firewall check makes (admits), in ufw's order
  const families: (4 | 6)[] = ufw.ipv6 ? [4, 6] : [4];
  const verdicts = a.ports.map((p) => {
    const [port, proto] = p.split('/') as [string, 'tcp' | 'udp'];
    return { p, each: families.map((f) => admits(ufw.tuples, ufw.defaults.incoming, f, Number(port), proto, 'anyone')) };
  });
  // a deny or reject for everyone before any allow: the operator closed it on purpose (this module removes no
  // rule), and an allow added after it would open nothing (ufw's first match decides): said, not "fixed"
  const shut = verdicts.filter((v) => v.each.some((e) => !e.in && e.rule !== undefined));
  const closed = shut.map((v) => `${v.p} (${v.each.find((e) => !e.in && e.rule !== undefined)!.why})`);
  const missing = verdicts.filter((v) => !shut.includes(v) && v.each.some((e) => !e.in)).map((v) => v.p);
  const aside = closed.length ? `; left closed by the operator's rule: ${closed.join(', ')} (Caddy serves HTTP and HTTPS there, and ACME validation connects to them)` : '';
  if (!missing.length) return { steps: [], reason: closed.length ? `ufw allows ${verdicts.filter((v) => !shut.includes(v)).map((v) => v.p).join(', ') || 'none of them'}${aside}` : `ufw allows ${list}` };
  return {
    // the comment marks them as shipshape's: the firewall role keeps them instead of removing them as foreign
    steps: missing.map((p) => run(['ufw', 'allow', p, 'comment', CADDY_COMMENT])),
    reason: `allow ${missing.join(', ')} in ufw (Caddy serves HTTP and HTTPS there, and ACME validation connects to them)${aside}`,
    diff: [{ subject: 'ufw', before: ufw.rules.map((r) => `rule: ${r}\n`).join(''), after: [...ufw.rules, ...missing.map((p) => `allow ${p} comment '${CADDY_COMMENT}'`)].map((r) => `rule: ${r}\n`).join('') }],
  };
}

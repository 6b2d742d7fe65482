import { z } from 'zod';
import { defineModule, type Plan } from '../../src/core/module.js';
import { run, type Step } from '../../src/core/step.js';
import { admits, controllerPeer, familyOf } from '../../src/facts/ufw-admits.js';
import { ufwState, type UfwState } from '../../src/facts/ufw.js';

const schema = z
  .object({
    port: z.number().int().min(1).max(65535),
    /** the firewall role's ssh_allow_from (validated there): the port is opened only to these networks */
    from: z.array(z.string().min(1)).default([]),
  })
  .strict();

type Args = z.infer<typeof schema>;

/**
 * The SSH port opened in ufw before sshd moves there, when ufw is active and does not let the controller in on
 * it yet. Judged on ufw's state as the firewall role reads it (ufwState: active as `ufw status` says, the rules
 * of ufw's files) by the one firewall judgment (admits): the controller's own address and family, rules in
 * ufw's order. An IPv6-only rule does not count for an IPv4 controller, nor a rule for another source.
 * Never enables ufw or changes anything else: the firewall role owns the rule set.
 */
export default defineModule({
  name: 'ssh_firewall',
  summary: 'Open the SSH port in ufw when ufw is active and no rule lets it in yet (before sshd moves there)',
  schema,
  facts: () => ({ ufw: ufwState }),
  plan: (a: Args, { ufw }: { ufw: UfwState }, ctx): Plan => {
    if (!ufw.installed) return { steps: [], reason: `ufw is not installed, so it does not filter ${a.port}/tcp` };
    if (!ufw.active) return { steps: [], reason: `ufw is not active, so it does not filter ${a.port}/tcp` };
    const peer = controllerPeer(ctx.access, ctx.host);
    const now = admits(ufw.tuples, ufw.defaults.incoming, familyOf(ctx.access.client), a.port, 'tcp', peer);
    if (now.in) return { steps: [], reason: `ufw already lets this controller in on ${a.port}/tcp: ${now.why}` };
    return { steps: openPort(a.port, a.from), reason: `open ${a.port}/tcp in ufw before sshd listens there (ufw is active, and ${now.why})` };
  },
});

/** The SSH port's rules the way the firewall role declares them (same comment), so that role finds them as its own. */
export function openPort(port: number, from: string[]): Step[] {
  const comment = ['comment', 'shipshape ssh'];
  return from.length
    ? from.map((f) => run(['ufw', 'allow', 'from', f, 'to', 'any', 'port', String(port), 'proto', 'tcp', ...comment]))
    : [run(['ufw', 'allow', `${port}/tcp`, ...comment])];
}

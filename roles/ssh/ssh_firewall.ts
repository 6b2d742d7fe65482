import { z } from 'zod';
import { defineModule, type Plan } from '../../src/core/module.js';
import { probe } from '../../src/core/probe.js';
import { run, type Step } from '../../src/core/step.js';
import { iptablesDump } from '../../src/facts/iptables.js';
import { fileDump, parseSizedDump } from '../../src/facts/dump.js';

const schema = z
  .object({
    port: z.number().int().min(1).max(65535),
    /** the firewall role's ssh_allow_from (validated there): the port is opened only to these networks */
    from: z.array(z.string().min(1)).default([]),
  })
  .strict();

type Args = z.infer<typeof schema>;

const USER_RULES = '/etc/ufw/user.rules';

export interface SshFirewall {
  /** ufw's input chain is loaded: what `ufw status` calls active (iptables -n -L ufw-user-input succeeds) */
  active: boolean;
  /** the `### tuple ###` lines of user.rules (what `ufw show added` prints), IPv4's file */
  tuples: string[];
}

/**
 * Read from what the play reads anyway: the IPv4 table (one `iptables -S`, shared with ufw's and Docker's
 * facts) and user.rules (the play's one file dump). The `unless` this replaces started a shell, an
 * `iptables -L` and a `grep` of its own.
 */
export const sshFirewallState = probe<SshFirewall>(
  'ssh:firewall',
  [`iptables -w -n -L ufw-user-input >/dev/null 2>&1 && echo active`, `grep '^### tuple ###' ${USER_RULES} 2>/dev/null`].join('\n'),
  parseSshFirewall,
  {
    compose: {
      parts: [iptablesDump('iptables'), fileDump([USER_RULES])],
      join: ([table, dump]) => {
        const active = table.code === 0 && table.stdout.split('\n').includes('-N ufw-user-input');
        const rules = parseSizedDump(dump.stdout).find((f) => f.path === USER_RULES)?.content ?? '';
        const tuples = rules.split('\n').filter((l) => l.startsWith('### tuple ###'));
        return { stdout: [...(active ? ['active'] : []), ...tuples].map((l) => `${l}\n`).join(''), code: 0 };
      },
    },
  },
);

export function parseSshFirewall(out: string): SshFirewall {
  const lines = out.split('\n');
  return { active: lines[0] === 'active', tuples: lines.filter((l) => l.startsWith('### tuple ###')) };
}

/** A tuple that lets TCP `port` in, from anywhere or from some source: allow or limit, logged or not. */
export function letsIn(tuple: string, port: number): boolean {
  return new RegExp(`^### tuple ### (allow|limit)(_log|_log-all)? tcp ${port} `).test(tuple);
}

/**
 * The SSH port opened in ufw before sshd moves there, when ufw is active and no rule lets the port in yet.
 * Never enables ufw or changes anything else: the firewall role owns the rule set.
 */
export default defineModule({
  name: 'ssh_firewall',
  summary: 'Open the SSH port in ufw when ufw is active and no rule lets it in yet (before sshd moves there)',
  schema,
  facts: () => ({ fw: sshFirewallState }),
  plan: (a: Args, { fw }: { fw: SshFirewall }): Plan => {
    if (!fw.active) return { steps: [], reason: `ufw is not active, so it does not filter ${a.port}/tcp` };
    if (fw.tuples.some((t) => letsIn(t, a.port))) return { steps: [], reason: `a ufw rule already lets ${a.port}/tcp in` };
    return { steps: openPort(a.port, a.from), reason: `open ${a.port}/tcp in ufw before sshd listens there (ufw is active)` };
  },
});

/** The SSH port's rules the way the firewall role declares them (same comment), so that role finds them as its own. */
export function openPort(port: number, from: string[]): Step[] {
  const comment = ['comment', 'shipshape ssh'];
  return from.length
    ? from.map((f) => run(['ufw', 'allow', 'from', f, 'to', 'any', 'port', String(port), 'proto', 'tcp', ...comment]))
    : [run(['ufw', 'allow', `${port}/tcp`, ...comment])];
}

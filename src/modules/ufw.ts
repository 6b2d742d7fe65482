import { z } from 'zod';
import { defineModule, type AccessInfo } from '../core/module.js';
import { run, type Step } from '../core/step.js';
import { ufwState } from '../facts/ufw.js';

const ruleObject = z
  .object({
    rule: z.enum(['allow', 'deny', 'reject', 'limit']).default('allow'),
    port: z.union([z.string(), z.number().int()]).transform(String),
    proto: z.enum(['tcp', 'udp', 'any']).default('tcp'),
    from_ip: z.string().default('any'),
    comment: z.string().optional(),
  })
  .strict();

/** "443/tcp" is shorthand for {port: 443, proto: tcp}. */
const rule = z.union([
  z.string().regex(/^\d+(:\d+)?(\/(tcp|udp))?$/, 'a rule string looks like "443/tcp"').transform((s) => {
    const [port, proto = 'tcp'] = s.split('/');
    return ruleObject.parse({ port, proto });
  }),
  ruleObject,
]);

const schema = z
  .object({
    state: z.enum(['enabled', 'disabled']).default('enabled'),
    default_incoming: z.enum(['deny', 'allow', 'reject']).default('deny'),
    default_outgoing: z.enum(['deny', 'allow', 'reject']).default('allow'),
    rules: z.array(rule).default([]),
    /** remove rules that are on the host but not declared here */
    purge: z.boolean().default(false),
  })
  .strict();

/** what ufw keeps of its state: rules, policies, and whether it is enabled */
const UFW_FILES = ['/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/default/ufw', '/etc/ufw/ufw.conf'];
const UFW_RESTORE = "if grep -qi '^ENABLED=yes' /etc/ufw/ufw.conf; then ufw reload; else ufw --force disable; fi";

export type UfwRule = z.infer<typeof ruleObject>;

/** The rule in exactly the form `ufw show added` prints it, so declared and present rules compare as strings. */
export function canonicalRule(r: UfwRule): string {
  const proto = r.proto === 'any' ? '' : r.proto;
  const comment = r.comment ? ` comment '${r.comment}'` : '';
  if (r.from_ip === 'any') return `${r.rule} ${r.port}${proto ? '/' + proto : ''}${comment}`;
  return `${r.rule} from ${r.from_ip} to any port ${r.port}${proto ? ' proto ' + proto : ''}${comment}`;
}

/** ufw's command words for a canonical rule: "allow from X to any port 22 proto tcp" -> argv. */
function ruleArgv(canonical: string): string[] {
  const m = /^(.*?)(?: comment '(.*)')?$/.exec(canonical)!;
  return [...m[1].split(' '), ...(m[2] !== undefined ? ['comment', m[2]] : [])];
}

export default defineModule({
  name: 'ufw',
  summary: 'Declare the whole ufw firewall: default policies and the set of rules, enabled safely (SSH first)',
  schema,
  facts: () => ({ ufw: ufwState }),
  plan(a, { ufw }, ctx) {
    const wanted = a.rules.map(canonicalRule);
    if (a.state === 'enabled') {
      const lockout = sshLockout(a.rules, a.default_incoming, ctx.access);
      if (lockout) return { steps: [], reason: 'refused', fail: lockout };
    }
    if (a.state === 'disabled') {
      if (!ufw.active) return { steps: [], reason: 'ufw is installed and inactive' };
      return { steps: [run(['ufw', 'disable'])], reason: 'disable ufw' };
    }
    const steps: Step[] = [];
    const what: string[] = [];
    const present = new Set(ufw.rules);
    // rules first, defaults next, enable last: SSH is allowed before the policy can drop it
    for (const r of wanted.filter((w) => !present.has(w))) {
      steps.push(run(['ufw', ...ruleArgv(r)]));
      what.push(`add "${r}"`);
    }
    for (const [dir, want] of [['incoming', a.default_incoming], ['outgoing', a.default_outgoing]] as const) {
      if (ufw.defaults[dir] !== want) {
        steps.push(run(['ufw', 'default', want, dir]));
        what.push(`default ${dir} ${ufw.defaults[dir] ?? '?'} -> ${want}`);
      }
    }
    const extra = ufw.rules.filter((r) => !wanted.includes(r));
    if (a.purge) {
      for (const r of extra) {
        steps.push(run(['ufw', 'delete', ...ruleArgv(r)]));
        what.push(`remove undeclared "${r}"`);
      }
    }
    if (!ufw.active) {
      steps.push(run(['ufw', '--force', 'enable']));
      what.push('enable ufw');
    }
    const note = !a.purge && extra.length ? ` (not declared, kept: ${extra.map((r) => `"${r}"`).join(', ')}; purge removes them)` : '';
    if (!steps.length) return { steps, reason: `ufw active, defaults and ${wanted.length} rules as declared${note}` };
    return {
      steps,
      reason: what.join('; ') + note,
      diff: [{ subject: 'ufw', before: describe(ufw.active, ufw.defaults, ufw.rules), after: describe(true, { incoming: a.default_incoming, outgoing: a.default_outgoing }, a.purge ? wanted : [...new Set([...wanted, ...ufw.rules])]) }],
      accessCritical: 'changes the firewall in front of SSH',
      guard: { paths: UFW_FILES, restore: UFW_RESTORE },
    };
  },
});

function describe(active: boolean, d: { incoming?: string; outgoing?: string }, rules: string[]): string {
  return [`status: ${active ? 'active' : 'inactive'}`, `default incoming: ${d.incoming}`, `default outgoing: ${d.outgoing}`, ...[...rules].sort().map((r) => `rule: ${r}`)].join('\n') + '\n';
}

/** Why enabling these rules would cut the current SSH connection, or undefined when it is safe. */
export function sshLockout(rules: UfwRule[], incoming: string, access: AccessInfo): string | undefined {
  if (incoming === 'allow') return undefined;
  const opens = rules.some(
    (r) =>
      (r.rule === 'allow' || r.rule === 'limit') &&
      r.proto !== 'udp' &&
      portCovers(r.port, access.port) &&
      (r.from_ip === 'any' || (access.client !== undefined && cidrContains(r.from_ip, access.client))),
  );
  if (opens) return undefined;
  const from = access.client ? ` from ${access.client} (this controller)` : '';
  return `refusing to enable ufw: no rule allows SSH port ${access.port}/tcp${from}, so the current connection and every later one would be cut. Allow it (e.g. ssh_allow_from including ${access.client ?? 'your address'}) and re-run.`;
}

function portCovers(spec: string, port: number): boolean {
  const [lo, hi = lo] = spec.split(':').map(Number);
  return port >= lo && port <= hi;
}

export function cidrContains(cidr: string, addr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  if (net.includes(':') || addr.includes(':')) return net === addr || (bitsText === '0' && addr.includes(':'));
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  const toInt = (a: string) => a.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(net) & mask) === (toInt(addr) & mask);
}

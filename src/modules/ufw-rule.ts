/**
 * Ansible's per-task ufw arguments (community.general.ufw): one rule, a default policy, logging or
 * the firewall's state per task, beside the declarative rule set of our `ufw`. A rule is compared with
 * `ufw show added` in the form ufw prints it, so a second run finds it and changes nothing.
 */
import { z } from 'zod';
import { isIP } from 'node:net';
import type { Plan, PlanContext } from '../core/module.js';
import { probe } from '../core/probe.js';
import { run, type Step } from '../core/step.js';
import { admits, controllerPeer, familyOf } from '../facts/ufw-admits.js';
import { renderTuple, type UfwState, type UfwTuple } from '../facts/ufw.js';

const PORT = /^\d{1,5}(:\d{1,5})?$/;
const ADDR = /^(any|[0-9A-Fa-f:.]+(\/\d{1,3})?)$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9 _.+-]*$/;

const port = z.union([z.number().int().min(1).max(65535).transform(String), z.string().regex(PORT, 'a port (22) or a range (6000:6007)')]);
const addr = z.string().regex(ADDR, 'an address or network (10.0.0.0/8), or any');

/** The keys that mark a task as Ansible's per-rule form (with state reloaded/reset). */
export const PER_RULE_KEYS = ['rule', 'port', 'to_port', 'proto', 'protocol', 'src', 'from_ip', 'from', 'from_port', 'to_ip', 'dest', 'to', 'direction', 'interface', 'if', 'comment', 'policy', 'default', 'logging', 'delete', 'name', 'app', 'log', 'route', 'insert'];

export const perRuleObject = z
  .object({
    form: z.literal('rule'),
    state: z.enum(['enabled', 'disabled', 'reloaded', 'reset']).optional(),
    rule: z.enum(['allow', 'deny', 'reject', 'limit']).optional(),
    direction: z.enum(['in', 'incoming', 'out', 'outgoing', 'routed']).optional(),
    policy: z.enum(['allow', 'deny', 'reject']).optional(),
    logging: z.union([z.boolean().transform((b) => (b ? 'on' : 'off')), z.enum(['on', 'off', 'low', 'medium', 'high', 'full'])]).optional(),
    from_ip: addr.default('any'),
    from_port: port.optional(),
    to_ip: addr.default('any'),
    to_port: port.optional(),
    proto: z.enum(['any', 'tcp', 'udp', 'ipv6', 'esp', 'ah', 'gre', 'igmp']).default('any'),
    interface: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'an interface name such as eth0').optional(),
    /** an application profile (`ufw app list`), e.g. OpenSSH */
    name: z.string().regex(NAME, 'an application profile name such as OpenSSH').optional(),
    comment: z.string().regex(/^[^'\n]*$/, "a comment without ' or newlines").optional(),
    log: z.boolean().default(false),
    delete: z.boolean().default(false),
  })
  .strict()
  .refine((a) => a.rule !== undefined || a.policy !== undefined || a.logging !== undefined || a.state !== undefined, {
    message: 'ufw needs rule, policy, logging or state',
  })
  .refine((a) => a.rule === undefined || a.to_port !== undefined || a.name !== undefined || a.from_ip !== 'any' || a.to_ip !== 'any' || a.interface !== undefined, {
    message: 'a ufw rule needs a port, an application name, an address or an interface',
  })
  .refine((a) => a.direction !== 'routed' || a.rule === undefined, { message: 'routed rules (ufw route) are not supported; write the rule for in or out' });

export type PerRule = z.infer<typeof perRuleObject>;

/** Ansible's names for the same arguments. */
export const PER_RULE_ALIASES: Record<string, string> = { src: 'from_ip', from: 'from_ip', dest: 'to_ip', to: 'to_ip', port: 'to_port', protocol: 'proto', if: 'interface', app: 'name', default: 'policy' };

/** The rule exactly as `ufw show added` prints it (checked against ufw 0.36 on Debian 12 and 13). */
export function addedForm(a: PerRule, source: (s: string) => string): string {
  const out = a.direction === 'out' || a.direction === 'outgoing';
  const proto = a.proto === 'any' ? '' : a.proto;
  const comment = a.comment ? ` comment '${a.comment}'` : '';
  const log = a.log ? ' log' : '';
  const simple = a.from_ip === 'any' && a.to_ip === 'any' && a.from_port === undefined && a.interface === undefined;
  if (simple && a.name !== undefined && a.to_port === undefined) return `${a.rule}${out ? ' out' : ''}${log} ${a.name}${comment}`;
  if (simple && a.to_port !== undefined) return `${a.rule}${out ? ' out' : ''}${log} ${a.to_port}${proto ? `/${proto}` : ''}${comment}`;
  const words: string[] = [a.rule!];
  if (out || a.interface !== undefined) words.push(out ? 'out' : 'in');
  if (log) words.push('log');
  if (a.interface !== undefined) words.push('on', a.interface);
  if (a.from_ip !== 'any' || a.from_port !== undefined) words.push('from', a.from_ip === 'any' ? 'any' : source(a.from_ip));
  if (a.from_port !== undefined) words.push('port', a.from_port);
  words.push('to', a.to_ip === 'any' ? 'any' : source(a.to_ip));
  if (a.name !== undefined) words.push('app', a.name);
  if (a.to_port !== undefined) words.push('port', a.to_port);
  if (proto) words.push('proto', proto);
  return words.join(' ') + comment;
}

/** The logging level ufw keeps in /etc/ufw/ufw.conf (off, low, ...). */
export const ufwLogLevel = probe<string>('ufw:loglevel', "sed -n 's/^LOGLEVEL=//p' /etc/ufw/ufw.conf 2>/dev/null", (out) => out.trim() || 'off');

const LEVEL: Record<string, string> = { on: 'low' };

/** ufw's argv for a rule given as `ufw show added` prints it */
function argvOf(added: string): string[] {
  const m = /^(.*?)(?: comment '(.*)')?$/.exec(added)!;
  return [...m[1].split(' '), ...(m[2] !== undefined ? ['comment', m[2]] : [])];
}

/**
 * The tuples ufw writes for a rule added by this task (one per family it applies to; an app profile's rule
 * carries the profile's ports, one tuple per `|` part), so the judgment sees the rule set this task leaves.
 * A profile ufw does not know opens nothing (ufw itself refuses it).
 */
export function tuplesOf(a: PerRule, ipv6: boolean, source: (s: string) => string, apps: Record<string, string> = {}): UfwTuple[] {
  const fam = (v: string) => (v === 'any' ? 0 : isIP(v.split('/')[0]));
  const pinned = fam(a.from_ip) || fam(a.to_ip);
  const families: (4 | 6)[] = pinned === 4 ? [4] : pinned === 6 ? [6] : ipv6 ? [4, 6] : [4];
  const out = a.direction === 'out' || a.direction === 'outgoing';
  const ports: { proto: string; dport: string }[] =
    a.name !== undefined
      ? (apps[a.name] ?? '').split('|').filter(Boolean).map((part) => ({ dport: part.split('/')[0], proto: part.split('/')[1] ?? 'any' }))
      : [{ proto: a.proto, dport: a.to_port ?? 'any' }];
  return families.flatMap((family) => {
    const addr = (v: string) => (v === 'any' ? (family === 4 ? '0.0.0.0/0' : '::/0') : source(v));
    return ports.map(({ proto, dport }) => ({
      family, route: false, action: a.rule!, log: a.log ? 'log' : '', proto, dport, dst: addr(a.to_ip), sport: a.from_port ?? 'any', src: addr(a.from_ip),
      dapp: a.name ?? '', sapp: '', direction: out ? 'out' : 'in', ifIn: !out ? (a.interface ?? '') : '', ifOut: out ? (a.interface ?? '') : '', comment: a.comment ?? '',
    }));
  });
}

export function planPerRule(a: PerRule, ufw: UfwState, level: string, ctx: Pick<PlanContext, 'access' | 'host' | 'check'>, source: (s: string) => string, apps: Record<string, string> = {}): Plan {
  const steps: Step[] = [];
  const what: string[] = [];
  const kept: string[] = [];
  let rules = [...ufw.rules];
  let tuples = [...ufw.tuples];
  let active = ufw.active;
  let incoming = ufw.defaults.incoming;
  if (a.state === 'reset') {
    steps.push(run(['ufw', '--force', 'reset']));
    what.push('reset ufw (rules removed, disabled)');
    rules = [];
    tuples = [];
    active = false;
    incoming = 'deny';
  }
  if (a.logging !== undefined) {
    const want = LEVEL[a.logging] ?? a.logging;
    if (level === want && a.state !== 'reset') kept.push(`logging ${level}`);
    else {
      steps.push(run(['ufw', 'logging', a.logging]));
      what.push(`logging ${level} -> ${want}`);
    }
  }
  if (a.policy !== undefined) {
    const dir = a.direction === 'out' || a.direction === 'outgoing' ? 'outgoing' : a.direction === 'routed' ? 'routed' : 'incoming';
    const now = dir === 'incoming' ? incoming : ufw.defaults[dir];
    if (now === a.policy) kept.push(`default ${dir} ${now}`);
    else {
      steps.push(run(['ufw', 'default', a.policy, dir]));
      what.push(`default ${dir} ${now ?? '?'} -> ${a.policy}`);
      if (dir === 'incoming') incoming = a.policy;
    }
  }
  if (a.rule !== undefined) {
    const added = addedForm(a, source);
    const present = rules.includes(added);
    if (a.delete) {
      if (!present) kept.push(`no rule "${added}"`);
      else {
        steps.push(run(['ufw', 'delete', ...argvOf(added)]));
        what.push(`delete "${added}"`);
        rules = rules.filter((r) => r !== added);
        tuples = tuples.filter((t) => renderTuple(t) !== added);
      }
    } else if (present) kept.push(`rule "${added}" present`);
    else {
      steps.push(run(['ufw', ...argvOf(added)]));
      what.push(`add "${added}"`);
      rules.push(added);
      tuples.push(...tuplesOf(a, ufw.ipv6, source, apps));
    }
  }
  if (a.state === 'enabled') {
    if (active) kept.push('ufw active');
    else {
      steps.push(run(['ufw', '--force', 'enable']));
      what.push('enable ufw');
      active = true;
    }
  } else if (a.state === 'disabled') {
    if (!active) kept.push('ufw inactive');
    else {
      steps.push(run(['ufw', 'disable']));
      what.push('disable ufw');
      active = false;
    }
  } else if (a.state === 'reloaded') {
    steps.push(run(['ufw', 'reload']));
    what.push('reload ufw');
  }
  if (!steps.length) return { steps, reason: kept.join('; ') };
  // refused only when this task is what would shut SSH out (an already closed state is not made worse); judged
  // on the tuples ufw loads, for the controller's own address, family, host address and interface
  const { access } = ctx;
  const peer = controllerPeer(access, ctx.host);
  const family = familyOf(access.client);
  const judge = (on: boolean, inc: string | undefined, ts: UfwTuple[]) => (on ? admits(ts, inc, family, access.port, 'tcp', peer) : { in: true, why: 'ufw is inactive' });
  const after = judge(active, incoming, tuples);
  if (judge(ufw.active, ufw.defaults.incoming, ufw.tuples).in && !after.in) {
    const from = access.client !== undefined ? ` from this controller (${access.client})` : '';
    const msg = `refusing: after this task ufw would be active with default incoming ${incoming} and no rule allowing SSH port ${access.port}/tcp${from}: ${after.why}. That cuts every new login (the next task's, the next run's); add a rule for port ${access.port} first (rule: allow, port: ${access.port}, proto: tcp${access.client !== undefined ? `, from_ip: ${access.client}` : ''}, or from anywhere)`;
    // check cannot see the rules earlier tasks of the run would add: it says so, and apply decides with the real ones
    if (!ctx.check) return { steps: [], reason: 'refused', fail: msg };
    what.push(`(apply refuses this unless an earlier task lets SSH port ${access.port}/tcp in first: ${after.why})`);
  }
  return {
    steps,
    reason: what.join('; '),
    accessCritical: 'changes the firewall in front of SSH',
    guard: { paths: ['/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/default/ufw', '/etc/ufw/ufw.conf'], restore: "if grep -qi '^ENABLED=yes' /etc/ufw/ufw.conf; then ufw reload; else ufw --force disable; fi" },
  };
}

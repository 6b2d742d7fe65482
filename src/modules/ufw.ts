import { isIP } from 'node:net';
import { z } from 'zod';
import { defineModule, type AccessInfo, type HostInfo } from '../core/module.js';
import { shJoin } from '../core/quote.js';
import type { Drift } from '../core/result.js';
import { run, sh, type Step } from '../core/step.js';
import { parseUfw, renderTuple, ufwApps, ufwState, type UfwState, type UfwTuple } from '../facts/ufw.js';
import { admits, controllerPeer, familyOf } from '../facts/ufw-admits.js';
import { addressBits, cidrContains, isCidr } from '../core/cidr.js';
import { PER_RULE_ALIASES, PER_RULE_KEYS, perRuleObject, planPerRule, tuplesOf, ufwLogLevel } from './ufw-rule.js';

const ruleObject = z
  .object({
    rule: z.enum(['allow', 'deny', 'reject', 'limit']).default('allow'),
    // a port or a range lo:hi, 1..65535: free text would reach ufw's argv as extra words
    port: z
      .union([z.string(), z.number().int()])
      .transform(String)
      .refine((p) => /^\d{1,5}(:\d{1,5})?$/.test(p) && p.split(':').every((n) => Number(n) >= 1 && Number(n) <= 65535) && Number(p.split(':')[0]) <= Number(p.split(':')[1] ?? p), {
        message: 'port must be a number from 1 to 65535 or a range like "6000:6010"',
      }),
    proto: z.enum(['tcp', 'udp', 'any']).default('tcp'),
    from_ip: z.string().refine((v) => v === 'any' || isIP(v) !== 0 || isCidr(v), { message: 'from_ip must be `any`, an address or a network like "192.0.2.0/24"' }).default('any'),
    comment: z.string().regex(/^[^\n\r'"]*$/, 'comment must be one line without quotes').optional(),
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

const declarative = z
  .object({
    form: z.literal('set'),
    state: z.enum(['enabled', 'disabled']).default('enabled'),
    default_incoming: z.enum(['deny', 'allow', 'reject']).default('deny'),
    default_outgoing: z.enum(['deny', 'allow', 'reject']).default('allow'),
    rules: z.array(rule).default([]),
    /** remove rules that are on the host but not declared here */
    purge: z.boolean().default(false),
    /** IPv6 filtering (IPV6= in /etc/default/ufw): every rule without a source applies to both families */
    ipv6: z.boolean().default(true),
    /**
     * Rules whose comment starts with this were declared by this task before: when no longer declared they
     * are removed even without purge (a narrowed ssh_allow_from must not leave the old rule open).
     */
    owned_comment: z.string().min(1).optional(),
    /** the SSH port once this run is done (default: the current connection's), for the lockout preflight */
    ssh_port: z.number().int().min(1).max(65535).optional(),
  })
  .strict();

const DECLARATIVE_KEYS = ['rules', 'default_incoming', 'default_outgoing', 'purge', 'ipv6', 'owned_comment', 'ssh_port'];

/**
 * Two forms under one name: the declarative rule set (`rules:`), and Ansible's per-task arguments
 * (`rule`, `port`, `policy`, `logging`, `state: reset`...), told apart by the keys a task uses.
 */
const schema = z.preprocess(
  (v) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const keys = Object.keys(v);
    const state = (v as { state?: unknown }).state;
    const perRule = keys.some((k) => PER_RULE_KEYS.includes(k)) || state === 'reloaded' || state === 'reset' || (keys.length > 0 && !keys.some((k) => DECLARATIVE_KEYS.includes(k)));
    return { form: perRule ? 'rule' : 'set', ...v };
  },
  z.discriminatedUnion('form', [declarative, perRuleObject]),
);

/** what ufw keeps of its state: rules, policies, and whether it is enabled */
const UFW_FILES = ['/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/default/ufw', '/etc/ufw/ufw.conf'];
const UFW_RESTORE = "if grep -qi '^ENABLED=yes' /etc/ufw/ufw.conf; then ufw reload; else ufw --force disable; fi";

export type UfwRule = z.infer<typeof ruleObject>;
type RuleSet = z.infer<typeof declarative>;

/** The rule in exactly the form `ufw show added` prints it, so declared and present rules compare as strings. */
export function canonicalRule(r: UfwRule): string {
  const proto = r.proto === 'any' ? '' : r.proto;
  const comment = r.comment ? ` comment '${r.comment}'` : '';
  if (r.from_ip === 'any') return `${r.rule} ${r.port}${proto ? '/' + proto : ''}${comment}`;
  return `${r.rule} from ${ufwSource(r.from_ip)} to any port ${r.port}${proto ? ' proto ' + proto : ''}${comment}`;
}

/**
 * A source as ufw stores (and `ufw show added` prints) it: a single address without /32 or /128, IPv4 host
 * bits cleared (10.0.0.5/24 -> 10.0.0.0/24), IPv6 lower case and compressed (host bits kept, as ufw does).
 * Comparing the declared form would make every run re-add it, and the owned-rule clean-up delete it.
 */
export function ufwSource(from: string): string {
  const [net, bitsText] = from.split('/');
  const family = isIP(net);
  if (family === 0) return from;
  const width = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (family === 4) {
    const n = addressBits(net, 4);
    const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(32 - bits);
    const masked = n & mask;
    const text = [24n, 16n, 8n, 0n].map((sh) => String((masked >> sh) & 255n)).join('.');
    return bits === 32 ? text : `${text}/${bits}`;
  }
  const n = addressBits(net, 6);
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes ::
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const text = best.at < 0 ? groups.join(':') : `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
  return bits === 128 ? text : `${text}/${bits}`;
}

/** ufw's command words for a canonical rule: "allow from X to any port 22 proto tcp" -> argv. */
function ruleArgv(canonical: string): string[] {
  const m = /^(.*?)(?: comment '(.*)')?$/.exec(canonical)!;
  return [...m[1].split(' '), ...(m[2] !== undefined ? ['comment', m[2]] : [])];
}

const commentOf = (canonical: string) => /comment '(.*)'$/.exec(canonical)?.[1];

export default defineModule({
  name: 'ufw',
  summary: 'Declare the whole ufw firewall (default policies and the set of rules, enabled safely, SSH first), or one rule, policy or state per task as Ansible does',
  schema,
  aliases: PER_RULE_ALIASES,
  // an app profile's ports are read only for a task that names one (the lockout judgment needs them)
  facts: (a) => ({ ufw: ufwState, ...(a.form === 'rule' && a.logging !== undefined ? { level: ufwLogLevel } : {}), ...(a.form === 'rule' && a.name !== undefined ? { apps: ufwApps } : {}) }),
  // refused before any other task of the play changes the host, on the rules the play's first round trip read
  // (none when ufw is not installed yet); the plan judges again on the rules as they are when this task runs
  preflight: (a, ctx, facts) =>
    a.form === 'set' && a.state === 'enabled' ? sshLockout(a, facts?.ufw ?? parseUfw(''), { ...ctx.access, port: a.ssh_port ?? ctx.access.port }, ctx.host) : undefined,
  plan(args, { ufw, level, apps }: { ufw: UfwState; level?: string; apps?: Record<string, string> }, ctx) {
    if (args.form === 'rule') return planPerRule(args, ufw, level ?? 'off', ctx, ufwSource, apps);
    const a = args;
    const wanted = a.rules.map(canonicalRule);
    if (a.state === 'enabled') {
      const lockout = sshLockout(a, ufw, ctx.access, ctx.host);
      if (lockout) return { steps: [], reason: 'refused', fail: lockout };
    }
    if (a.state === 'disabled') {
      if (!ufw.active) return { steps: [], reason: 'ufw is installed and inactive' };
      return { steps: [run(['ufw', 'disable'])], reason: 'disable ufw' };
    }
    const steps: Step[] = [];
    const what: string[] = [];
    const drift: Drift[] = [];
    const present = new Set(ufw.rules);
    const ipv6Changes = ufw.ipv6 !== a.ipv6;
    if (ipv6Changes) {
      // before the rules: ufw writes a rule's IPv6 half only while IPV6=yes
      steps.push(sh(`sed -i 's/^IPV6=.*/IPV6=${a.ipv6 ? 'yes' : 'no'}/' /etc/default/ufw`, `set IPV6=${a.ipv6 ? 'yes' : 'no'} in /etc/default/ufw`));
      what.push(`IPv6 filtering ${a.ipv6 ? 'on' : 'off'}`);
      drift.push({
        what: `IPv6 filtering is ${ufw.ipv6 ? 'on' : 'off'}, declared ${a.ipv6 ? 'on' : 'off'}`,
        why: a.ipv6 ? 'every service listening on IPv6 is reachable from anywhere, past the declared rules' : 'the declaration says IPv6 is not filtered here',
        where: '/etc/default/ufw (IPV6=)',
        fix: `set IPV6=${a.ipv6 ? 'yes' : 'no'} and re-add the declared rules`,
      });
    }
    // rules first, defaults next, enable last: SSH is allowed before the policy can drop it. Turning IPv6 on
    // re-adds every declared rule: ufw skips the IPv4 half it has and adds the missing IPv6 one.
    for (const r of wanted.filter((w) => !present.has(w) || (ipv6Changes && a.ipv6))) {
      steps.push(run(['ufw', ...ruleArgv(r)]));
      if (!present.has(r)) {
        what.push(`add "${r}"`);
        drift.push({ what: `declared rule "${r}" is missing`, why: 'what the site declares open (SSH, the sites) may be refused', where: 'ufw rules (/etc/ufw/user.rules)', fix: shJoin(['ufw', ...ruleArgv(r)]) });
      }
    }
    for (const [dir, want] of [['incoming', a.default_incoming], ['outgoing', a.default_outgoing]] as const) {
      if (ufw.defaults[dir] !== want) {
        steps.push(run(['ufw', 'default', want, dir]));
        what.push(`default ${dir} ${ufw.defaults[dir] ?? '?'} -> ${want}`);
        drift.push({
          what: `default ${dir} policy is ${ufw.defaults[dir] ?? 'unset'}, declared ${want}`,
          why: dir === 'incoming' ? 'the default decides every port no rule names' : 'the default decides what the host may connect to',
          where: `/etc/default/ufw (DEFAULT_${dir === 'incoming' ? 'INPUT' : 'OUTPUT'}_POLICY)`,
          fix: `ufw default ${want} ${dir}`,
        });
      }
    }
    const undeclared = ufw.rules.filter((r) => !wanted.includes(r));
    const owned = (r: string) => ownedBy(a, r);
    // removals after additions: a narrowed SSH rule is replaced, never missing for a moment
    for (const r of removals(a, ufw)) {
      steps.push(run(['ufw', 'delete', ...ruleArgv(r)]));
      const kind = owned(r) ? 'no longer declared' : 'undeclared';
      what.push(`remove ${kind} "${r}"`);
      drift.push({
        what: `${kind} rule "${r}"${opensForeign(r) ? ' opens a port nobody declared' : ''}`,
        why: opensForeign(r)
          ? 'a port opened by hand (often while debugging) stays open to the internet; declare it in firewall_allow if it is meant to be'
          : owned(r) ? 'a rule this firewall added earlier is no longer declared (a narrowed or dropped opening)' : 'purge: only declared rules may exist',
        where: 'ufw rules (/etc/ufw/user.rules, `ufw show added`)',
        fix: shJoin(['ufw', 'delete', ...ruleArgv(r)]),
      });
    }
    if (!ufw.active) {
      steps.push(run(['ufw', '--force', 'enable']));
      what.push('enable ufw');
      drift.push({
        what: 'ufw is inactive: no rule and no default policy is in force',
        why: 'every listening service is reachable from anywhere; the declared firewall does nothing',
        where: ufw.rules.length ? '/etc/ufw/ufw.conf (ENABLED=no, as `ufw disable` leaves it)' : 'ufw has never been enabled on this host',
        fix: 'ufw --force enable (after the declared rules are in place)',
      });
    } else if (ipv6Changes) {
      steps.push(run(['ufw', 'reload']));
    }
    const extra = undeclared.filter((r) => !a.purge && !owned(r) && !opensForeign(r));
    const note = extra.length ? ` (not declared, kept: ${extra.map((r) => `"${r}"`).join(', ')}; purge removes them)` : '';
    if (!steps.length) return { steps, reason: `ufw active, defaults and ${wanted.length} rules as declared${note}` };
    return {
      steps,
      reason: what.join('; ') + note,
      diff: [{ subject: 'ufw', before: describe(ufw.active, ufw.ipv6, ufw.defaults, ufw.rules), after: describe(true, a.ipv6, { incoming: a.default_incoming, outgoing: a.default_outgoing }, [...wanted, ...extra]) }],
      drift,
      accessCritical: 'changes the firewall in front of SSH',
      guard: { paths: UFW_FILES, restore: UFW_RESTORE },
    };
  },
});

/**
 * A rule that lets traffic in and that no shipshape task wrote (theirs carry "shipshape" in the comment):
 * it weakens the declared firewall, so it is drift even without purge. Deny rules a person adds (an
 * abusive address) only narrow it and are kept.
 */
export function opensForeign(rule: string): boolean {
  return /^(allow|limit)\b/.test(rule) && !/shipshape/.test(commentOf(rule) ?? '');
}

function describe(active: boolean, ipv6: boolean, d: { incoming?: string; outgoing?: string }, rules: string[]): string {
  const head = [`status: ${active ? 'active' : 'inactive'}`, `ipv6: ${ipv6 ? 'yes' : 'no'}`, `default incoming: ${d.incoming}`, `default outgoing: ${d.outgoing}`];
  return [...head, ...[...rules].sort().map((r) => `rule: ${r}`)].join('\n') + '\n';
}

/** A rule this declaration wrote before (its comment starts with owned_comment). */
function ownedBy(a: RuleSet, rule: string): boolean {
  return a.owned_comment !== undefined && (commentOf(rule) ?? '').startsWith(a.owned_comment);
}

/** The host's rules this declaration deletes: every undeclared one with purge, its own no longer declared, openings made by hand. */
function removals(a: RuleSet, ufw: UfwState): string[] {
  const wanted = a.rules.map(canonicalRule);
  return ufw.rules.filter((r) => !wanted.includes(r) && (a.purge || ownedBy(a, r) || opensForeign(r)));
}

/**
 * The tuples ufw writes for a declared rule, as its files hold them (user.rules; user6.rules too for a rule
 * without an IPv4 source while IPv6 is on): the shape the firewall judgment reads from a host.
 */
export function declaredTuples(r: UfwRule, ipv6: boolean): UfwTuple[] {
  const perRule = { form: 'rule' as const, rule: r.rule, to_port: r.port, proto: r.proto, from_ip: r.from_ip, to_ip: 'any', log: false, delete: false, ...(r.comment !== undefined ? { comment: r.comment } : {}) };
  return tuplesOf(perRule, ipv6, ufwSource);
}

/**
 * The rules ufw loads once this declaration is applied, in ufw's order: the host's rules that stay where they
 * are (a deny made by hand is kept without purge, and comes first), then the declared rules ufw does not have
 * yet, appended in declared order (ufw skips a rule a file already holds), both files only while IPv6 is on.
 */
export function tuplesAfter(a: RuleSet, ufw: UfwState): UfwTuple[] {
  const removed = new Set(removals(a, ufw));
  const kept = ufw.tuples.filter((t) => !removed.has(renderTuple(t)));
  const has = (t: UfwTuple, among: UfwTuple[]) => among.some((k) => k.family === t.family && renderTuple(k) === renderTuple(t));
  const added: UfwTuple[] = [];
  for (const t of a.rules.flatMap((r) => declaredTuples(r, a.ipv6))) if (!has(t, kept) && !has(t, added)) added.push(t);
  return [...kept, ...added].filter((t) => a.ipv6 || t.family === 4);
}

/**
 * Why applying this declaration would cut the controller's SSH logins, or undefined when it lets them in:
 * the one firewall judgment (admits) on the rules ufw loads afterwards (tuplesAfter) and the declared default
 * incoming policy, for the controller as the host sees its connection, on `access.port`. The message names
 * the rule that shuts it out and where it comes from: the host (remove it, or purge) or the declaration.
 */
export function sshLockout(a: RuleSet, ufw: UfwState, access: AccessInfo, host: HostInfo): string | undefined {
  const v = admits(tuplesAfter(a, ufw), a.default_incoming, familyOf(access.client), access.port, 'tcp', controllerPeer(access, host));
  if (v.in) return undefined;
  const ssh = `SSH port ${access.port}/tcp${access.client ? ` from ${access.client} (this controller)` : ''}`;
  const cut = 'so every new connection would be cut';
  if (v.rule === undefined) {
    const aside = v.unsure ? ` ("${v.unsure}" is narrowed to a source, address or interface not known to be this controller's)` : '';
    return `refusing to enable ufw: no rule allows ${ssh}${aside}, so the current connection and every later one would be cut. Allow it (e.g. ssh_allow_from including ${access.client ?? 'your address'}) and re-run.`;
  }
  const shuts = v.maybe ? 'may shut' : 'shuts';
  if (a.rules.map(canonicalRule).includes(v.rule)) {
    return `refusing to enable ufw: the declared rule "${v.rule}" comes before any rule allowing ${ssh} and ${shuts} it out, ${cut}. Remove or narrow it, or declare the allow first, and re-run.`;
  }
  // a rule on the host stays ahead of every rule the declaration appends: declaring an allow cannot help
  return (
    `refusing to enable ufw: "${v.rule}" is on the host already, comes before the rules this task adds, and ${shuts} out ${ssh}, ${cut}. ` +
    `It is not declared; it is kept because a deny only narrows the firewall. Remove it (${shJoin(['ufw', 'delete', ...ruleArgv(v.rule)])}), ` +
    'or set purge (firewall_purge with the firewall role) so that only declared rules stay, and re-run.'
  );
}

// the address arithmetic lives in core (the firewall judgment in facts uses it too); roles import it from here
export { cidrContains, isCidr };

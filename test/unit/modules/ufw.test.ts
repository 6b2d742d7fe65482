import { describe, expect, it } from 'vitest';
import { parseTuple, parseUfw, renderTuple } from '../../../src/facts/ufw.js';
import { modules } from '../../../src/modules/index.js';
import { canonicalRule, cidrContains, declaredTuples, isCidr, tuplesAfter, ufwSource, type UfwRule } from '../../../src/modules/ufw.js';
import { debian12, planFor, sshAccess } from '../helpers/plan.js';
import { RULE_FILES, rulesFile, ufwStateOf } from '../helpers/ufw-files.js';

// recorded on a lab host (Debian 12, ufw 0.36.2) after `ufw allow 22/tcp; ufw allow from 10.99.0.1 to any port 2222 proto tcp`
const recorded = `installed
Status: inactive
IPV6=yes
DEFAULT_INPUT_POLICY="DROP"
DEFAULT_OUTPUT_POLICY="ACCEPT"
DEFAULT_FORWARD_POLICY="DROP"
--rules--
Added user rules (see 'ufw status' for running firewall):
ufw allow 22/tcp
ufw allow from 10.99.0.1 to any port 2222 proto tcp
`;

const fresh = parseUfw('installed\nStatus: inactive\nIPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n--rules--\n(None)\n');

describe('ufw facts', () => {
  it('parses status, policies and rules in command form', () => {
    expect(parseUfw(recorded)).toEqual({
      installed: true,
      active: false,
      defaults: { incoming: 'deny', outgoing: 'allow', routed: 'deny' },
      ipv6: true,
      rules: ['allow 22/tcp', 'allow from 10.99.0.1 to any port 2222 proto tcp'],
      tuples: [],
    });
  });
  it("reads ufw's own files: each rule once in `ufw show added`'s form, and each file's tuples with its family", () => {
    // user.rules and user6.rules after `ufw allow 22/tcp comment 'shipshape ssh'; ufw allow from 10.99.0.1 to any port 2222 proto tcp` (ufw 0.36.2)
    const out = [
      'installed',
      'Status: active',
      '==> /etc/default/ufw <==',
      'IPV6=yes',
      'DEFAULT_INPUT_POLICY="DROP"',
      '',
      '==> /etc/ufw/user.rules <==',
      '### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=73686970736861706520737368',
      '### tuple ### allow tcp 2222 0.0.0.0/0 any 10.99.0.1 in',
      '',
      '==> /etc/ufw/user6.rules <==',
      '### tuple ### allow tcp 22 ::/0 any ::/0 in comment=73686970736861706520737368',
      '',
    ].join('\n');
    const ufw = parseUfw(out);
    expect(ufw.rules).toEqual(["allow 22/tcp comment 'shipshape ssh'", 'allow from 10.99.0.1 to any port 2222 proto tcp']);
    expect(ufw.tuples.map((t) => `${t.family} ${t.action} ${t.proto} ${t.dport} ${t.src}`)).toEqual(['4 allow tcp 22 0.0.0.0/0', '4 allow tcp 2222 10.99.0.1', '6 allow tcp 22 ::/0']);
    expect(parseUfw(out.replace('IPV6=yes', 'IPV6=no')).tuples.map((t) => t.family)).toEqual([4, 4]);
  });
  it('knows when ufw is not installed', () => {
    expect(parseUfw('').installed).toBe(false);
  });
});

describe('ufw plans', () => {
  const argv = (p: ReturnType<typeof planFor>) => p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind));

  it('adds rules before enabling, SSH first', () => {
    const p = planFor('ufw', { rules: ['22/tcp', '80/tcp', '443/tcp'] }, { ufw: fresh });
    expect(argv(p)).toEqual(['ufw allow 22/tcp', 'ufw allow 80/tcp', 'ufw allow 443/tcp', 'ufw --force enable']);
    expect(p.accessCritical).toBeTruthy();
  });

  it('changes nothing when the set matches, and says so', () => {
    const p = planFor('ufw', { rules: ['22/tcp'] }, { ufw: { ...fresh, active: true, rules: ['allow 22/tcp'] } });
    expect(p.steps).toEqual([]);
    expect(p.reason).toMatch(/as declared/);
  });

  it('keeps an undeclared deny rule (it only narrows), and removes it only with purge', () => {
    const facts = { ufw: { ...fresh, active: true, rules: ['allow 22/tcp', 'deny from 203.0.113.9'] } };
    const kept = planFor('ufw', { rules: ['22/tcp'] }, facts);
    expect(kept.steps).toEqual([]);
    expect(kept.reason).toMatch(/not declared, kept: "deny from 203.0.113.9"/);
    expect(argv(planFor('ufw', { rules: ['22/tcp'], purge: true }, facts))).toEqual(['ufw delete deny from 203.0.113.9']);
  });

  it('an undeclared port opened by hand is drift, with the command that removes it; shipshape-commented rules stay', () => {
    const facts = { ufw: { ...fresh, active: true, rules: ['allow 22/tcp', 'allow 6000', "allow 80/tcp comment 'caddy by shipshape'"] } };
    const p = planFor('ufw', { rules: ['22/tcp'] }, facts);
    expect(argv(p)).toEqual(['ufw delete allow 6000']);
    expect(p.drift).toEqual([expect.objectContaining({ what: 'undeclared rule "allow 6000" opens a port nobody declared', fix: "ufw delete allow 6000" })]);
    expect(p.reason).toMatch(/not declared, kept: "allow 80\/tcp comment 'caddy by shipshape'"/);
  });

  it('ufw disabled by hand is drift: where, why, and the fix', () => {
    const p = planFor('ufw', { rules: ['22/tcp'] }, { ufw: { ...fresh, active: false, rules: ['allow 22/tcp'] } });
    expect(argv(p)).toEqual(['ufw --force enable']);
    expect(p.drift).toEqual([expect.objectContaining({ what: expect.stringMatching(/ufw is inactive/), where: expect.stringMatching(/ENABLED=no/) })]);
  });

  it('refuses a declaration that closes the SSH port of the current connection', () => {
    const p = planFor('ufw', { rules: ['80/tcp'] }, { ufw: fresh });
    expect(p.fail).toMatch(/no rule allows SSH port 22/);
    expect(p.steps).toEqual([]);
  });

  it('refuses SSH allowed only from an address that is not the controller', () => {
    const p = planFor('ufw', { rules: [{ port: 22, from_ip: '192.0.2.0/24' }] }, { ufw: fresh });
    expect(p.fail).toMatch(/10\.99\.0\.1/);
    expect(planFor('ufw', { rules: [{ port: 22, from_ip: '10.99.0.0/24' }] }, { ufw: fresh }).fail).toBeUndefined();
  });
});

describe('ufw: IPv6, rules it owns, lockout refused before any change', () => {
  const argv = (p: ReturnType<typeof planFor>) => p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind === 'sh' ? s.why : s.kind));
  const active = (rules: string[], ipv6 = true) => ({ ufw: { ...fresh, active: true, ipv6, rules } });

  it('turns IPv6 filtering on first, re-adds every rule so each gets its IPv6 half, then reloads', () => {
    const p = planFor('ufw', { rules: ['22/tcp', '80/tcp'] }, active(['allow 22/tcp'], false));
    expect(argv(p)).toEqual(['set IPV6=yes in /etc/default/ufw', 'ufw allow 22/tcp', 'ufw allow 80/tcp', 'ufw reload']);
    expect(p.reason).toBe('IPv6 filtering on; add "allow 80/tcp"');
  });

  it('leaves IPv6 alone when it is as declared', () => {
    expect(planFor('ufw', { rules: ['22/tcp'] }, active(['allow 22/tcp'])).steps).toEqual([]);
  });

  it('removes a rule it owns once it is no longer declared (narrowed SSH), after adding the new one; keeps foreign deny rules', () => {
    const facts = active(["allow 22/tcp comment 'shipshape ssh'", 'deny 8080/tcp']);
    const p = planFor('ufw', { rules: [{ port: 22, from_ip: '10.99.0.1/32', comment: 'shipshape ssh' }], owned_comment: 'shipshape' }, facts);
    expect(argv(p)).toEqual([
      "ufw allow from 10.99.0.1 to any port 22 proto tcp comment shipshape ssh",
      "ufw delete allow 22/tcp comment shipshape ssh",
    ]);
    expect(p.reason).toMatch(/remove no longer declared "allow 22\/tcp comment 'shipshape ssh'"/);
    expect(p.reason).toMatch(/not declared, kept: "deny 8080\/tcp"/);
  });

  it('preflight: refuses SSH allowed only from a network the controller is not in, naming the controller', () => {
    const mod = modules.ufw;
    const ctx = { host: debian12, access: sshAccess, check: false };
    const refused = mod.preflight!(mod.schema.parse({ rules: [{ port: 22, from_ip: '192.0.2.0/24' }, '80/tcp'] }), ctx);
    expect(refused).toMatch(/no rule allows SSH port 22\/tcp from 10\.99\.0\.1/);
    expect(mod.preflight!(mod.schema.parse({ rules: [{ port: 22, from_ip: '10.99.0.1/32' }] }), ctx)).toBeUndefined();
  });

  it("preflight: a declared deny or reject for the controller before the SSH allow shuts it out (ufw's order)", () => {
    const mod = modules.ufw;
    const ctx = { host: debian12, access: sshAccess, check: false };
    const deny = { rule: 'deny', port: 22, from_ip: '10.99.0.0/24' };
    expect(mod.preflight!(mod.schema.parse({ rules: [deny, '22/tcp'] }), ctx)).toMatch(/"deny from 10\.99\.0\.0\/24 to any port 22 proto tcp" comes before any rule allowing SSH port 22\/tcp from 10\.99\.0\.1/);
    expect(mod.preflight!(mod.schema.parse({ rules: ['22/tcp', deny] }), ctx)).toBeUndefined();
    expect(mod.preflight!(mod.schema.parse({ rules: [{ ...deny, from_ip: '192.0.2.0/24' }, '22/tcp'] }), ctx)).toBeUndefined();
    expect(mod.preflight!(mod.schema.parse({ rules: [{ rule: 'reject', port: '20:30' }, '22/tcp'] }), ctx)).toMatch(/"reject 20:30\/tcp" comes before/);
  });

  it('preflight: judges the port sshd will listen on after the run when ssh_port is given', () => {
    const mod = modules.ufw;
    const ctx = { host: debian12, access: sshAccess, check: false };
    expect(mod.preflight!(mod.schema.parse({ rules: ['2222/tcp'], ssh_port: 2222 }), ctx)).toBeUndefined();
    expect(mod.preflight!(mod.schema.parse({ rules: ['22/tcp'], ssh_port: 2222 }), ctx)).toMatch(/port 2222/);
  });

  it('matches IPv4 and IPv6 networks, including a v4-mapped client address', () => {
    expect(cidrContains('10.99.0.0/24', '10.99.0.1')).toBe(true);
    expect(cidrContains('10.99.0.1/32', '10.99.0.2')).toBe(false);
    expect(cidrContains('10.99.0.1', '::ffff:10.99.0.1')).toBe(true);
    expect(cidrContains('0.0.0.0/0', '203.0.113.9')).toBe(true);
    expect(cidrContains('2001:db8::/32', '2001:db8:1::5')).toBe(true);
    expect(cidrContains('2001:db8::/32', '2001:db9::5')).toBe(false);
    expect(cidrContains('::/0', 'fe80::1')).toBe(true);
    expect(cidrContains('2001:db8::/32', '10.0.0.1')).toBe(false);
    expect(['10.0.0.0/8', '2001:db8::/32', '203.0.113.7', '::1'].every(isCidr)).toBe(true);
    expect(['10.0.0.0/33', 'office', '10.0.0.0/8/1', '2001:db8::/129'].some(isCidr)).toBe(false);
  });
});

describe('ufw: sources compared in the form ufw stores them', () => {
  it('drops /32 and /128, clears IPv4 host bits, compresses IPv6 (keeping its host bits, as ufw does)', () => {
    expect(ufwSource('10.99.0.1/32')).toBe('10.99.0.1');
    expect(ufwSource('10.0.0.5/24')).toBe('10.0.0.0/24');
    expect(ufwSource('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(ufwSource('2001:DB8:0::1/64')).toBe('2001:db8::1/64');
    expect(ufwSource('2001:db8:0:0:1:0:0:1/128')).toBe('2001:db8::1:0:0:1');
    expect(ufwSource('fe80::')).toBe('fe80::');
    expect(ufwSource('::1')).toBe('::1');
  });

  it('a declared /32 matches the rule ufw shows, so a re-run neither adds nor removes it', () => {
    const rule = { port: 22, from_ip: '10.99.0.1/32', comment: 'shipshape ssh' };
    const shown = "allow from 10.99.0.1 to any port 22 proto tcp comment 'shipshape ssh'";
    const p = planFor('ufw', { rules: [rule], owned_comment: 'shipshape' }, { ufw: { ...fresh, active: true, rules: [shown] } });
    expect(p.steps).toEqual([]);
  });
});

describe('ufw: a declared rule as the tuples ufw writes for it', () => {
  const parse = (r: unknown) => modules.ufw.schema.parse({ rules: [r] }).rules[0] as UfwRule;
  const line = (file: string, head: string) => file.split('\n').find((l) => l.startsWith(`### tuple ### ${head}`))!;

  it("is exactly what ufw 0.36.2 wrote in user.rules and user6.rules for the same rule (the fixture's lines)", () => {
    expect(declaredTuples(parse({ rule: 'deny', port: 8022, from_ip: '10.99.0.1' }), true)).toEqual([parseTuple(line(RULE_FILES.v4, 'deny tcp 8022'), 4)]);
    expect(declaredTuples(parse({ port: 2222, from_ip: '192.0.2.0/24' }), true)).toEqual([parseTuple(line(RULE_FILES.v4, 'allow tcp 2222 0.0.0.0/0 any 192.0.2.0/24'), 4)]);
    expect(declaredTuples(parse({ port: 2222, from_ip: '2001:db8::/32' }), true)).toEqual([parseTuple(line(RULE_FILES.v6, 'allow tcp 2222 ::/0 any 2001:db8::/32'), 6)]);
    expect(declaredTuples(parse({ rule: 'limit', port: '2200:2300', comment: 'rate' }), true)).toEqual([
      parseTuple(line(RULE_FILES.v4, 'limit tcp 2200:2300'), 4),
      parseTuple(line(RULE_FILES.v6, 'limit tcp 2200:2300'), 6),
    ]);
    expect(declaredTuples(parse('8022/tcp'), true)).toEqual([parseTuple(line(RULE_FILES.v4, 'allow tcp 8022'), 4), parseTuple(line(RULE_FILES.v6, 'allow tcp 8022'), 6)]);
  });

  it('renders back as the declared rule, so the host\'s copy of it is recognised; one family while IPv6 is off', () => {
    for (const r of ['22/tcp', { port: 53, proto: 'any' }, { rule: 'reject', port: '20:30', proto: 'udp' }, { port: 22, from_ip: '10.99.0.1/32', comment: 'shipshape ssh' }]) {
      const tuples = declaredTuples(parse(r), false);
      expect(tuples.map((t) => t.family)).toEqual([4]);
      expect(tuples.map(renderTuple)).toEqual([canonicalRule(parse(r))]);
    }
  });
});

describe('ufw declaration: the lockout judged on the rules ufw will load, the host\'s kept ones first', () => {
  const mod = modules.ufw;
  const ctx = { host: { ...debian12, server: '10.99.0.46', clientRoute: { dev: 'eth0', nets: ['10.99.0.46/24'] } }, access: sshAccess, check: false };
  const site = (o: Record<string, unknown> = {}) => mod.schema.parse({ rules: [{ port: 22, comment: 'shipshape ssh' }, '80/tcp'], owned_comment: 'shipshape', ...o });
  /** ufw installed and inactive, with rules a person added by hand (as `ufw deny ...` writes them) */
  const byHand = (v4: string[], v6: string[] = []) => ufwStateOf({ active: false, v4: rulesFile('ufw', v4), v6: rulesFile('ufw6', v6) });
  const denyNet = '### tuple ### deny tcp 22 0.0.0.0/0 any 10.99.0.0/24 in';
  const denyOther = '### tuple ### deny tcp 22 0.0.0.0/0 any 192.0.2.0/24 in';
  const deny22 = '### tuple ### deny tcp 22 0.0.0.0/0 any 0.0.0.0/0 in';

  it("a deny made by hand for the controller's network on the SSH port comes before the declared allow: refused in preflight and plan, naming it and what to do", () => {
    const ufw = byHand([denyNet]);
    const why = mod.preflight!(site(), ctx, { ufw });
    expect(why).toBe(
      'refusing to enable ufw: "deny from 10.99.0.0/24 to any port 22 proto tcp" is on the host already, comes before the rules this task adds, and shuts out SSH port 22/tcp from 10.99.0.1 (this controller), so every new connection would be cut. ' +
        'It is not declared; it is kept because a deny only narrows the firewall. Remove it (ufw delete deny from 10.99.0.0/24 to any port 22 proto tcp), or set purge (firewall_purge with the firewall role) so that only declared rules stay, and re-run.',
    );
    const p = planFor('ufw', site(), { ufw }, ctx.host);
    expect([p.fail, p.steps]).toEqual([why, []]);
    // `deny 22/tcp` by hand: the same, for everyone
    expect(mod.preflight!(site(), ctx, { ufw: byHand([deny22], ['### tuple ### deny tcp 22 ::/0 any ::/0 in']) })).toMatch(/^refusing to enable ufw: "deny 22\/tcp" is on the host already/);
    // without the host's rules (facts not read), only the declaration is judged: the gap this closes
    expect(mod.preflight!(site(), ctx)).toBeUndefined();
  });

  it("a deny made by hand for another network is kept and lets the controller in; a deny after the allow does not matter", () => {
    expect(mod.preflight!(site(), ctx, { ufw: byHand([denyOther]) })).toBeUndefined();
    const p = planFor('ufw', site(), { ufw: byHand([denyOther]) }, ctx.host);
    expect(p.fail).toBeUndefined();
    expect(p.reason).toMatch(/not declared, kept: "deny from 192\.0\.2\.0\/24 to any port 22 proto tcp"/);
    // ufw active with the site's allow first: a deny added later by hand is appended after it
    const after = ufwStateOf({ v4: rulesFile('ufw', ['### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=73686970736861706520737368', denyNet]) });
    expect(mod.preflight!(site(), ctx, { ufw: after })).toBeUndefined();
  });

  it('purge deletes that deny, so the same declaration is safe; the plan deletes it after adding the allow', () => {
    const ufw = byHand([denyNet]);
    expect(tuplesAfter(site({ purge: true }), ufw).map(renderTuple)).not.toContain('deny from 10.99.0.0/24 to any port 22 proto tcp');
    expect(mod.preflight!(site({ purge: true }), ctx, { ufw })).toBeUndefined();
    const p = planFor('ufw', site({ purge: true }), { ufw }, ctx.host);
    expect(p.fail).toBeUndefined();
    expect(p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind))).toEqual([
      'ufw allow 22/tcp comment shipshape ssh',
      'ufw allow 80/tcp',
      'ufw delete deny from 10.99.0.0/24 to any port 22 proto tcp',
      'ufw --force enable',
    ]);
  });

  it("the host's rules stay first, declared ones follow in order, each family once; a rule ufw has is not added twice", () => {
    const ufw = ufwStateOf({ active: false, v4: rulesFile('ufw', [denyOther, '### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in']), v6: rulesFile('ufw6', ['### tuple ### allow tcp 80 ::/0 any ::/0 in']) });
    expect(tuplesAfter(site(), ufw).map((t) => `${t.family} ${renderTuple(t)}`)).toEqual([
      '4 deny from 192.0.2.0/24 to any port 22 proto tcp',
      '4 allow 80/tcp',
      '6 allow 80/tcp',
      "4 allow 22/tcp comment 'shipshape ssh'",
      "6 allow 22/tcp comment 'shipshape ssh'",
    ]);
  });

  it('an IPv6 controller with IPv6 filtering declared off stays on the cautious side (no rule of its family lets it in)', () => {
    const v6 = { ...ctx, access: { ...sshAccess, client: '2001:db8::5' } };
    expect(mod.preflight!(site({ ipv6: false }), v6, { ufw: byHand([]) })).toMatch(/no rule allows SSH port 22\/tcp from 2001:db8::5 \(this controller\)/);
    expect(mod.preflight!(site(), v6, { ufw: byHand([]) })).toBeUndefined();
  });

  it('judged as ufw judges: an app profile is its ports, an allow on another interface is not trusted, the port sshd moves to', () => {
    // a declared allow for 2222 from the controller's network, but the host holds `deny in on eth0 to any port 2222` first
    const onEth0 = byHand(['### tuple ### deny tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in_eth0']);
    const moved = site({ rules: [{ port: 2222, from_ip: '10.99.0.0/24' }], ssh_port: 2222 });
    expect(mod.preflight!(moved, ctx, { ufw: onEth0 })).toMatch(/"deny in on eth0 to any port 2222 proto tcp" is on the host already, .* shuts out SSH port 2222\/tcp/);
    expect(mod.preflight!(moved, { ...ctx, host: { ...ctx.host, clientRoute: { dev: 'eth1', nets: [] } } }, { ufw: onEth0 })).toBeUndefined();
    // interface unknown: the deny may be the controller's, so it is feared
    expect(mod.preflight!(moved, { ...ctx, host: debian12 }, { ufw: onEth0 })).toMatch(/and may shut out SSH port 2222/);
  });
});

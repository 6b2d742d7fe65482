/** Ansible's per-task ufw arguments: the rule as `ufw show added` prints it, and what each task changes. */
import { describe, expect, it } from 'vitest';
import { canonicalArgs } from '../../../src/core/module.js';
import { parseUfw } from '../../../src/facts/ufw.js';
import { modules } from '../../../src/modules/index.js';
import { planFor, sshAccess } from '../helpers/plan.js';
import { fixtureWith, rulesFile, ufwStateOf } from '../helpers/ufw-files.js';

// the tuples ufw 0.36.2 writes for the rules these tests judge SSH by (both families, as a lab host wrote them)
const TUPLES: Record<string, string> = { 'allow 22/tcp': 'allow tcp 22', 'limit 22/tcp': 'limit tcp 22', 'allow 80/tcp': 'allow tcp 80' };
const tuplesOf = (rules: string[], any: string) => rules.filter((r) => TUPLES[r]).map((r) => `### tuple ### ${TUPLES[r]} ${any} any ${any} in`);
const state = (rules: string[], active = true, incoming = 'deny') => ({
  ...ufwStateOf({ v4: rulesFile('ufw', tuplesOf(rules, '0.0.0.0/0')), v6: rulesFile('ufw6', tuplesOf(rules, '::/0')), active, incoming: incoming === 'allow' ? 'ACCEPT' : 'DROP' }),
  rules,
});
/** the loader renames Ansible's aliases before the schema sees them */
const args = (a: Record<string, unknown>) => canonicalArgs(modules.ufw, a).values;
const plan = (a: Record<string, unknown>, rules: string[], active = true, incoming = 'deny', level?: string) =>
  planFor('ufw', args(a), { ufw: state(rules, active, incoming), ...(level === undefined ? {} : { level }), ...('name' in a ? { apps: { OpenSSH: '22/tcp' } } : {}) });
const argvs = (p: { steps: { kind: string; argv?: string[] }[] }) => p.steps.map((s) => s.argv!.join(' '));

describe('ufw with Ansible per-rule arguments', () => {
  // the right-hand sides were printed by `ufw show added` on a lab host after the matching `ufw` command
  it.each([
    [{ rule: 'allow', port: 8080, proto: 'tcp' }, 'allow 8080/tcp'],
    [{ rule: 'allow', port: '85' }, 'allow 85'],
    [{ rule: 'limit', port: 22, proto: 'tcp' }, 'limit 22/tcp'],
    [{ rule: 'allow', direction: 'out', port: 53, proto: 'udp' }, 'allow out 53/udp'],
    [{ rule: 'allow', interface: 'eth0', direction: 'in', port: 81, proto: 'tcp' }, 'allow in on eth0 to any port 81 proto tcp'],
    [{ rule: 'deny', src: '10.1.2.3/16', port: 82, proto: 'tcp', comment: 'x y' }, "deny from 10.1.0.0/16 to any port 82 proto tcp comment 'x y'"],
    [{ rule: 'allow', from_ip: '10.2.0.5', from_port: 1000, to_port: 83, proto: 'udp' }, 'allow from 10.2.0.5 port 1000 to any port 83 proto udp'],
    [{ rule: 'allow', dest: '10.99.0.21', port: 84, proto: 'tcp' }, 'allow to 10.99.0.21 port 84 proto tcp'],
    [{ rule: 'allow', log: true, port: 86, proto: 'tcp' }, 'allow log 86/tcp'],
    [{ rule: 'allow', name: 'OpenSSH' }, 'allow OpenSSH'],
  ])('%j is added as "ufw %s", and found again', (a, added) => {
    const p = plan(a, ['allow 22/tcp']);
    expect(argvs(p)).toEqual([`ufw ${added.replace(/ comment '(.*)'$/, ' comment $1')}`]);
    expect(p.accessCritical).toBe('changes the firewall in front of SSH');
    expect(plan(a, ['allow 22/tcp', added]).steps).toEqual([]);
  });

  it('deletes a rule only when it is there', () => {
    expect(argvs(plan({ rule: 'allow', port: 80, proto: 'tcp', delete: true }, ['allow 22/tcp', 'allow 80/tcp']))).toEqual(['ufw delete allow 80/tcp']);
    expect(plan({ rule: 'allow', port: 80, proto: 'tcp', delete: true }, ['allow 22/tcp']).steps).toEqual([]);
  });

  it('state, policy and logging per task', () => {
    expect(argvs(plan({ state: 'enabled' }, ['allow 22/tcp'], false))).toEqual(['ufw --force enable']);
    expect(plan({ state: 'enabled' }, ['allow 22/tcp'], true).reason).toBe('ufw active');
    expect(argvs(plan({ policy: 'deny', direction: 'incoming' }, ['allow 22/tcp'], true, 'allow'))).toEqual(['ufw default deny incoming']);
    expect(argvs(plan({ default: 'reject', direction: 'outgoing' }, []))).toEqual(['ufw default reject outgoing']);
    expect(argvs(plan({ logging: 'on' }, ['allow 22/tcp'], true, 'deny', 'off'))).toEqual(['ufw logging on']);
    expect(plan({ logging: true }, ['allow 22/tcp'], true, 'deny', 'low').steps).toEqual([]);
    expect(argvs(plan({ state: 'reset' }, ['allow 22/tcp']))).toEqual(['ufw --force reset']);
    expect(argvs(plan({ state: 'reloaded' }, ['allow 22/tcp']))).toEqual(['ufw reload']);
  });

  it('refuses what would shut SSH out: enabling without an SSH rule, deleting the SSH rule', () => {
    expect(plan({ state: 'enabled' }, ['allow 80/tcp'], false).fail).toMatch(/no rule allowing SSH port 22/);
    expect(plan({ rule: 'limit', port: 22, proto: 'tcp', delete: true }, ['limit 22/tcp'], true).fail).toMatch(/refusing/);
    expect(plan({ rule: 'allow', port: 22, proto: 'tcp' }, [], false).fail).toBeUndefined();
  });

  // sshd moved to 2222; the controller logs in from 10.99.0.1 to 10.99.0.46 over eth0
  const moved = { ...sshAccess, port: 2222 };
  const host = { server: '10.99.0.46', clientRoute: { dev: 'eth0', nets: ['10.99.0.46/24'] } };
  const enable = (ufw: ReturnType<typeof fixtureWith>, check = false) => planFor('ufw', { state: 'enabled' }, { ufw }, host, check, moved);

  it("judges SSH on ufw's own tuples: OpenSSH's profile is 22/tcp only, so enabling with it alone is refused when sshd is on 2222", () => {
    const p = enable(fixtureWith(['allow OpenSSH'], { active: false }));
    expect(p.steps).toEqual([]);
    expect(p.fail).toMatch(/^refusing: after this task ufw would be active with default incoming deny and no rule allowing SSH port 2222\/tcp from this controller \(10\.99\.0\.1\): no rule lets it in/);
    expect(planFor('ufw', { state: 'enabled' }, { ufw: fixtureWith(['allow OpenSSH'], { active: false }) }, host).fail).toBeUndefined();
  });

  it('a rule for another source, an IPv6-only rule or another interface does not let the controller in; its own address does', () => {
    const others = ['allow from 192.0.2.0/24 to any port 2222 proto tcp', 'allow from 2001:db8::/32 to any port 2222 proto tcp', 'allow in on eth1 to any port 2222 proto tcp'];
    expect(enable(fixtureWith(others, { active: false })).fail).toMatch(/no rule allowing SSH port 2222\/tcp from this controller \(10\.99\.0\.1\): no rule lets it in/);
    expect(planFor('ufw', { state: 'enabled' }, { ufw: fixtureWith(others, { active: false }) }, host, false, { ...moved, client: '192.0.2.9' }).fail).toBeUndefined();
    expect(planFor('ufw', { state: 'enabled' }, { ufw: fixtureWith(others, { active: false }) }, { ...host, clientRoute: { dev: 'eth1', nets: [] } }, false, moved).fail).toBeUndefined();
    expect(enable(fixtureWith(['limit 2200:2300/tcp comment \'rate\''], { active: false })).fail).toBeUndefined();
  });

  it("honours a deny before the allow, in ufw's order: the task that would enable it is refused", () => {
    const ssh8022 = { ...moved, port: 8022 };
    const denied = fixtureWith(['deny from 10.99.0.1 to any port 8022 proto tcp', 'allow 8022/tcp'], { active: false });
    expect(planFor('ufw', { state: 'enabled' }, { ufw: denied }, host, false, ssh8022).fail).toMatch(/"deny from 10\.99\.0\.1 to any port 8022 proto tcp" comes first and shuts it out/);
    expect(planFor('ufw', { state: 'enabled' }, { ufw: denied }, host, false, { ...ssh8022, client: '10.99.0.2' }).fail).toBeUndefined();
  });

  it("a rule this task adds counts as ufw will write it: an app profile by its ports (read from ufw's profiles)", () => {
    const off = fixtureWith([], { active: false });
    const apps = { OpenSSH: '22/tcp', 'WWW Full': '80,443/tcp' };
    const withApp = (name: string, access = moved) => planFor('ufw', { rule: 'allow', name, state: 'enabled' }, { ufw: off, apps }, host, false, access);
    expect(withApp('OpenSSH').fail).toMatch(/no rule allowing SSH port 2222/);
    expect(withApp('OpenSSH', sshAccess).fail).toBeUndefined();
    expect(planFor('ufw', { rule: 'allow', to_port: 2222, proto: 'tcp', from_ip: '10.99.0.0/24', state: 'enabled' }, { ufw: off }, host, false, moved).fail).toBeUndefined();
    expect(planFor('ufw', { rule: 'allow', to_port: 2222, proto: 'tcp', from_ip: '2001:db8::/32', state: 'enabled' }, { ufw: off }, host, false, moved).fail).toMatch(/refusing/);
    // deleting the rule that lets the controller in, with ufw active
    const on = fixtureWith(['allow from 192.0.2.0/24 to any port 2222 proto tcp', 'limit 2200:2300/tcp comment \'rate\''], { active: true });
    expect(planFor('ufw', { rule: 'limit', to_port: '2200:2300', proto: 'tcp', comment: 'rate', delete: true }, { ufw: on }, host, false, moved).fail).toMatch(/refusing/);
  });

  it('check cannot see the rules earlier tasks add: it plans the change and says apply refuses unless SSH is let in first', () => {
    const p = enable(fixtureWith(['allow OpenSSH'], { active: false }), true);
    expect(p.fail).toBeUndefined();
    expect(p.steps).toHaveLength(1);
    expect(p.reason).toMatch(/enable ufw; \(apply refuses this unless an earlier task lets SSH port 2222\/tcp in first: no rule lets it in/);
  });

  it('keeps the declarative form for rules:, and reads state: enabled alone as Ansible does', () => {
    expect(modules.ufw.schema.parse({ rules: ['22/tcp'] })).toMatchObject({ form: 'set' });
    expect(modules.ufw.schema.parse({ state: 'enabled' })).toMatchObject({ form: 'rule' });
    expect(() => modules.ufw.schema.parse({ rule: 'allow' })).toThrow(/needs a port/);
    expect(parseUfw('installed\nStatus: active\n--rules--\nufw allow 22/tcp\n').rules).toEqual(['allow 22/tcp']);
  });
});

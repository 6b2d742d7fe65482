/** Ansible's per-task ufw arguments: the rule as `ufw show added` prints it, and what each task changes. */
import { describe, expect, it } from 'vitest';
import { canonicalArgs } from '../../../src/core/module.js';
import { parseUfw } from '../../../src/facts/ufw.js';
import { modules } from '../../../src/modules/index.js';
import { allowsSsh } from '../../../src/modules/ufw-rule.js';
import { planFor } from '../helpers/plan.js';

const state = (rules: string[], active = true, incoming = 'deny') => ({ installed: true, active, defaults: { incoming, outgoing: 'allow' }, ipv6: true, rules });
/** the loader renames Ansible's aliases before the schema sees them */
const args = (a: Record<string, unknown>) => canonicalArgs(modules.ufw, a).values;
const plan = (a: Record<string, unknown>, rules: string[], active = true, incoming = 'deny', level?: string) =>
  planFor('ufw', args(a), level === undefined ? { ufw: state(rules, active, incoming) } : { ufw: state(rules, active, incoming), level });
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

  it('knows the rules that let SSH in', () => {
    expect(allowsSsh(['allow 22/tcp'], 22)).toBe(true);
    expect(allowsSsh(['limit 20:30/tcp'], 22)).toBe(true);
    expect(allowsSsh(['allow from 10.0.0.0/8 to any port 22 proto tcp'], 22)).toBe(true);
    expect(allowsSsh(['allow OpenSSH'], 22)).toBe(true);
    expect(allowsSsh(['allow 22/udp', 'deny 22/tcp', 'allow out 22/tcp'], 22)).toBe(false);
  });

  it('keeps the declarative form for rules:, and reads state: enabled alone as Ansible does', () => {
    expect(modules.ufw.schema.parse({ rules: ['22/tcp'] })).toMatchObject({ form: 'set' });
    expect(modules.ufw.schema.parse({ state: 'enabled' })).toMatchObject({ form: 'rule' });
    expect(() => modules.ufw.schema.parse({ rule: 'allow' })).toThrow(/needs a port/);
    expect(parseUfw('installed\nStatus: active\n--rules--\nufw allow 22/tcp\n').rules).toEqual(['allow 22/tcp']);
  });
});

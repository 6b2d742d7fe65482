import { describe, expect, it } from 'vitest';
import { renderBatch, uniqueProbes } from '../../../src/core/script.js';
import { sizedDumpText } from '../../../src/facts/dump.js';
import { coversPort, parseTuple, parseUfw, ufwState, type UfwState } from '../../../src/facts/ufw.js';
import sshFirewall from '../../../roles/ssh/ssh_firewall.js';
import { countProcesses } from '../helpers/process-count.js';
import { planFor } from '../helpers/plan.js';

// ufw 0.36.2 (Debian 12 and 13): the tuples it writes, recorded with `ufw --dry-run RULE` on a lab host
const SSH22 = '### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=73686970736861706520737368';
const SSH22_V6 = '### tuple ### allow tcp 22 ::/0 any ::/0 in comment=73686970736861706520737368';
const rulesFile = (chain: 'ufw' | 'ufw6', tuples: string[]) =>
  ['*filter', `:${chain}-user-input - [0:0]`, '### RULES ###', '', ...tuples.flatMap((t) => [t, `-A ${chain}-user-input -j ACCEPT`, '']), '### END RULES ###', 'COMMIT', ''].join('\n');
const DEFAULTS = (ipv6: boolean) => `IPV6=${ipv6 ? 'yes' : 'no'}\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\nDEFAULT_FORWARD_POLICY="DROP"\n`;
// `iptables -S` of an enabled ufw (its three user chains among the others), and of a host where ufw is off
const ACTIVE = ['-P INPUT DROP', '-N ufw-user-forward', '-N ufw-user-input', '-N ufw-user-output', '-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT', ''].join('\n');
const OFF = '-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n';

/** ufw's state as the play reads it: ufwState's own join over the play's iptables dump and file dump */
function state(o: { table?: string; v4?: string[]; v6?: string[]; ipv6?: boolean; installed?: boolean } = {}): UfwState {
  const files = [
    { path: '/etc/default/ufw', content: DEFAULTS(o.ipv6 ?? true) },
    { path: '/etc/ufw/user.rules', content: rulesFile('ufw', o.v4 ?? []) },
    { path: '/etc/ufw/user6.rules', content: rulesFile('ufw6', o.v6 ?? []) },
  ];
  const { join } = ufwState.compose!;
  const out = join([
    { stdout: o.installed === false ? '' : 'installed\n', code: o.installed === false ? 1 : 0 },
    { stdout: o.table ?? ACTIVE, code: 0 },
    { stdout: sizedDumpText(files), code: 0 },
  ]);
  return parseUfw(out.stdout);
}

const plan = (port: number, ufw: UfwState, from: string[] = []) => planFor('ssh_firewall', { port, from }, { ufw });
const argv = (p: ReturnType<typeof plan>) => p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind));

describe("ssh_firewall judges the SSH port on ufw's state as the firewall role reads it (ufwState)", () => {
  it('ufw not installed, or inactive as `ufw status` says (all three user chains loaded): nothing to open', () => {
    expect(plan(22, state({ installed: false }))).toMatchObject({ steps: [], reason: 'ufw is not installed, so it does not filter 22/tcp' });
    expect(plan(2222, state({ table: OFF, v4: [SSH22] }))).toMatchObject({ steps: [], reason: 'ufw is not active, so it does not filter 2222/tcp' });
    // the iptables dump failed: nothing says ufw filters
    expect(plan(2222, { ...state({ v4: [SSH22] }), active: false }).steps).toEqual([]);
    // ufw status lists ufw-user-input, -output and -forward: one chain alone is not ufw's "active"
    expect(state({ table: '-N ufw-user-input\n' }).active).toBe(false);
    expect(state({ table: ACTIVE }).active).toBe(true);
  });

  it('active with a rule for the port (IPv4 and IPv6, as `ufw allow 22/tcp` writes it): no change', () => {
    expect(plan(22, state({ v4: [SSH22], v6: [SSH22_V6] }))).toMatchObject({ steps: [], reason: `ufw already lets this controller in on 22/tcp: "allow 22/tcp comment 'shipshape ssh'" lets it in` });
  });

  it('reads the rules even where /etc/default/ufw is missing (its defaults then: IPv6 on)', () => {
    const { join } = ufwState.compose!;
    const dump = sizedDumpText([{ path: '/etc/ufw/user.rules', content: rulesFile('ufw', [SSH22]) }]);
    const ufw = parseUfw(join([{ stdout: 'installed\n', code: 0 }, { stdout: ACTIVE, code: 0 }, { stdout: dump, code: 0 }]).stdout);
    expect(ufw.rules).toEqual(["allow 22/tcp comment 'shipshape ssh'"]);
    expect(plan(22, ufw).steps).toEqual([]);
  });

  it('active with no rule at all: opens the port to everyone, or to ssh_allow_from', () => {
    expect(argv(plan(22, state()))).toEqual(['ufw allow 22/tcp comment shipshape ssh']);
    expect(argv(plan(22, state(), ['203.0.113.0/24', '10.0.0.1']))).toEqual([
      'ufw allow from 203.0.113.0/24 to any port 22 proto tcp comment shipshape ssh',
      'ufw allow from 10.0.0.1 to any port 22 proto tcp comment shipshape ssh',
    ]);
    expect(plan(22, state()).reason).toBe('open 22/tcp in ufw before sshd listens there (ufw is active, and no rule lets it in (default incoming deny))');
  });

  it('the port moved: the rule for the old port does not let the new one in (nor does the OpenSSH profile, which is 22)', () => {
    const ufw = state({ v4: [SSH22, '### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in'], v6: [SSH22_V6] });
    expect(argv(plan(2222, ufw))).toEqual(['ufw allow 2222/tcp comment shipshape ssh']);
    expect(plan(22, ufw).steps).toEqual([]);
    // in check mode the plan is the same: check reports what apply would do
    expect(argv(planFor('ssh_firewall', { port: 2222 }, { ufw }, {}, true))).toEqual(['ufw allow 2222/tcp comment shipshape ssh']);
  });

  it('limit lets the port in as allow does, logged or not; a rule narrowed to sources counts when the controller is one of them', () => {
    expect(plan(2222, state({ v4: ['### tuple ### limit_log tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in'] })).steps).toEqual([]);
    expect(plan(2222, state({ v4: ['### tuple ### allow any any 0.0.0.0/0 any 10.99.0.1 in'] })).steps).toEqual([]);
    // another source: the confirmation login after the move would be dropped, so the port is opened as declared
    const office = state({ v4: ['### tuple ### limit tcp 2222 0.0.0.0/0 any 203.0.113.0/24 in'] });
    expect(argv(plan(2222, office, ['203.0.113.0/24', '10.99.0.1']))).toEqual([
      'ufw allow from 203.0.113.0/24 to any port 2222 proto tcp comment shipshape ssh',
      'ufw allow from 10.99.0.1 to any port 2222 proto tcp comment shipshape ssh',
    ]);
    // a deny for the controller before the allow shuts it out (ufw's order)
    const denied = state({ v4: ['### tuple ### deny tcp 2222 0.0.0.0/0 any 10.99.0.1 in', '### tuple ### allow tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in'] });
    expect(plan(2222, denied).steps).toHaveLength(1);
  });

  it('a rule only in user6.rules does not let IPv4 in: the port is opened (both families, as ufw allow writes them)', () => {
    const v6only = state({ v4: [SSH22], v6: [SSH22_V6, '### tuple ### allow tcp 2222 ::/0 any ::/0 in'] });
    // the firewall role sees the rule (ufw show added prints it once), the SSH check does not count it for IPv4
    expect(v6only.rules).toContain('allow 2222/tcp');
    expect(argv(plan(2222, v6only))).toEqual(['ufw allow 2222/tcp comment shipshape ssh']);
    expect(argv(plan(2222, state({ v6: ['### tuple ### allow tcp 2222 ::/0 any 2001:db8::/32 in'] })))).toEqual(['ufw allow 2222/tcp comment shipshape ssh']);
    // with IPV6=no ufw does not load user6.rules at all
    expect(state({ ipv6: false, v6: [SSH22_V6] }).tuples).toEqual([]);
  });

  it('other rules for the port do not let it in: deny, udp, outgoing, routed; a range or list holding it, or any protocol, does', () => {
    const one = (tuple: string) => plan(2222, state({ v4: [tuple] })).steps.length === 0;
    expect(one('### tuple ### deny tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in')).toBe(false);
    expect(one('### tuple ### allow udp 2222 0.0.0.0/0 any 0.0.0.0/0 in')).toBe(false);
    expect(one('### tuple ### allow tcp 2222 0.0.0.0/0 any 0.0.0.0/0 out')).toBe(false);
    expect(one('### tuple ### route:allow tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in')).toBe(false);
    expect(one('### tuple ### allow tcp 2200 0.0.0.0/0 any 0.0.0.0/0 in')).toBe(false);
    expect(one('### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in')).toBe(false);
    expect(one('### tuple ### allow tcp 2000:3000 0.0.0.0/0 any 0.0.0.0/0 in')).toBe(true);
    expect(one('### tuple ### allow tcp 80,2222 0.0.0.0/0 any 0.0.0.0/0 in')).toBe(true);
    expect(one('### tuple ### allow any 2222 0.0.0.0/0 any 0.0.0.0/0 in')).toBe(true);
    // on an interface: only when the controller's packets arrive there (the host's route back to it)
    expect(one('### tuple ### allow tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in_eth0')).toBe(false);
    const eth0 = state({ v4: ['### tuple ### allow tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in_eth0'] });
    expect(planFor('ssh_firewall', { port: 2222 }, { ufw: eth0 }, { clientRoute: { dev: 'eth0', nets: [] } }).steps).toEqual([]);
    expect(planFor('ssh_firewall', { port: 2222 }, { ufw: eth0 }, { clientRoute: { dev: 'eth1', nets: [] } }).steps).toHaveLength(1);
  });

  it('parses a tuple into the fields ufw keeps, and coversPort reads them', () => {
    const t = parseTuple('### tuple ### limit_log tcp 2222 0.0.0.0/0 any 203.0.113.0/24 in_eth0 comment=6869', 4)!;
    expect(t).toMatchObject({ family: 4, route: false, action: 'limit', log: 'log', proto: 'tcp', dport: '2222', src: '203.0.113.0/24', direction: 'in', ifIn: 'eth0', comment: 'hi' });
    expect(coversPort(t, 2222, 'tcp')).toBe(true);
    expect(coversPort(t, 2222, 'udp')).toBe(false);
    expect(parseTuple('### tuple ### allow tcp 22', 4)).toBeUndefined();
  });

  it("reads ufw's state once for the play: the firewall role and the SSH check share one probe, no process of their own", () => {
    expect(sshFirewall.facts({ port: 22, from: [] }).ufw).toBe(ufwState);
    const probes = uniqueProbes([ufwState, ...Object.values(sshFirewall.facts({ port: 2222, from: [] }))]);
    expect(probes.map((p) => p.id)).toEqual(['ufw:state']);
    const { commands } = countProcesses(renderBatch({ probes }, '0123456789abcdef'));
    expect(commands.iptables).toBe(1);
    expect(commands.grep ?? 0).toBe(0);
    expect(commands.ufw ?? 0).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { parseBatch, renderBatch } from '../../../src/core/script.js';
import { sizedDumpText } from '../../../src/facts/dump.js';
import { letsIn, parseSshFirewall, sshFirewallState } from '../../../roles/ssh/ssh_firewall.js';
import { planFor } from '../helpers/plan.js';

// user.rules as ufw 0.36 writes it (Debian 12 and 13): the tuples `ufw show added` prints
const USER_RULES = [
  '*filter',
  ':ufw-user-input - [0:0]',
  '### RULES ###',
  '',
  "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=7368697073686170652073736820",
  '-A ufw-user-input -p tcp --dport 22 -j ACCEPT',
  '',
  '### tuple ### limit_log tcp 2222 0.0.0.0/0 any 203.0.113.0/24 in',
  '### tuple ### allow tcp 80,443 0.0.0.0/0 any 0.0.0.0/0 in',
  '### tuple ### deny tcp 2200 0.0.0.0/0 any 0.0.0.0/0 in',
  '### END RULES ###',
  'COMMIT',
  '',
].join('\n');
const ACTIVE_TABLE = ['-P INPUT DROP', '-N ufw-user-input', '-N ufw-user-output', '-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT', ''].join('\n');

describe('ssh_firewall: the SSH port opened in an active ufw, read from the play\'s iptables dump and file dump', () => {
  it('is active exactly when ufw-user-input is loaded (iptables -n -L ufw-user-input), whatever ufw.conf says', () => {
    const { join } = sshFirewallState.compose!;
    const dump = { stdout: sizedDumpText([{ path: '/etc/ufw/user.rules', content: USER_RULES }]), code: 0 };
    const fw = (table: { stdout: string; code: number }) => parseSshFirewall(join([table, dump]).stdout);
    expect(fw({ stdout: ACTIVE_TABLE, code: 0 })).toEqual({ active: true, tuples: USER_RULES.split('\n').filter((l) => l.startsWith('### tuple ###')) });
    // inactive: only the kernel's own chains; no iptables at all (the dump's probe failed)
    expect(fw({ stdout: '-P INPUT ACCEPT\n-N ufw-user-input-x\n', code: 0 }).active).toBe(false);
    expect(fw({ stdout: '', code: 1 }).active).toBe(false);
    // no user.rules: active, no rule
    expect(parseSshFirewall(join([{ stdout: ACTIVE_TABLE, code: 0 }, { stdout: '', code: 0 }]).stdout)).toEqual({ active: true, tuples: [] });
  });

  it('a rule lets the port in as the old grep said: allow or limit, logged or not, tcp, this exact port, any source', () => {
    const tuples = USER_RULES.split('\n').filter((l) => l.startsWith('### tuple ###'));
    expect(tuples.filter((t) => letsIn(t, 22))).toHaveLength(1);
    expect(tuples.filter((t) => letsIn(t, 2222))).toHaveLength(1);
    expect(tuples.filter((t) => letsIn(t, 2200))).toHaveLength(0);
    expect(tuples.filter((t) => letsIn(t, 80))).toHaveLength(0);
    expect(tuples.filter((t) => letsIn(t, 2))).toHaveLength(0);
  });

  it('plans ufw allow only when ufw is active and no rule lets the port in; the same in check', () => {
    const tuples = USER_RULES.split('\n').filter((l) => l.startsWith('### tuple ###'));
    expect(planFor('ssh_firewall', { port: 22 }, { fw: { active: false, tuples: [] } })).toMatchObject({ steps: [], reason: 'ufw is not active, so it does not filter 22/tcp' });
    expect(planFor('ssh_firewall', { port: 22 }, { fw: { active: true, tuples } })).toMatchObject({ steps: [], reason: 'a ufw rule already lets 22/tcp in' });
    for (const check of [false, true]) {
      const open = planFor('ssh_firewall', { port: 2022 }, { fw: { active: true, tuples } }, {}, check);
      expect(open.steps).toEqual([{ kind: 'run', argv: ['ufw', 'allow', '2022/tcp', 'comment', 'shipshape ssh'] }]);
    }
    const from = planFor('ssh_firewall', { port: 2022, from: ['203.0.113.0/24', '10.0.0.1'] }, { fw: { active: true, tuples } });
    expect(from.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : ''))).toEqual([
      'ufw allow from 203.0.113.0/24 to any port 2022 proto tcp comment shipshape ssh',
      'ufw allow from 10.0.0.1 to any port 2022 proto tcp comment shipshape ssh',
    ]);
  });

  it('starts no process of its own in a batch: its parts are the play\'s iptables -S and file dump', () => {
    const script = renderBatch({ probes: [sshFirewallState] }, 'n0nce');
    expect(script).not.toMatch(/iptables -w -n -L|grep/);
    expect(script.match(/iptables -w -S/g)).toHaveLength(1);
    const out = parseBatch('', { probes: [sshFirewallState] }, 'n0nce');
    expect(out.incomplete).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { parseUfw } from '../../../src/facts/ufw.js';
import { planFor } from '../helpers/plan.js';

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
    });
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

  it('reports undeclared rules, and removes them only with purge', () => {
    const facts = { ufw: { ...fresh, active: true, rules: ['allow 22/tcp', 'allow 8080/tcp'] } };
    const kept = planFor('ufw', { rules: ['22/tcp'] }, facts);
    expect(kept.steps).toEqual([]);
    expect(kept.reason).toMatch(/"allow 8080\/tcp"/);
    expect(argv(planFor('ufw', { rules: ['22/tcp'], purge: true }, facts))).toEqual(['ufw delete allow 8080/tcp']);
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

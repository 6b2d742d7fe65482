import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeStep, renderStep, type Step } from '../../../src/core/step.js';
import { parseChainRules } from '../../../src/facts/docker.js';
import { parseStatLine, type FileContent } from '../../../src/facts/file.js';
import { parseUfw } from '../../../src/facts/ufw.js';
import dockerUfw, { chainLines, restoreInput, ruleBlock, withBlock } from '../../../roles/docker/docker_ufw.js';
import { planFor } from '../helpers/plan.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const file = (text: string): FileContent => ({ ...parseStatLine(`regular file|640|root|root|${text.length}`), sha256: sha(text), content: text });

// the tail of Debian 12's stock /etc/ufw/after.rules (ufw 0.36.2)
const STOCK = `# don't log noisy broadcast
-A ufw-after-input -m addrtype --dst-type BROADCAST -j ufw-skip-to-policy-input

# don't delete the 'COMMIT' line or these rules won't be processed
COMMIT
`;
const STOCK6 = STOCK.replace(/ufw-/g, 'ufw6-');

const active = parseUfw('installed\nStatus: active\nIPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\nDEFAULT_FORWARD_POLICY="DROP"\n--rules--\nufw allow 22/tcp\n');
const inactive = { ...active, active: false };
const args = dockerUfw.schema.parse({ public_ports: [8082, '53/udp', '9000:9010/tcp'] });

// recorded on a lab host (Debian 12, iptables-nft 1.8.9) after loading the block: what `iptables -S` prints back
const RECORDED_LIVE = `--ipv4--
-N DOCKER-USER
-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
-A DOCKER-USER -i docker+ -j RETURN
-A DOCKER-USER -i br-+ -j RETURN
-A DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8082 -j RETURN
-A DOCKER-USER -o docker+ -j DROP
-A DOCKER-USER -o br-+ -j DROP
-A DOCKER-USER -j RETURN
--ipv6--
`;
const only8082 = dockerUfw.schema.parse({ public_ports: [8082] });

const steps = (p: { steps: Step[] }) => p.steps.map(describeStep);

describe('the DOCKER-USER rule set', () => {
  it('lets replies and container traffic through, then public published ports (by the port dialled), and drops the rest into Docker bridges', () => {
    expect(chainLines(args)).toEqual([
      '-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
      '-A DOCKER-USER -i docker+ -j RETURN',
      '-A DOCKER-USER -i br-+ -j RETURN',
      '-A DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8082 -j RETURN',
      '-A DOCKER-USER -p udp -m conntrack --ctstate DNAT --ctorigdstport 53 -j RETURN',
      '-A DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9000:9010 -j RETURN',
      '-A DOCKER-USER -o docker+ -j DROP',
      '-A DOCKER-USER -o br-+ -j DROP',
      '-A DOCKER-USER -j RETURN',
    ]);
  });

  it('declares the chain in its restore input: ufw starts before Docker at boot, and re-declaring flushes it (idempotent reloads)', () => {
    expect(restoreInput(['-A DOCKER-USER -j RETURN'])).toBe('*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\nCOMMIT\n');
  });

  it('refuses port specs iptables would not take', () => {
    for (const bad of ['80/sctp', 'http', 0, 70000, '1:99999']) expect(dockerUfw.schema.safeParse({ public_ports: [bad] }).success).toBe(false);
  });

  it('parses live rules from iptables -S, telling a missing chain from an empty one', () => {
    expect(parseChainRules(RECORDED_LIVE, 'DOCKER-USER')).toEqual({ v4: chainLines(only8082), v6: undefined });
    expect(parseChainRules('--ipv4--\n-N DOCKER-USER\n--ipv6--\n-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n', 'DOCKER-USER')).toEqual({ v4: [], v6: ['-A DOCKER-USER -j RETURN'] });
    expect(parseChainRules('--ipv4--\n-N DOCKER-USERX\n-A DOCKER-USERX -j DROP\n', 'DOCKER-USER')).toEqual({});
  });
});

describe('the marked block in after.rules', () => {
  it('is appended once, replaced in place, and removed with the blank line before it', () => {
    const added = withBlock(STOCK, ruleBlock(args));
    expect(added.startsWith(STOCK + '\n# BEGIN shipshape docker_ufw')).toBe(true);
    expect(added.endsWith('COMMIT\n# END shipshape docker_ufw\n')).toBe(true);
    expect(withBlock(added, ruleBlock(args))).toBe(added);
    const changed = withBlock(added + '# an operator line after it\n', ruleBlock(only8082));
    expect(changed).toBe(withBlock(STOCK, ruleBlock(only8082)) + '# an operator line after it\n');
    expect(withBlock(added, undefined)).toBe(STOCK);
  });

  it('is a valid iptables-restore input on its own (what the write step validates)', () => {
    const block = ruleBlock(args);
    expect(block.split('\n').filter((l) => !l.startsWith('#'))).toEqual(restoreInput(chainLines(args)).trimEnd().split('\n'));
    // the validate command extracts exactly the block
    const r = spawnSync('sh', ['-c', `printf '%s' "$1" | sed -n '/^# BEGIN shipshape docker_ufw/,/^# END shipshape docker_ufw$/p'`, 'sh', withBlock(STOCK, block)], { encoding: 'utf8' });
    expect(r.stdout).toBe(block + '\n');
  });
});

describe('docker_ufw plans', () => {
  const fresh = { v4: file(STOCK), v6: file(STOCK6), ufw: active, live: {} };

  it('on a host with ufw active: both files, validated, then the live rules of both families', () => {
    const p = planFor('docker_ufw', { public_ports: [8082] }, fresh);
    expect(steps(p)).toEqual([
      "write /etc/ufw/after.rules (validated: sed -n '/^# BEGIN shipshape docker_ufw/,/^# END shipshape docker_ufw$/p' %s | iptables-restore -w 30 --test --noflush)",
      "write /etc/ufw/after6.rules (validated: sed -n '/^# BEGIN shipshape docker_ufw/,/^# END shipshape docker_ufw$/p' %s | ip6tables-restore -w 30 --test --noflush)",
      'iptables-restore -w 30 --noflush',
      'ip6tables-restore -w 30 --noflush',
    ]);
    // the write keeps the file's mode (ufw warns about group/world writable rule files)
    expect((p.steps[0] as Extract<Step, { kind: 'write' }>).mode).toBeUndefined();
    expect((p.steps[2] as Extract<Step, { kind: 'run' }>).input).toBe(restoreInput(chainLines(only8082)));
    expect(p.reason).toBe('write the docker block in /etc/ufw/after.rules; write the docker block in /etc/ufw/after6.rules; load the IPv4 DOCKER-USER rules (chain created); load the IPv6 DOCKER-USER rules (chain created)');
  });

  it('is a no-op when files and live chains match, and says what holds', () => {
    const lines = chainLines(only8082);
    const facts = { v4: file(withBlock(STOCK, ruleBlock(only8082))), v6: file(withBlock(STOCK6, ruleBlock(only8082))), ufw: active, live: { v4: lines, v6: lines } };
    const p = planFor('docker_ufw', { public_ports: [8082] }, facts);
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('published container ports obey ufw except 8082/tcp (/etc/ufw/after.rules, /etc/ufw/after6.rules, live IPv4 rules, live IPv6 rules)');
  });

  it('re-loads live rules someone flushed, without rewriting the files', () => {
    const lines = chainLines(only8082);
    const facts = { v4: file(withBlock(STOCK, ruleBlock(only8082))), v6: file(withBlock(STOCK6, ruleBlock(only8082))), ufw: active, live: { v4: ['-A DOCKER-USER -j RETURN'], v6: lines } };
    expect(steps(planFor('docker_ufw', { public_ports: [8082] }, facts))).toEqual(['iptables-restore -w 30 --noflush']);
  });

  it('with ufw inactive writes the files only: ufw loads them when enabled', () => {
    const p = planFor('docker_ufw', {}, { ...fresh, ufw: inactive });
    expect(steps(p).map((s) => s.split(' (')[0])).toEqual(['write /etc/ufw/after.rules', 'write /etc/ufw/after6.rules']);
  });

  it('with ufw IPv6 off leaves ip6tables alone', () => {
    const p = planFor('docker_ufw', {}, { ...fresh, ufw: { ...active, ipv6: false } });
    expect(steps(p).filter((s) => s.startsWith('ip6tables'))).toEqual([]);
  });

  it('without ufw plans a step that fails with the reason: an earlier task may still install ufw', () => {
    const p = planFor('docker_ufw', {}, { v4: { exists: false }, v6: { exists: false }, ufw: parseUfw(''), live: {} });
    expect(p.fail).toBeUndefined();
    expect(p.reason).toMatch(/once ufw is installed/);
    const r = spawnSync('sh', ['-c', renderStep(p.steps[0])], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/needs the firewall role/);
  });

  it('state: absent removes the block and empties the chain back to what Docker leaves', () => {
    const lines = chainLines(only8082);
    const facts = { v4: file(withBlock(STOCK, ruleBlock(only8082))), v6: file(withBlock(STOCK6, ruleBlock(only8082))), ufw: active, live: { v4: lines, v6: lines } };
    const p = planFor('docker_ufw', { state: 'absent', public_ports: [8082] }, facts);
    expect(steps(p)).toEqual(['write /etc/ufw/after.rules', 'write /etc/ufw/after6.rules', 'iptables-restore -w 30 --noflush', 'ip6tables-restore -w 30 --noflush']);
    expect((p.steps[0] as Extract<Step, { kind: 'write' }>).content).toBe(STOCK);
    expect((p.steps[2] as Extract<Step, { kind: 'run' }>).input).toBe(restoreInput(['-A DOCKER-USER -j RETURN']));
  });
});

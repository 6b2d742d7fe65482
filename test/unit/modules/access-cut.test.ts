/** Changes that would cut the operator's access: refused up front (sshd stopped, openssh-server removed) or guarded (rp_filter). */
import { describe, expect, it } from 'vitest';
import { modules, planFor, sshAccess, debian12 } from '../helpers/plan.js';

const ctx = { host: debian12, access: sshAccess, check: false };
const preflight = (module: string, args: unknown) => {
  const m = modules[module];
  return m.preflight?.(m.schema.parse(args), ctx);
};

describe('changes that cut SSH access', () => {
  it.each([
    [{ name: 'ssh', state: 'stopped' }, /stop ssh/],
    [{ name: 'sshd.service', enabled: false }, /disable sshd\.service/],
    [{ name: 'ssh', masked: true, state: 'stopped' }, /stop ssh/],
  ])('service %j is refused before the play changes anything', (args, says) => {
    expect(preflight('service', args)).toMatch(says);
  });

  it('other services, and restarting sshd, are not refused', () => {
    expect(preflight('service', { name: 'nginx', state: 'stopped' })).toBeUndefined();
    expect(preflight('service', { name: 'ssh', state: 'restarted' })).toBeUndefined();
  });

  it('removing openssh-server is refused; removing other packages is not', () => {
    expect(preflight('apt', { name: ['telnet', 'openssh-server'], state: 'absent' })).toMatch(/remove openssh-server/);
    expect(preflight('apt', { name: ['openssh-server'], state: 'present' })).toBeUndefined();
    expect(preflight('apt', { name: ['telnet'], state: 'absent' })).toBeUndefined();
  });

  it('rp_filter set in the running kernel is guarded, with the old value restored on a revert', () => {
    const p = planFor('sysctl', { name: 'net.ipv4.conf.all.rp_filter', value: '1', sysctl_file: '/etc/sysctl.d/90-x.conf' }, { file: { exists: false }, runtime: '2' });
    expect(p.accessCritical).toMatch(/reverse-path filtering/);
    expect(p.guard).toEqual({ paths: ['/etc/sysctl.d/90-x.conf'], restore: 'sysctl -w net.ipv4.conf.all.rp_filter=2' });
    const other = planFor('sysctl', { name: 'vm.swappiness', value: '10', sysctl_file: '/etc/sysctl.d/90-x.conf' }, { file: { exists: false }, runtime: '60' });
    expect(other.accessCritical).toBeUndefined();
  });
});

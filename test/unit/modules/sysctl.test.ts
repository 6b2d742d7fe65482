import { describe, expect, it } from 'vitest';
import type { HostInfo, Plan } from '../../../src/core/module.js';
import { describeStep } from '../../../src/core/step.js';
import { parseStatLine, type FileContent } from '../../../src/facts/file.js';
import sysctl, { editSysctlFile } from '../../../src/modules/sysctl.js';
import { debian12, sshAccess } from '../helpers/plan.js';

/** planFor() for a module not yet in the registry: schema applied, fixture facts checked against the module's. */
function plan(args: unknown, facts: Record<string, unknown>, host: Partial<HostInfo> = {}): Plan {
  const a = sysctl.schema.parse(args);
  expect(Object.keys(facts).sort()).toEqual(Object.keys(sysctl.facts(a)).sort());
  return sysctl.plan(a, facts as never, { host: { ...debian12, ...host }, access: sshAccess, check: false });
}
const commands = (p: Plan) => p.steps.map(describeStep);

const FILE = '/etc/sysctl.d/99-shipshape.conf';
const DROPIN = '# managed by shipshape\nvm.swappiness = 10\nnet.ipv4.ip_forward=0\n';
const file = (text: string): FileContent => ({ ...parseStatLine(`regular file|644|root|root|${text.length}`), content: text });
const absent: FileContent = { exists: false };

describe('sysctl module plans', () => {
  it('writes the key into a new drop-in and sets the running value', () => {
    const p = plan({ name: 'net.ipv4.ip_forward', value: 1 }, { file: absent, runtime: '0' });
    expect(commands(p)).toEqual(['mkdir -p -- /etc/sysctl.d', `write ${FILE}`, 'sysctl -w net.ipv4.ip_forward=1']);
    expect(p.steps[1]).toMatchObject({ content: 'net.ipv4.ip_forward=1\n' });
    expect(p.reason).toBe(`set net.ipv4.ip_forward = 1 in ${FILE}; set the running net.ipv4.ip_forward 0 -> 1`);
    expect(p.diff).toEqual([
      { subject: FILE, before: '', after: 'net.ipv4.ip_forward=1\n' },
      { subject: 'sysctl net.ipv4.ip_forward', before: '0\n', after: '1\n' },
    ]);
  });

  it('changes the existing line, keeping every other line', () => {
    const p = plan({ name: 'net.ipv4.ip_forward', value: '1' }, { file: file(DROPIN), runtime: '1' });
    expect(commands(p)).toEqual([`write ${FILE}`]);
    expect(p.steps[0]).toMatchObject({ content: '# managed by shipshape\nvm.swappiness = 10\nnet.ipv4.ip_forward=1\n' });
    expect(p.reason).toBe(`set net.ipv4.ip_forward = 1 in ${FILE}`);
  });

  it('does nothing when file and kernel agree, whatever the spacing, and says so', () => {
    const p = plan({ name: 'vm.swappiness', value: 10 }, { file: file(DROPIN), runtime: '10' });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe(`vm.swappiness = 10 already in ${FILE} and in the running kernel`);
    const range = plan(
      { name: 'net.ipv4.ip_local_port_range', value: '1024 65000' },
      { file: file('net.ipv4.ip_local_port_range = 1024\t65000\n'), runtime: '1024 65000' },
    );
    expect(range.steps).toEqual([]);
    expect(range.reason).toBe(`net.ipv4.ip_local_port_range = 1024 65000 already in ${FILE} and in the running kernel`);
  });

  it('sets only the running value when the file is right but the kernel is not', () => {
    const p = plan({ name: 'vm.swappiness', value: '10' }, { file: file(DROPIN), runtime: '60' });
    expect(commands(p)).toEqual(['sysctl -w vm.swappiness=10']);
    expect(p.reason).toBe('set the running vm.swappiness 60 -> 10');
  });

  it('with reload: false leaves the kernel alone, and says so', () => {
    const p = plan({ name: 'vm.swappiness', value: '10', reload: false }, { file: file(DROPIN), runtime: '60' });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe(`vm.swappiness = 10 already in ${FILE}; the running value 60 is left as it is (reload is false)`);
  });

  it('plans a key the running kernel does not have yet (its module may be loaded by an earlier task)', () => {
    const p = plan({ name: 'net.bridge.bridge-nf-call-iptables', value: 1 }, { file: file(DROPIN), runtime: undefined });
    expect(commands(p)).toEqual([`write ${FILE}`, 'sysctl -w net.bridge.bridge-nf-call-iptables=1']);
    expect(p.reason).toMatch(/in the running kernel \(not there yet\)$/);
  });

  it('removes the key from the file with state: absent, and is ok when it is not there', () => {
    const p = plan({ name: 'vm.swappiness', state: 'absent' }, { file: file(DROPIN) });
    expect(p.steps[0]).toMatchObject({ kind: 'write', content: '# managed by shipshape\nnet.ipv4.ip_forward=0\n' });
    expect(p.reason).toBe(`remove vm.swappiness from ${FILE}`);
    const ok = plan({ name: 'kernel.panic', state: 'absent' }, { file: file(DROPIN) });
    expect(ok.steps).toEqual([]);
    expect(ok.reason).toBe(`kernel.panic is not set in ${FILE} (the running value is left as it is)`);
  });

  it('skips in a container, where kernel sysctls are read-only', () => {
    const p = plan({ name: 'net.ipv4.ip_forward', value: 1 }, { file: absent, runtime: '0' }, { container: 'lxc' });
    expect(p.steps).toEqual([]);
    expect(p.skip).toBe('kernel sysctls are read-only in a lxc container; set them on the host');
    expect(p.fail).toBeUndefined();
  });

  it('uses sysctl_file and YAML booleans as Ansible does', () => {
    const p = plan({ name: 'net.ipv6.conf.all.disable_ipv6', value: true, sysctl_file: '/etc/sysctl.conf' }, { file: file(''), runtime: '1' });
    expect(commands(p)).toEqual(['write /etc/sysctl.conf']);
    expect(p.reason).toBe('set net.ipv6.conf.all.disable_ipv6 = 1 in /etc/sysctl.conf');
  });

  it('needs a value for state: present, on one line', () => {
    expect(() => sysctl.schema.parse({ name: 'vm.swappiness' })).toThrow(/needs a value/);
    expect(() => sysctl.schema.parse({ name: 'vm.swappiness', value: '1\nkernel.panic=1' })).toThrow(/one line/);
    expect(() => sysctl.schema.parse({ name: 'vm swappiness', value: 1 })).toThrow(/sysctl key/);
  });
});

describe('editing a sysctl file', () => {
  it('keeps an untouched file byte for byte, even without a final newline', () => {
    expect(editSysctlFile('vm.swappiness=10', 'vm.swappiness', '10')).toBe('vm.swappiness=10');
    expect(editSysctlFile('vm.swappiness=10', 'kernel.panic', undefined)).toBe('vm.swappiness=10');
  });

  it('drops later duplicates of the key, which would override the first', () => {
    expect(editSysctlFile('a.b=1\n# note\na.b = 2\n-a.b=3\n', 'a.b', '1')).toBe('a.b=1\n# note\n');
  });

  it('ignores comments that mention the key', () => {
    expect(editSysctlFile('# a.b=5\n; a.b=6\n', 'a.b', '1')).toBe('# a.b=5\n; a.b=6\na.b=1\n');
  });

  it('appends after a last line without newline', () => {
    expect(editSysctlFile('x.y=1', 'a.b', '2')).toBe('x.y=1\na.b=2\n');
  });
});

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordPortInInventory } from '../../../src/cli/inventory-port.js';

const opts = { sshConfig: false as const, home: '/nonexistent', localUser: 'me' };

function inventory(hosts: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-invport-'));
  writeFileSync(join(dir, 'hosts.yml'), hosts);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('recording a moved SSH port in the inventory', () => {
  it('adds the port right under a host that had none of its own, keeping every comment', async () => {
    const text = [
      '# production',
      'all:',
      '  vars:',
      '    user: deploy   # after the first run',
      '    port: 22',
      '  hosts:',
      '    web1:',
      '      # the public address',
      '      host: 10.0.0.1',
      '    web2:',
      '      host: 10.0.0.2',
      '',
    ].join('\n');
    const dir = inventory(text);
    const r = await recordPortInInventory(dir, 'web1', 22, 2222, opts);
    expect(r).toMatchObject({ ok: true });
    expect(r.ok && r.note).toMatch(/added `port: 2222`.*web1.*hosts\.yml:8/);
    expect(readFileSync(join(dir, 'hosts.yml'), 'utf8')).toBe(text.replace('    web1:\n', '    web1:\n      port: 2222\n'));
  });

  it('updates the port where the host sets it, in hosts.yml or in host_vars (which wins)', async () => {
    const text = 'all:\n  hosts:\n    db:\n      host: 10.0.0.3\n      ansible_port: "22"  # moved later\n';
    const dir = inventory(text);
    const r = await recordPortInInventory(dir, 'db', 22, 2200, opts);
    expect(r.ok && r.note).toMatch(/updated `ansible_port: "22"` to `ansible_port: 2200`/);
    expect(readFileSync(join(dir, 'hosts.yml'), 'utf8')).toBe(text.replace('"22"', '2200'));

    const dir2 = inventory('all:\n  hosts:\n    db:\n      port: 22\n', { 'host_vars/db.yml': '# db\nport: 22 # here\n' });
    const r2 = await recordPortInInventory(dir2, 'db', 22, 2200, opts);
    expect(r2.ok && r2.note).toMatch(/host_vars\/db\.yml:2/);
    expect(readFileSync(join(dir2, 'host_vars/db.yml'), 'utf8')).toBe('# db\nport: 2200 # here\n');
    expect(readFileSync(join(dir2, 'hosts.yml'), 'utf8')).toBe('all:\n  hosts:\n    db:\n      port: 22\n');
  });

  it('gives a host listed with nothing a mapping, and a flow mapping a key', async () => {
    const dir = inventory('all:\n  hosts:\n    a:   # empty\n    b: {host: 10.0.0.2}\n');
    expect(await recordPortInInventory(dir, 'a', 22, 2222, opts)).toMatchObject({ ok: true });
    expect(await recordPortInInventory(dir, 'b', 22, 2223, opts)).toMatchObject({ ok: true });
    expect(readFileSync(join(dir, 'hosts.yml'), 'utf8')).toBe('all:\n  hosts:\n    a: # empty\n      port: 2222\n    b: {port: 2223, host: 10.0.0.2}\n');
  });

  it('leaves templates and host ranges alone and says why', async () => {
    const text = 'all:\n  vars:\n    ssh_port: 22\n  hosts:\n    t:\n      port: "{{ ssh_port }}"\n    web[1:2]:\n';
    const dir = inventory(text);
    const t = await recordPortInInventory(dir, 't', 22, 2222, opts);
    expect(t).toMatchObject({ ok: false, why: expect.stringMatching(/template/) });
    const w = await recordPortInInventory(dir, 'web1', 22, 2222, opts);
    expect(w).toMatchObject({ ok: false, why: expect.stringMatching(/host range/) });
    expect(readFileSync(join(dir, 'hosts.yml'), 'utf8')).toBe(text);
  });

  it('puts the file back when the edit would not give the host that port', async () => {
    // a JSON host_vars file wins over the entry in hosts.yml, and is not edited
    const text = 'all:\n  hosts:\n    j:\n      host: 10.0.0.9\n';
    const dir = inventory(text, { 'host_vars/j.json': '{"port": 22}' });
    const r = await recordPortInInventory(dir, 'j', 22, 2222, opts);
    expect(r).toMatchObject({ ok: false, why: expect.stringMatching(/would still not use port 2222.*left as it was/) });
    expect(readFileSync(join(dir, 'hosts.yml'), 'utf8')).toBe(text);
  });
});

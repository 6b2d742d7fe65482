/**
 * The ~/.ssh/config keywords that decide how a host is reached (ProxyJump, HostKeyAlias,
 * IdentitiesOnly) and the ones shipshape cannot honour, which refuse the host before any connection.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { loadInventory } from '../../../src/inventory/index.js';
import { resolveSshConfig } from '../../../src/transport/ssh-config.js';

const config = `
Host bastion
  HostName 203.0.113.1
  User jump
  Port 2201

Host 10.1.0.*
  ProxyJump bastion
  HostKeyAlias app-cluster
  IdentitiesOnly yes

Host app2
  HostName 10.2.0.7
  ProxyJump ops@hop1:2022,hop2

Host legacy.internal
  ProxyCommand nc -X connect -x proxy:3128 %h %p
  CertificateFile ~/.ssh/id_ed25519-cert.pub
`;
const dir = join(import.meta.dirname, '../../fixtures/inventory/proxyjump');
const load = (text: string) => loadInventory(dir, { home: '/home/op', localUser: 'op', sshConfig: (a) => resolveSshConfig(a, text, { home: '/home/op' }) });

describe('~/.ssh/config: how a host is reached', () => {
  it('reads ProxyJump, HostKeyAlias and IdentitiesOnly; `none` turns ProxyJump off', () => {
    expect(resolveSshConfig('10.1.0.5', config)).toMatchObject({ proxyJump: 'bastion', hostKeyAlias: 'app-cluster', identitiesOnly: true });
    expect(resolveSshConfig('x', 'Host x\n  ProxyJump none\nHost *\n  ProxyJump bastion\n').proxyJump).toBeUndefined();
  });

  it('a host behind a bastion gets the bastion as its jump, resolved like a host of its own; chains nest', async () => {
    const inv = await load(config.replace(/Host legacy[\s\S]*$/, ''));
    const app1 = inv.hosts.get('app1')!.connection;
    expect(app1).toMatchObject({ host: '10.1.0.5', port: 22, hostKeyAlias: 'app-cluster', identitiesOnly: true });
    expect(app1.jump).toMatchObject({ host: '203.0.113.1', port: 2201, user: 'jump' });
    const app2 = inv.hosts.get('app2')!.connection;
    // ProxyJump a,b: the target through hop2, hop2 through hop1
    expect(app2.jump).toMatchObject({ host: 'hop2', port: 22, user: 'op' });
    expect(app2.jump!.jump).toMatchObject({ host: 'hop1', port: 2022, user: 'ops' });
    expect(app2.jump!.jump!.jump).toBeUndefined();
  });

  it('refuses hosts whose config sets what shipshape cannot honour, naming the keyword and why', async () => {
    const err = await load(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const text = (err as InputError).format();
    expect(text).toMatch(/legacy: `ProxyCommand nc -X connect -x proxy:3128 %h %p` in ~\/.ssh\/config \(Host legacy.internal\) is not supported/);
    expect(text).toMatch(/use ProxyJump/);
    expect(text).toMatch(/`CertificateFile/);
    expect(text).not.toMatch(/app1/);
  });
});

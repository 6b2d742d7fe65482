import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { fingerprintSha256, parseKnownHosts } from '../../../src/transport/known-hosts.js';
import { hostKeyAlgorithms, makeHostKeyCheck } from '../../../src/transport/ssh-hostkey.js';
import { recordingSpec } from '../../../src/transport/recording.js';
import type { ConnectionSpec } from '../../../src/transport/types.js';

function key(type: 'ed25519' | 'ecdsa'): { b64: string; blob: Buffer } {
  const pair = type === 'ed25519' ? ssh2.utils.generateKeyPairSync('ed25519') : ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
  const b64 = pair.public.split(' ')[1];
  return { b64, blob: Buffer.from(b64, 'base64') };
}

const server = { ed: key('ed25519'), ec: key('ecdsa') };
const rogue = key('ed25519');

/** Runs the verifier the way ssh2 does and returns its verdict, the refusal and the known_hosts file afterwards. */
async function verify(spec: Partial<ConnectionSpec>, knownHosts: string, presented: Buffer) {
  const dir = mkdtempSync(join(tmpdir(), 'ss-hostkey-'));
  const file = join(dir, 'known_hosts');
  writeFileSync(file, knownHosts);
  const logs: string[] = [];
  const check = makeHostKeyCheck({ ...recordingSpec('web'), host: '10.0.0.5', port: 22, ...spec }, parseKnownHosts(knownHosts, file), file, (m) => logs.push(m));
  const ok = await new Promise<boolean>((resolve) => check.verifier(presented, resolve));
  return { ok, problem: check.problem(), file: readFileSync(file, 'utf8'), logs };
}

describe('host key policy', () => {
  it('a pinned connection refuses any other key, even with --accept-new-host-keys (a rogue sshd on a moved port)', async () => {
    const r = await verify({ port: 2222, acceptNewHostKeys: true, pinnedHostKeys: [server.ed.b64, server.ec.b64] }, `10.0.0.5 ssh-ed25519 ${server.ed.b64}\n`, rogue.blob);
    expect(r.ok).toBe(false);
    expect(r.problem?.kind).toBe('hostkey');
    expect(r.problem?.message).toContain(fingerprintSha256(rogue.blob));
    expect(r.problem?.message).toContain(fingerprintSha256(server.ed.blob));
    expect(r.problem?.hint).toMatch(/never overrides/);
    // nothing recorded for the rogue
    expect(r.file).not.toContain(rogue.b64);
  });

  it('the inventory pointed at a rogue on another port: refused with --accept-new-host-keys while the host is on record on port 22', async () => {
    const r = await verify({ port: 2222, acceptNewHostKeys: true }, `10.0.0.5 ssh-ed25519 ${server.ed.b64}\n`, rogue.blob);
    expect(r.ok).toBe(false);
    expect(r.problem?.kind).toBe('hostkey');
    expect(r.problem?.message).toContain(fingerprintSha256(rogue.blob));
    expect(r.problem?.message).toContain(fingerprintSha256(server.ed.blob));
    expect(r.problem?.hint).toMatch(/never overrides/);
    expect(r.file).not.toContain(rogue.b64);
    // a record on another non-default port pins too; a hashed port-22 line as well
    const other = await verify({ port: 2200, acceptNewHostKeys: true }, `[10.0.0.5]:2222 ssh-ed25519 ${server.ed.b64}\n`, rogue.blob);
    expect(other.ok).toBe(false);
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('10.0.0.5').digest('base64')}`;
    expect((await verify({ port: 2222, acceptNewHostKeys: true }, `${hashed} ssh-ed25519 ${server.ed.b64}\n`, rogue.blob)).ok).toBe(false);
  });

  it('the same server moved to another port by the operator: its recorded key is accepted with --accept-new-host-keys and recorded for the port', async () => {
    const r = await verify({ port: 2222, acceptNewHostKeys: true }, `10.0.0.5 ssh-ed25519 ${server.ed.b64}\n`, server.ed.blob);
    expect(r.ok).toBe(true);
    expect(r.file).toContain(`[10.0.0.5]:2222 ssh-ed25519 ${server.ed.b64}`);
    // another host's record pins nothing here
    const fresh = await verify({ port: 2222, acceptNewHostKeys: true }, `10.0.0.6 ssh-ed25519 ${server.ed.b64}\n`, rogue.blob);
    expect(fresh.ok).toBe(true);
  });

  it('a pinned key of the same server on a new port is accepted and recorded under [host]:port', async () => {
    const r = await verify({ port: 2222, pinnedHostKeys: [server.ed.b64] }, `10.0.0.5 ssh-ed25519 ${server.ed.b64}\n`, server.ed.blob);
    expect(r.ok).toBe(true);
    expect(r.file).toContain(`[10.0.0.5]:2222 ssh-ed25519 ${server.ed.b64}`);
  });

  it('known_hosts with only the ECDSA key: after the host drops ECDSA, the pinned ed25519 key is recorded instead of refused', async () => {
    const only = `10.0.0.5 ecdsa-sha2-nistp256 ${server.ec.b64}\n`;
    // without the pin (a plain run) a switch of key type is refused as a possible attack
    const plain = await verify({}, only, server.ed.blob);
    expect(plain.ok).toBe(false);
    expect(plain.problem?.message).toMatch(/CHANGED/);
    // the guard's confirmation login pins the server's keys read over the verified connection
    const pinned = await verify({ pinnedHostKeys: [server.ed.b64, server.ec.b64] }, only, server.ed.blob);
    expect(pinned.ok).toBe(true);
    expect(pinned.file).toContain(`10.0.0.5 ssh-ed25519 ${server.ed.b64}`);
    // and the next plain run then knows the key it will be shown
    const next = await verify({}, pinned.file, server.ed.blob);
    expect(next.ok).toBe(true);
  });

  it('a changed key names both fingerprints and the command that removes the old line', async () => {
    const r = await verify({ acceptNewHostKeys: true }, `10.0.0.5 ssh-ed25519 ${server.ed.b64}\n`, rogue.blob);
    expect(r.ok).toBe(false);
    expect(r.problem?.message).toContain(fingerprintSha256(rogue.blob));
    expect(r.problem?.message).toContain(fingerprintSha256(server.ed.blob));
    expect(r.problem?.hint).toMatch(/ssh-keygen -R 10.0.0.5 -f /);
  });

  it('HostKeyAlias: keys are looked up and recorded under the alias, without the port', async () => {
    const known = await verify({ port: 2200, hostKeyAlias: 'web-prod' }, `web-prod ssh-ed25519 ${server.ed.b64}\n`, server.ed.blob);
    expect(known.ok).toBe(true);
    const fresh = await verify({ port: 2200, hostKeyAlias: 'web-prod', acceptNewHostKeys: true }, '', server.ed.blob);
    expect(fresh.file).toBe(`web-prod ssh-ed25519 ${server.ed.b64}\n`);
  });

  it('a host covered only by @cert-authority is refused clearly, even with --accept-new-host-keys', async () => {
    const ca = key('ed25519');
    const r = await verify({ acceptNewHostKeys: true }, `@cert-authority *.lab.test,10.0.0.* ssh-ed25519 ${ca.b64}\n`, server.ed.blob);
    expect(r.ok).toBe(false);
    expect(r.problem?.message).toMatch(/@cert-authority .*cannot verify host certificates/);
    expect(r.file).not.toContain(server.ed.b64);
  });

  it('asks for the pinned key types first', () => {
    expect(hostKeyAlgorithms([], { host: 'h', port: 22, pinnedHostKeys: [server.ec.b64] })[0]).toBe('ecdsa-sha2-nistp256');
  });
});

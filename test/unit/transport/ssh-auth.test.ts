import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { makeAuthHandler, planAuth } from '../../../src/transport/ssh-auth.js';
import { recordingSpec } from '../../../src/transport/recording.js';

describe('planAuth', () => {
  const home = mkdtempSync(join(tmpdir(), 'auth-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const ssh = join(home, '.ssh');
  mkdirSync(ssh);
  const plain = ssh2.utils.generateKeyPairSync('ed25519');
  const locked = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'pw', cipher: 'aes256-ctr', rounds: 4 });
  writeFileSync(join(ssh, 'id_ed25519'), plain.private);
  writeFileSync(join(ssh, 'id_rsa'), locked.private);
  writeFileSync(join(ssh, 'deploy'), plain.private);
  writeFileSync(join(ssh, 'pub_only'), plain.public);
  writeFileSync(join(ssh, 'config'), 'Host web\n  IdentityFile ~/.ssh/deploy\n  IdentityFile ~/.ssh/pub_only\n');
  const spec = { ...recordingSpec('web'), user: 'deploy', identityFile: '~/.ssh/missing' };

  it('orders agent, identity file, config, defaults; skips unusable keys with notes', () => {
    const plan = planAuth(spec, { home, agentSocket: '/run/agent.sock' });
    expect(plan.candidates.map((c) => c.label)).toEqual(['ssh-agent (/run/agent.sock)', join(ssh, 'deploy'), join(ssh, 'id_ed25519')]);
    expect(plan.candidates.every((c) => c.method.username === 'deploy')).toBe(true);
    expect(plan.notes).toEqual([
      `identity file ${join(ssh, 'missing')} could not be read (ENOENT)`,
      `skipped ${join(ssh, 'pub_only')}: it holds a public key, not a private one`,
      `skipped ${join(ssh, 'id_rsa')}: it is passphrase-protected; load it into ssh-agent (ssh-add ${join(ssh, 'id_rsa')}) to use it`,
    ]);
  });

  it('feeds candidates to ssh2, skipping methods the server does not allow, then gives up', () => {
    const plan = planAuth({ ...spec, identityFile: undefined }, { home, agentSocket: '/run/agent.sock' });
    const tried: string[] = [];
    const handler = makeAuthHandler(plan, tried);
    const picks: unknown[] = [];
    const next = (m: unknown) => picks.push(m === false ? false : (m as { type: string }).type);
    handler(null as never, null as never, next as never);
    handler(['publickey'], false, next as never);
    handler(['password'], false, next as never);
    expect(picks).toEqual(['agent', 'publickey', false]);
    expect(tried).toEqual(['ssh-agent (/run/agent.sock)', join(ssh, 'deploy')]);
  });
});

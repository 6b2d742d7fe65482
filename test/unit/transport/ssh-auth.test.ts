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

  it('offers the configured files first, then the agent; no default names once a file is configured; notes for unusable keys', () => {
    const plan = planAuth(spec, { home, agentSocket: '/run/agent.sock' });
    expect(plan.candidates.map((c) => c.label)).toEqual([join(ssh, 'deploy'), 'ssh-agent (/run/agent.sock)']);
    expect(plan.candidates.every((c) => c.method.username === 'deploy')).toBe(true);
    expect(plan.notes).toEqual([
      `identity file ${join(ssh, 'missing')} could not be read (ENOENT)`,
      `skipped ${join(ssh, 'pub_only')}: it holds a public key, not a private one`,
    ]);
  });

  it('without configured files: agent, then the default names', () => {
    const plan = planAuth({ ...recordingSpec('db'), user: 'deploy' }, { home, agentSocket: '/run/agent.sock' });
    expect(plan.candidates.map((c) => c.label)).toEqual(['ssh-agent (/run/agent.sock)', join(ssh, 'id_ed25519')]);
    expect(plan.notes).toEqual([`skipped ${join(ssh, 'id_rsa')}: it is passphrase-protected; load it into ssh-agent (ssh-add ${join(ssh, 'id_rsa')}) to use it`]);
  });

  it('IdentitiesOnly (an inventory identity_file): only that file, no agent keys, no defaults', () => {
    const plan = planAuth({ ...recordingSpec('db'), user: 'deploy', identityFile: '~/.ssh/deploy', identitiesOnly: true }, { home, agentSocket: '/run/agent.sock' });
    expect(plan.candidates.map((c) => c.label)).toEqual([join(ssh, 'deploy')]);
  });

  it('IdentitiesOnly with a passphrase-protected file: the agent signs only for that key', () => {
    writeFileSync(join(ssh, 'locked'), locked.private);
    writeFileSync(join(ssh, 'locked.pub'), locked.public);
    const plan = planAuth({ ...recordingSpec('db'), user: 'deploy', identityFile: '~/.ssh/locked', identitiesOnly: true }, { home, agentSocket: '/run/agent.sock' });
    expect(plan.candidates).toHaveLength(1);
    const agent = (plan.candidates[0].method as unknown as { agent: { allowed: string[] } }).agent;
    expect(agent.allowed).toEqual([locked.public.split(' ')[1]]);
  });

  it('IdentitiesOnly yes in ~/.ssh/config: only the IdentityFile lines', () => {
    writeFileSync(join(ssh, 'config'), 'Host web\n  IdentityFile ~/.ssh/deploy\n  IdentitiesOnly yes\n');
    const plan = planAuth({ ...recordingSpec('web'), user: 'deploy' }, { home, agentSocket: '/run/agent.sock' });
    expect(plan.candidates.map((c) => c.label)).toEqual([join(ssh, 'deploy')]);
    writeFileSync(join(ssh, 'config'), 'Host web\n  IdentityFile ~/.ssh/deploy\n  IdentityFile ~/.ssh/pub_only\n');
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
    expect(picks).toEqual(['publickey', 'agent', false]);
    expect(tried).toEqual([join(ssh, 'deploy'), 'ssh-agent (/run/agent.sock)']);
  });
});

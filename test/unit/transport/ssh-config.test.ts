import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostPatternsMatch, loadSshConfig, resolveSshConfig } from '../../../src/transport/ssh-config.js';

const home = '/home/op';
const config = `
# global defaults before any Host apply to everyone
ServerAliveInterval 30

Host web web.example.com
    HostName 203.0.113.10
    User deploy
    Port 2222
    IdentityFile ~/.ssh/web_ed25519

Host *.example.com !bad.example.com
  User=ops
  IdentityFile = "%d/.ssh/keys/%h key"

Match host db
  User matched-user

Host db?
  hostname %h.internal
  PORT 2200

Host *
  User fallback
  Port 22
  IdentityFile ~/.ssh/id_ed25519
  IdentityFile ~/.ssh/web_ed25519
`;

const resolve = (alias: string, text = config) => resolveSshConfig(alias, text, { home, localUser: 'op' });

describe('resolveSshConfig', () => {
  it('takes the first value of each keyword and accumulates IdentityFile without duplicates', () => {
    expect(resolve('web')).toEqual({
      hostName: '203.0.113.10',
      user: 'deploy',
      port: 2222,
      identityFiles: ['/home/op/.ssh/web_ed25519', '/home/op/.ssh/id_ed25519'],
    });
  });

  it('handles wildcards, negation, Key=value, quotes and %d/%h tokens', () => {
    expect(resolve('api.example.com')).toEqual({
      user: 'ops',
      port: 22,
      identityFiles: ['/home/op/.ssh/keys/api.example.com key', '/home/op/.ssh/id_ed25519', '/home/op/.ssh/web_ed25519'],
    });
    expect(resolve('bad.example.com').user).toBe('fallback');
  });

  it('matches keywords case-insensitively, expands %h in HostName and skips Match blocks', () => {
    expect(resolve('db1')).toMatchObject({ hostName: 'db1.internal', port: 2200, user: 'fallback' });
    expect(resolve('db').user).toBe('fallback');
  });

  it('resolves nothing for an empty config', () => {
    expect(resolve('web', '')).toEqual({ identityFiles: [] });
  });

  it('ignores an invalid Port', () => {
    expect(resolve('x', 'Host x\n Port banana\nHost *\n Port 2022')).toMatchObject({ port: 2022 });
  });

  it('follows Include only where it appears active, through the reader', () => {
    const text = 'Host web\n  Include web.conf\nHost other\n  Include other.conf\n';
    const read = (p: string) => (p === 'web.conf' ? ['User from-include\nHost never\nUser nope'] : ['User wrong']);
    expect(resolveSshConfig('web', text, { home, readInclude: read }).user).toBe('from-include');
  });
});

describe('hostPatternsMatch', () => {
  it('needs one positive match and no negated one', () => {
    expect(hostPatternsMatch(['*'], 'x')).toBe(true);
    expect(hostPatternsMatch(['!x'], 'y')).toBe(false);
    expect(hostPatternsMatch(['*', '!x'], 'x')).toBe(false);
    expect(hostPatternsMatch(['10.0.0.?'], '10.0.0.7')).toBe(true);
  });
});

describe('loadSshConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sshcfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ~/.ssh/config and Include globs relative to ~/.ssh', () => {
    mkdirSync(join(dir, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(dir, '.ssh', 'config'), 'Include conf.d/*.conf\nHost *\n  User fallback\n');
    writeFileSync(join(dir, '.ssh', 'conf.d', '10-web.conf'), 'Host web\n  HostName 10.9.9.9\n  IdentityFile ~/.ssh/web\n');
    writeFileSync(join(dir, '.ssh', 'conf.d', 'ignored.txt'), 'Host web\n  HostName wrong\n');
    expect(loadSshConfig('web', { home: dir })).toEqual({
      hostName: '10.9.9.9',
      user: 'fallback',
      identityFiles: [join(dir, '.ssh', 'web')],
    });
  });

  it('returns nothing when there is no config file', () => {
    expect(loadSshConfig('web', { home: join(dir, 'nobody') })).toEqual({ identityFiles: [] });
  });
});

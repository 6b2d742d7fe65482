import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/core/module.js';
import { describeStep, renderStep } from '../../../src/core/step.js';
import authorizedKey, { parseKey } from '../../../src/modules/authorized_key.js';
import { debian12, sshAccess } from '../helpers/plan.js';

function plan(args: unknown, facts: Record<string, unknown>, check = false): Plan {
  const a = authorizedKey.schema.parse(args);
  expect(Object.keys(facts).sort()).toEqual(Object.keys(authorizedKey.facts(a)).sort());
  return authorizedKey.plan(a, facts as never, { host: debian12, access: sshAccess, check });
}
const kinds = (p: Plan) => p.steps.map((s) => (s.kind === 'write' ? `write ${s.path}` : describeStep(s)));

const ALICE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';
const BOB = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA bob@work';
const PATH = '/home/deploy/.ssh/authorized_keys';
const deploy = { exists: true, name: 'deploy', uid: 1001, gid: 1001, gecos: '', home: '/home/deploy', shell: '/bin/bash', homeExists: true };
const sshDir = { exists: true, type: 'directory', mode: '700', owner: 'deploy', group: 'deploy', size: 4096 };
const keysFile = (content: string, extra = {}) => ({
  path: PATH,
  dir: sshDir,
  file: { exists: true, type: 'file', mode: '600', owner: 'deploy', group: 'deploy', size: content.length, content, ...extra },
});

describe('authorized_key module', () => {
  it('plans the directory and the file for a user an earlier task creates (check on a fresh host)', () => {
    const p = plan({ user: 'deploy', key: ALICE }, { passwd: { exists: false }, keys: { dir: { exists: false }, file: { exists: false } } }, true);
    expect(p.fail).toBeUndefined();
    expect(kinds(p)).toEqual(['mkdir -m 0700 -- /home/deploy/.ssh', 'chown -h deploy -- /home/deploy/.ssh', `write ${PATH}`]);
    expect(p.steps[2]).toMatchObject({ content: `${ALICE}\n`, mode: '0600', owner: 'deploy' });
    expect(p.reason).toBe(`${PATH}: create /home/deploy/.ssh; add 1 key`);
    expect(p.accessCritical).toBeUndefined();
  });

  it("defaults to /root for root when nothing is known yet", () => {
    const p = plan({ user: 'root', key: ALICE }, { passwd: { exists: false }, keys: { dir: { exists: false }, file: { exists: false } } });
    expect(kinds(p)[2]).toBe('write /root/.ssh/authorized_keys');
  });

  it('appends a new key, keeping comments and other keys, with the group of the user', () => {
    const p = plan({ user: 'deploy', key: [BOB] }, { passwd: deploy, keys: keysFile(`# team keys\n${ALICE}\n`) });
    expect(kinds(p)).toEqual([`write ${PATH}`]);
    expect(p.steps[0]).toMatchObject({ content: `# team keys\n${ALICE}\n${BOB}\n`, group: '1001' });
    expect(p.diff?.[0]).toEqual({ subject: PATH, before: `# team keys\n${ALICE}\n`, after: `# team keys\n${ALICE}\n${BOB}\n` });
    expect(p.accessCritical).toBeUndefined();
  });

  it.each([
    ['the key is there under another comment', { key: ALICE.replace('alice@laptop', 'alice@desktop') }, `${ALICE}\n`, `${PATH} already has the key, with the wanted options, mode 600 and owner deploy`],
    ['both keys, newline-separated, are there', { key: `${ALICE}\n\n${BOB}\n` }, `${BOB}\n${ALICE}\n`, `${PATH} already has all 2 keys, with the wanted options, mode 600 and owner deploy`],
    ['exclusive, only the key is there', { key: ALICE, exclusive: true }, `# comment\n${ALICE}\n`, `${PATH} already has the key and no other, with the wanted options, mode 600 and owner deploy`],
    ['the key has the wanted options', { key: ALICE, key_options: 'no-pty,from="10.0.0.0/8"' }, `no-pty,from="10.0.0.0/8" ${ALICE}\n`, `${PATH} already has the key, with the wanted options, mode 600 and owner deploy`],
    ['absent, and the key is not there', { key: ALICE, state: 'absent' }, `${BOB}\n`, `${PATH} holds none of the 1 key(s)`],
  ])('does nothing when %s, and says why', (_, args, content, reason) => {
    const p = plan({ user: 'deploy', ...args }, { passwd: deploy, keys: keysFile(content) });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe(reason);
  });

  it('does nothing for an absent key when the file does not exist, and says why', () => {
    const p = plan({ user: 'deploy', key: ALICE, state: 'absent' }, { passwd: deploy, keys: { path: PATH, dir: sshDir, file: { exists: false } } });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe(`${PATH} does not exist, so the key is absent`);
  });

  it('removes unlisted keys with exclusive, access-critical', () => {
    const p = plan({ user: 'deploy', key: ALICE, exclusive: true }, { passwd: deploy, keys: keysFile(`${BOB}\n${ALICE}\n`) });
    expect(p.steps[0]).toMatchObject({ kind: 'write', content: `${ALICE}\n` });
    expect(p.reason).toBe(`${PATH}: remove 1 key not listed (exclusive)`);
    expect(p.accessCritical).toBe(`removes 1 key(s) in ${PATH}`);
  });

  it('removes a key with state: absent, access-critical; names the login user', () => {
    const p = plan({ user: 'deploy', key: BOB, state: 'absent' }, { passwd: deploy, keys: keysFile(`${BOB}\n${ALICE}\n`) });
    expect(p.steps[0]).toMatchObject({ kind: 'write', content: `${ALICE}\n` });
    expect(p.reason).toBe(`${PATH}: remove 1 key`);
    expect(p.accessCritical).toMatch(/removes 1 key/);
    const root = { ...deploy, name: 'root', home: '/root' };
    const r = plan({ user: 'root', key: BOB, state: 'absent' }, { passwd: root, keys: { ...keysFile(`${BOB}\n`), path: '/root/.ssh/authorized_keys' } });
    expect(r.accessCritical).toMatch(/the user this connection logs in as/);
  });

  it('replaces a key whose options differ, access-critical', () => {
    const p = plan({ user: 'deploy', key: ALICE, key_options: 'no-agent-forwarding' }, { passwd: deploy, keys: keysFile(`command="/bin/echo hi there" ${ALICE}\n`) });
    expect(p.steps[0]).toMatchObject({ content: `no-agent-forwarding ${ALICE}\n` });
    expect(p.reason).toBe(`${PATH}: update the options of 1 key`);
    expect(p.accessCritical).toMatch(/changes the options of 1 key/);
  });

  it('repairs mode, owner and directory of an unchanged file', () => {
    const keys = keysFile(`${ALICE}\n`, { mode: '664', owner: 'root' });
    const p = plan({ user: 'deploy', key: ALICE }, { passwd: deploy, keys: { ...keys, dir: { ...sshDir, mode: '755' } } });
    expect(kinds(p)).toEqual([
      'chmod 0700 -- /home/deploy/.ssh',
      'chown -h deploy:1001 -- /home/deploy/.ssh',
      `chmod 0600 -- ${PATH}`,
      `chown -h deploy:1001 -- ${PATH}`,
    ]);
  });

  it('uses an explicit path through the shared file probes, and leaves its directory alone without manage_dir', () => {
    const file = { exists: true, type: 'file', mode: '600', owner: 'deploy', group: 'deploy', size: 0, content: '' };
    const p = plan({ user: 'deploy', key: ALICE, path: '/etc/ssh/keys/deploy', manage_dir: false }, { passwd: deploy, file });
    expect(kinds(p)).toEqual(['write /etc/ssh/keys/deploy']);
    const q = plan({ user: 'deploy', key: ALICE, path: '/etc/ssh/keys/deploy' }, { passwd: deploy, file, dir: { exists: false } });
    expect(kinds(q)).toEqual(['mkdir -m 0700 -- /etc/ssh/keys', 'chown -h deploy:1001 -- /etc/ssh/keys', 'write /etc/ssh/keys/deploy']);
  });

  it('fails on a file that is not a regular file', () => {
    const p = plan({ user: 'deploy', key: ALICE }, { passwd: deploy, keys: { path: PATH, dir: sshDir, file: { exists: true, type: 'link' } } });
    expect(p.fail).toMatch(/is a link/);
  });

  it('refuses what is not a public key, and URLs', () => {
    expect(() => authorizedKey.schema.parse({ user: 'deploy', key: 'hello world' })).toThrow(/not an SSH public key/);
    expect(() => authorizedKey.schema.parse({ user: 'deploy', key: 'https://github.com/alice.keys' })).toThrow(/URLs/);
    expect(() => authorizedKey.schema.parse({ user: 'deploy', key: '' })).toThrow(/no public key/);
  });

  it('parses options with quoted spaces, certificates and security keys', () => {
    expect(parseKey(`command="echo \\"a b\\"",no-pty ${ALICE}`)).toEqual({
      options: 'command="echo \\"a b\\"",no-pty',
      type: 'ssh-ed25519',
      blob: 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
      comment: 'alice@laptop',
    });
    expect(parseKey('sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t yubikey')?.type).toBe('sk-ssh-ed25519@openssh.com');
    expect(parseKey('ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQ=')?.comment).toBeUndefined();
    expect(parseKey('# a comment')).toBeUndefined();
  });

  it('writes a hostile comment byte for byte', () => {
    const hostile = `${ALICE.replace('alice@laptop', `it's "me" $(touch /tmp/pwned) \`id\` \\n`)}`;
    const p = plan({ user: 'deploy', key: hostile }, { passwd: deploy, keys: { path: PATH, dir: sshDir, file: { exists: false } } });
    const step = p.steps[0];
    if (step.kind !== 'write') throw new Error('write step expected');
    const dir = mkdtempSync(join(tmpdir(), 'ss-keys-'));
    try {
      const target = join(dir, 'authorized_keys');
      const r = spawnSync('sh', ['-c', `set -e\n${renderStep({ kind: 'write', path: target, content: step.content ?? '', mode: step.mode })}`], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(readFileSync(target, 'utf8')).toBe(`${hostile}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('authorized_key drift', () => {
  it('names a key added by hand, its line, and the command that removes it', async () => {
    const { planFor } = await import('../helpers/plan.js');
    const mine = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMine0000000000000000000000000000000000000 me@laptop';
    const theirs = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITheirs00000000000000000000000000000000000 bob@debug';
    const keys = {
      path: '/home/deploy/.ssh/authorized_keys',
      dir: { exists: true, type: 'directory', mode: '700', owner: 'deploy' },
      file: { exists: true, type: 'file', mode: '600', owner: 'deploy', content: `${mine}\n${theirs}\n` },
    };
    const passwd = { exists: true, name: 'deploy', uid: 1000, gid: 1000, home: '/home/deploy', homeExists: true };
    const p = planFor('authorized_key', { user: 'deploy', key: mine, exclusive: true }, { passwd, keys }, {}, true, { port: 22, user: 'deploy' });
    expect(p.drift).toEqual([
      {
        what: 'a key nobody declared: ssh-ed25519 ...000000000000 (bob@debug)',
        why: 'whoever holds it logs in as deploy (the user this run logs in as, with sudo)',
        where: '/home/deploy/.ssh/authorized_keys:2',
        fix: "sed -i 2d /home/deploy/.ssh/authorized_keys (apply rewrites the file with the declared keys only)",
      },
    ]);
  });
});

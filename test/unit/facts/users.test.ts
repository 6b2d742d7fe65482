import { probeLocally } from '../helpers/probe.js';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import {
  allGroups,
  authorizedKeysOf,
  groupEntry,
  isAccountName,
  parseAuthorizedKeysFile,
  parseGroups,
  parseShadowState,
  passwdEntry,
  shadowEntry,
} from '../../../src/facts/users.js';

/** Run one probe the way the engine does (inside a batch script under /bin/sh) and parse its answer. */
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

// recorded on Debian 12 (bookworm), trimmed
const GETENT_GROUP = `root:x:0:
adm:x:4:
sudo:x:27:deploy,alice
users:x:100:
nogroup:x:65534:
systemd-journal:x:999:
deploy:x:1001:
docker:x:997:alice
`;

describe('passwd entries', () => {
  it('parses getent passwd plus the home check', () => {
    const p = passwdEntry('deploy');
    expect(p.id).toBe('passwd:deploy');
    expect(p.parse('deploy:x:1001:1001:Deploy User,,,:/home/deploy:/bin/bash\nhome=yes\n', 0)).toEqual({
      exists: true,
      name: 'deploy',
      uid: 1001,
      gid: 1001,
      gecos: 'Deploy User,,,',
      home: '/home/deploy',
      shell: '/bin/bash',
      homeExists: true,
    });
    expect(p.parse('deploy:x:1001:1001::/home/deploy:/bin/sh\nhome=no\n', 0).homeExists).toBe(false);
  });

  it('reads an absent account (getent exits 2, prints nothing) as absent', () => {
    expect(passwdEntry('ghost').parse('', 0)).toEqual({ exists: false });
  });

  it('refuses an answer about another account', () => {
    expect(passwdEntry('deploy').parse('root:x:0:0:root:/root:/bin/bash\nhome=yes\n', 0)).toEqual({ exists: false });
  });

  it('answers about root on this machine', () => {
    const root = probeLocally(passwdEntry('root'));
    expect(root).toMatchObject({ exists: true, uid: 0, gid: 0, home: '/root', homeExists: existsSync('/root') });
    expect(probeLocally(passwdEntry('no-such-user-ss'))).toEqual({ exists: false });
  });

  it('quotes a hostile name: nothing runs, nothing matches', () => {
    const marker = `/tmp/shipshape-pwned-${process.pid}`;
    expect(probeLocally(passwdEntry(`x'; touch ${marker}; echo '`))).toEqual({ exists: false });
    expect(probeLocally(passwdEntry(`$(touch ${marker})`))).toEqual({ exists: false });
    expect(probeLocally(groupEntry(`x'; touch ${marker}; echo '`))).toBeUndefined();
    expect(probeLocally(shadowEntry(`$(touch ${marker})`)).state).not.toBe('present');
    expect(probeLocally(authorizedKeysOf(`x" $(touch ${marker}) '`))).toEqual({ dir: { exists: false }, file: { exists: false } });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('groups', () => {
  it('parses every group with its supplementary members', () => {
    const groups = parseGroups(GETENT_GROUP);
    expect(groups).toHaveLength(8);
    expect(groups.find((g) => g.name === 'sudo')).toEqual({ name: 'sudo', gid: 27, members: ['deploy', 'alice'] });
    expect(groups.find((g) => g.name === 'deploy')).toEqual({ name: 'deploy', gid: 1001, members: [] });
  });

  it('shares one probe between tasks', () => {
    expect(allGroups().id).toBe('groups');
  });

  it('reads one group by name, and nothing when absent', () => {
    expect(groupEntry('docker').parse('docker:x:997:alice\n', 0)).toEqual({ name: 'docker', gid: 997, members: ['alice'] });
    expect(groupEntry('docker').parse('', 2)).toBeUndefined();
  });

  it('answers about this machine', () => {
    expect(probeLocally(groupEntry('root'))).toEqual(expect.objectContaining({ name: 'root', gid: 0 }));
    expect(probeLocally(groupEntry('no-such-group-ss'))).toBeUndefined();
    expect(probeLocally(allGroups()).some((g) => g.name === 'root' && g.gid === 0)).toBe(true);
  });
});

describe('shadow state', () => {
  it('reduces the hash to lock state and a digest', () => {
    const digest = sha256('$6$salt$hash');
    expect(parseShadowState(`locked\nset\n${digest}\n`)).toEqual({ state: 'present', locked: true, empty: false, digest });
    expect(parseShadowState(`unlocked\nempty\n${sha256('*')}\n`)).toEqual({ state: 'present', locked: false, empty: true, digest: sha256('*') });
    expect(parseShadowState('absent\n')).toEqual({ state: 'absent' });
    expect(parseShadowState('unreadable\n')).toEqual({ state: 'unreadable' });
    expect(parseShadowState('')).toEqual({ state: 'unreadable' });
  });

  it('strips every lock "!" on the host before hashing, and prints no hash', () => {
    // the probe's own shell logic, with getent replaced by a recorded answer on PATH
    const bin = mkdtempSync(join(tmpdir(), 'ss-getent-'));
    writeFileSync(join(bin, 'getent'), "#!/bin/sh\necho 'deploy:!!$6$s$h:19000:0:99999:7:::'\n", { mode: 0o755 });
    try {
      const p = shadowEntry('deploy');
      const r = spawnSync('sh', ['-c', p.script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
      expect(r.stdout).not.toContain('$6$');
      expect(p.parse(r.stdout, r.status ?? 1)).toEqual({ state: 'present', locked: true, empty: false, digest: sha256('$6$s$h') });
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('answers about root on this machine: present when readable, unreadable otherwise', () => {
    const s = probeLocally(shadowEntry('root'));
    if (process.getuid?.() === 0) expect(s.state).toBe('present');
    else expect(s.state).toBe('unreadable');
  });
});

describe("a user's default authorized_keys", () => {
  it('parses path, directory, file and content', () => {
    const keys = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1x alice@laptop\n';
    const out = `/home/deploy/.ssh/authorized_keys\ndirectory|700|deploy|deploy|4096\nregular file|600|deploy|deploy|${keys.length}\n${keys}`;
    expect(parseAuthorizedKeysFile(out)).toEqual({
      path: '/home/deploy/.ssh/authorized_keys',
      dir: { exists: true, type: 'directory', mode: '700', owner: 'deploy', group: 'deploy', size: 4096 },
      file: { exists: true, type: 'file', mode: '600', owner: 'deploy', group: 'deploy', size: keys.length, content: keys },
    });
  });

  it('parses a home without .ssh, and a user that does not exist', () => {
    expect(parseAuthorizedKeysFile('/home/deploy/.ssh/authorized_keys\n\n\n')).toEqual({
      path: '/home/deploy/.ssh/authorized_keys',
      dir: { exists: false },
      file: { exists: false },
    });
    expect(parseAuthorizedKeysFile('')).toEqual({ dir: { exists: false }, file: { exists: false } });
  });

  it("resolves root's home on this machine", () => {
    const r = probeLocally(authorizedKeysOf('root'));
    expect(r.path).toBe('/root/.ssh/authorized_keys');
    expect(r.file.exists).toBe(existsSync('/root/.ssh/authorized_keys'));
    expect(probeLocally(authorizedKeysOf('no-such-user-ss'))).toEqual({ dir: { exists: false }, file: { exists: false } });
  });
});

describe('account names', () => {
  it.each(['deploy', 'www-data', '_apt', 'user.name', 'machine$'])('accepts %s', (n) => expect(isAccountName(n)).toBe(true));
  it.each(['', '1000', '-rf', 'a:b', 'a b', 'a,b', 'a/b', 'x'.repeat(33)])('refuses %j', (n) => expect(isAccountName(n)).toBe(false));
});

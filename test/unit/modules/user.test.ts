import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/core/module.js';
import { describeStep, renderStep, type Step } from '../../../src/core/step.js';
import { parseGroups } from '../../../src/facts/users.js';
import user from '../../../src/modules/user.js';
import { debian12, planFor, sshAccess } from '../helpers/plan.js';

const aShell = { exists: true, type: 'file', mode: '755', owner: 'root', group: 'root', size: 1 };

function plan(args: unknown, given: Record<string, unknown>, check = false): Plan {
  const a = user.schema.parse(args);
  // the login shell exists unless a test says otherwise
  const facts = a.shell !== undefined && a.state === 'present' && !('shellFile' in given) ? { ...given, shellFile: aShell } : given;
  expect(Object.keys(facts).sort()).toEqual(Object.keys(user.facts(a)).sort());
  return user.plan(a, facts as never, { host: debian12, access: sshAccess, check });
}
const argv = (p: Plan) => p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind));
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The words a program receives when the step's rendered script runs under sh. */
function wordsOnHost(step: Step): string[] {
  if (step.kind !== 'run') throw new Error('not a run step');
  const r = spawnSync('sh', ['-c', renderStep({ ...step, argv: ['printf', '%s\\0', ...step.argv] })], { encoding: 'utf8' });
  return r.stdout.split('\0').slice(0, -1);
}

const groups = parseGroups(`root:x:0:
sudo:x:27:deploy
users:x:100:
deploy:x:1001:
docker:x:997:alice
`);
const absent = { exists: false };
const deploy = { exists: true, name: 'deploy', uid: 1001, gid: 1001, gecos: 'Deploy', home: '/home/deploy', shell: '/bin/bash', homeExists: true };
const HASH = '$6$rounds=5000$saltsalt$Jq0mKD7xDzB4w6hXo2U1dD8x8uVZ.bTq0dM9cH5Q2h7vI6xUeUz5p0Q1a8J6Fh9y3v1Zk2mN4w7LrQ9sT0u1';
const shadowWith = (hash: string) => ({
  state: 'present',
  locked: hash.startsWith('!'),
  empty: /^!*\*?$/.test(hash),
  digest: sha256(hash.replace(/^!+/, '')),
});

describe('user module: creating', () => {
  it('creates a user with groups and shell on a fresh host, where the groups may not exist yet', () => {
    const p = plan({ name: 'deploy', groups: ['sudo', 'docker'], shell: '/bin/bash' }, { passwd: absent, groups: [] }, true);
    expect(argv(p)).toEqual(['useradd -G sudo,docker -s /bin/bash -m deploy']);
    expect(p.reason).toBe('create user deploy with a home directory');
    expect(p.fail).toBeUndefined();
    expect(p.diff?.[0]).toEqual({ subject: 'user deploy', before: 'absent\n', after: 'uid: (next free)\ngroup: deploy\ngroups: sudo,docker\nshell: /bin/bash\nhome: /home/deploy\n' });
  });

  it('joins an existing group named like the user instead of failing on it', () => {
    const p = plan({ name: 'deploy', uid: 1001 }, { passwd: absent, groups });
    expect(argv(p)).toEqual(['useradd -u 1001 -g deploy -m deploy']);
  });

  it('creates a system user without a home when asked', () => {
    const p = plan({ name: 'app', system: true, create_home: false, shell: '/usr/sbin/nologin', home: '/srv/app' }, { passwd: absent, groups });
    expect(argv(p)).toEqual(['useradd -s /usr/sbin/nologin -d /srv/app -M -r app']);
    expect(p.reason).toBe('create system user app');
  });

  it('sets a locked password through stdin, never in argv, reason or diff', () => {
    const p = plan({ name: 'deploy', password: HASH, password_lock: true }, { passwd: absent, groups: [], shadow: { state: 'absent' } });
    expect(argv(p)).toEqual(['useradd -m deploy', 'chpasswd -e']);
    expect(p.steps[1]).toEqual({ kind: 'run', argv: ['chpasswd', '-e'], input: `deploy:!${HASH}\n` });
    expect(JSON.stringify({ reason: p.reason, diff: p.diff, commands: p.steps.map(describeStep) })).not.toContain('saltsalt');
    expect(p.diff?.[0].after).toContain('password: (password hash set)');
  });

  it('refuses a clear text password', () => {
    expect(() => user.schema.parse({ name: 'deploy', password: 'hunter2' })).toThrow(/crypt hash/);
    expect(() => user.schema.parse({ name: 'deploy', password: '' })).toThrow(/crypt hash/);
    expect(user.schema.parse({ name: 'deploy', password: '*' }).password).toBe('*');
  });
});

describe('user module: changing', () => {
  it.each([
    ['adds a group, replacing the list (append: false)', { groups: ['sudo', 'docker'] }, ['usermod -G sudo,docker deploy'], 'user deploy: groups sudo -> sudo,docker'],
    ['adds a group with append', { groups: 'docker', append: true }, ['usermod -a -G docker deploy'], 'user deploy: groups sudo -> sudo,docker'],
    ['changes shell and comment', { shell: '/bin/zsh', comment: 'Deploy bot' }, ['usermod -s /bin/zsh -c Deploy bot deploy'], 'user deploy: shell /bin/bash -> /bin/zsh; comment Deploy -> Deploy bot'],
    ['changes uid and primary group', { uid: 1500, group: 'users' }, ['usermod -u 1500 -g users deploy'], 'user deploy: uid 1001 -> 1500; group deploy -> users'],
    ['moves the home and creates it', { home: '/srv/deploy' }, ['usermod -d /srv/deploy deploy', 'mkhomedir_helper deploy'], 'user deploy: home /home/deploy -> /srv/deploy; home directory missing -> created /srv/deploy'],
  ])('%s', (_, extra, steps, reason) => {
    const args = { name: 'deploy', ...extra };
    const facts: Record<string, unknown> = { passwd: deploy, groups };
    if ('home' in extra) facts.home = absent;
    const p = plan(args, facts);
    expect(argv(p)).toEqual(steps);
    expect(p.reason).toBe(reason);
    // a home change moves where sshd finds the keys: guarded (see below); the others are not critical
    if (!('home' in extra)) expect(p.accessCritical).toBeUndefined();
  });

  it('creates a missing home of an existing account (as Ansible does), but not /nonexistent', () => {
    expect(argv(plan({ name: 'deploy' }, { passwd: { ...deploy, homeExists: false }, groups }))).toEqual(['mkhomedir_helper deploy']);
    const nobody = { ...deploy, name: 'nobody', home: '/nonexistent', homeExists: false };
    expect(plan({ name: 'nobody' }, { passwd: nobody, groups }).reason).toBe('user nobody exists');
  });

  it('marks dropping a group or a login shell as access-critical', () => {
    const p = plan({ name: 'deploy', groups: ['docker'] }, { passwd: deploy, groups });
    expect(argv(p)).toEqual(['usermod -G docker deploy']);
    expect(p.accessCritical).toBe('removes deploy from group(s) sudo');
    const q = plan({ name: 'deploy', shell: '/usr/sbin/nologin' }, { passwd: deploy, groups });
    expect(q.accessCritical).toMatch(/refuses logins/);
  });

  it('guards every access-critical account change with a snapshot of passwd, shadow, group and gshadow', () => {
    const files = ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'];
    expect(plan({ name: 'deploy', groups: ['docker'] }, { passwd: deploy, groups }).guard).toEqual({ paths: files });
    expect(plan({ name: 'deploy', state: 'absent' }, { passwd: deploy }).guard).toEqual({ paths: files });
    // a login shell that does not exist on the host locks the account out like nologin
    const missing = plan({ name: 'deploy', shell: '/bin/zsh' }, { passwd: deploy, groups, shellFile: { exists: false } });
    expect(missing.accessCritical).toMatch(/\/bin\/zsh, which does not exist on the host/);
    expect(missing.guard).toEqual({ paths: files });
    // a home change moves where sshd looks for the keys
    const moved = plan({ name: 'deploy', home: '/srv/deploy', create_home: false }, { passwd: deploy, groups });
    expect(moved.accessCritical).toMatch(/moves deploy's home from \/home\/deploy to \/srv\/deploy/);
    // an unchanged shell that exists is not critical
    expect(plan({ name: 'deploy', shell: '/bin/sh' }, { passwd: deploy, groups }).accessCritical).toBeUndefined();
  });

  it('sudoers drop-ins written or removed are guarded (deploy_sudo: none|password can cut sudo)', () => {
    const drop = '/etc/sudoers.d/90-shipshape-deploy';
    const absent = { exists: false };
    const w = planFor('copy', { dest: drop, content: 'deploy ALL=(ALL:ALL) ALL\n', mode: '0440', validate: 'visudo -cf %s' }, { file: absent });
    expect(w.accessCritical).toMatch(/changes sudo rules/);
    expect(w.guard).toEqual({ paths: [drop] });
    const rm = planFor('file', { path: drop, state: 'absent' }, { stat: { exists: true, type: 'file', mode: '440', owner: 'root', group: 'root', size: 1 } });
    expect(rm.accessCritical).toMatch(/changes sudo rules/);
    expect(rm.guard).toEqual({ paths: [drop] });
    expect(planFor('copy', { dest: '/etc/motd', content: 'hi\n' }, { file: absent }).accessCritical).toBeUndefined();
  });

  it("removes every supplementary group with groups: ''", () => {
    const p = plan({ name: 'deploy', groups: '' }, { passwd: deploy, groups });
    expect(p.steps).toEqual([{ kind: 'run', argv: ['usermod', '-G', '', 'deploy'] }]);
  });

  it('compares a numeric primary group by gid', () => {
    expect(plan({ name: 'deploy', group: '1001' }, { passwd: deploy, groups }).steps).toEqual([]);
  });

  it.each([
    ['the same attributes', { shell: '/bin/bash', groups: ['sudo'], uid: 1001 }, {}, 'user deploy exists with uid 1001, groups sudo, shell /bin/bash'],
    ['groups already joined (append)', { groups: ['sudo'], append: true }, {}, 'user deploy exists with groups sudo'],
    ['the same password hash', { password: HASH }, { shadow: shadowWith(HASH) }, 'user deploy exists with the wanted password'],
    ['a locked account with the same hash', { password: HASH, password_lock: true }, { shadow: shadowWith(`!${HASH}`) }, 'user deploy exists with the wanted password, its password locked'],
    ['a different hash under update_password: on_create', { password: HASH, update_password: 'on_create' }, { shadow: shadowWith('$6$x$y') }, 'user deploy exists'],
    ['password_lock: false with no password to unlock', { password_lock: false }, { shadow: shadowWith('!') }, 'user deploy exists with no password to unlock'],
  ])('does nothing for %s, and says why', (_, extra, more, reason) => {
    const p = plan({ name: 'deploy', ...extra }, { passwd: deploy, groups, ...more });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe(reason);
  });

  it('changes a password hash without ever showing it', () => {
    const p = plan({ name: 'deploy', password: HASH }, { passwd: deploy, groups, shadow: shadowWith('$6$old$old') });
    expect(p.steps).toEqual([{ kind: 'run', argv: ['chpasswd', '-e'], input: `deploy:${HASH}\n` }]);
    expect(p.reason).toBe('user deploy: (password hash changed)');
    expect(p.diff).toEqual([{ subject: 'user deploy', before: 'password: (hidden)\n', after: 'password: (password hash changed)\n' }]);
    expect(p.steps.map(describeStep).join()).not.toContain('saltsalt');
  });

  it('locks and unlocks the password', () => {
    expect(argv(plan({ name: 'deploy', password_lock: true }, { passwd: deploy, groups, shadow: shadowWith(HASH) }))).toEqual(['usermod -L deploy']);
    expect(argv(plan({ name: 'deploy', password_lock: false }, { passwd: deploy, groups, shadow: shadowWith(`!${HASH}`) }))).toEqual(['usermod -U deploy']);
  });

  it('fails with a hint when the shadow entry cannot be read', () => {
    const p = plan({ name: 'deploy', password: HASH }, { passwd: deploy, groups, shadow: { state: 'unreadable' } });
    expect(p.steps).toEqual([]);
    expect(p.fail).toMatch(/become: true/);
  });
});

describe('user module: removing', () => {
  it('removes an account and its home, access-critical', () => {
    const p = plan({ name: 'deploy', state: 'absent', remove: true }, { passwd: deploy });
    expect(argv(p)).toEqual(['userdel -r deploy']);
    expect(p.reason).toBe('remove user deploy and its home directory');
    expect(p.accessCritical).toBe('removes the account deploy');
  });

  it('names the login user when it is the one removed', () => {
    const root = { ...deploy, name: 'root', uid: 0 };
    expect(plan({ name: 'root', state: 'absent' }, { passwd: root }).accessCritical).toMatch(/the user this connection logs in as/);
  });

  it('does nothing for an absent account, and says why', () => {
    const p = plan({ name: 'deploy', state: 'absent' }, { passwd: absent });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('user deploy is already absent');
  });
});

describe('user module: quoting', () => {
  it('passes a hostile comment through sh byte for byte', () => {
    const comment = `O'Brien "Bob" $(touch /tmp/pwned) \`id\` \\ ;`;
    const p = plan({ name: 'deploy', comment }, { passwd: deploy, groups });
    expect(wordsOnHost(p.steps[0])).toEqual(['usermod', '-c', comment, 'deploy']);
  });

  it('feeds the chpasswd input through sh byte for byte', () => {
    const hash = "$y$j9T$a'b$c\"d$(id)";
    const p = plan({ name: 'deploy', password: hash }, { passwd: deploy, groups, shadow: shadowWith('*') });
    const step = p.steps[0];
    if (step.kind !== 'run') throw new Error('run step expected');
    const r = spawnSync('sh', ['-c', renderStep({ ...step, argv: ['cat'] })], { encoding: 'utf8' });
    expect(r.stdout).toBe(`deploy:${hash}\n`);
  });
});

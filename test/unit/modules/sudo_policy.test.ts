import { describe, expect, it } from 'vitest';
import { parseSudo } from '../../../src/facts/sudoers.js';
import { planFor } from '../helpers/plan.js';

// the probe's output on a Debian 12 host after `echo 'bob ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/zz-debug`
const out = `==> /etc/sudoers
Defaults\tenv_reset
root\tALL=(ALL:ALL) ALL
%sudo\tALL=(ALL:ALL) ALL
@includedir /etc/sudoers.d

==> /etc/sudoers.d/90-shipshape-deploy
# managed by shipshape (deploy_user role)
deploy ALL=(ALL:ALL) NOPASSWD: ALL

==> /etc/sudoers.d/README
# As of Debian version 1.7.2p1-1, the default /etc/sudoers file created on

==> /etc/sudoers.d/zz-debug
bob ALL=(ALL) NOPASSWD: ALL

==sudo-l==
Matching Defaults entries for deploy on h81:
    env_reset, mail_badpass, secure_path=/usr/local/sbin\\:/usr/local/bin\\:/usr/sbin\\:/usr/bin\\:/sbin\\:/bin, use_pty

User deploy may run the following commands on h81:
    (ALL : ALL) NOPASSWD: ALL
`;

const args = { user: 'deploy', sudo: 'nopasswd', managed: ['/etc/sudoers.d/90-shipshape-deploy'] };

describe('sudo_policy', () => {
  it('parses the files and what sudo -l -U grants', () => {
    const f = parseSudo(out);
    expect(f.files.map((x) => x.path)).toEqual(['/etc/sudoers', '/etc/sudoers.d/90-shipshape-deploy', '/etc/sudoers.d/README', '/etc/sudoers.d/zz-debug']);
    expect(f.rules).toEqual(['(ALL : ALL) NOPASSWD: ALL']);
    expect(f.none).toBe(false);
    expect(parseSudo('==sudo-l==\nUser bob is not allowed to run sudo on h81.\n').none).toBe(true);
  });

  it('a second sudoers file with passwordless sudo is drift, neutralised with visudo', () => {
    const p = planFor('sudo_policy', args, { sudo: parseSudo(out) }, {}, true, { port: 22, user: 'deploy' });
    expect(p.drift).toEqual([
      {
        what: 'passwordless sudo nobody declared, for bob: "bob ALL=(ALL) NOPASSWD: ALL"',
        why: 'bob becomes root without a password: one stolen session or key is the whole machine',
        where: '/etc/sudoers.d/zz-debug:1',
        fix: 'rm /etc/sudoers.d/zz-debug (apply comments the line out instead, checked with visudo)',
      },
    ]);
    expect(p.steps).toEqual([
      { kind: 'write', path: '/etc/sudoers.d/zz-debug', content: '# disabled by shipshape (passwordless sudo nobody declared): bob ALL=(ALL) NOPASSWD: ALL\n', validate: 'visudo -cf %s' },
    ]);
  });

  it('the declared rule is no drift, and the login user of this run is never cut off', () => {
    const clean = out.replace('bob ALL=(ALL) NOPASSWD: ALL', '# nothing');
    expect(planFor('sudo_policy', args, { sudo: parseSudo(clean) }).steps).toEqual([]);
    const own = out.replace('bob ALL', 'admin ALL');
    const p = planFor('sudo_policy', args, { sudo: parseSudo(own) }, {}, false, { port: 22, user: 'admin' });
    expect(p.steps).toEqual([]);
    expect(p.reason).toMatch(/kept, as this run logs in as admin: \/etc\/sudoers.d\/zz-debug:1/);
  });
});

describe('sudo_policy: files a playbook declares', () => {
  it('a sudoers file with the "managed by shipshape" header is some task\'s declaration, not drift', () => {
    const declared = out.replace('bob ALL=(ALL) NOPASSWD: ALL', '# managed by shipshape\n%opsteam ALL=(root) NOPASSWD: /usr/bin/systemctl status *');
    expect(planFor('sudo_policy', args, { sudo: parseSudo(declared) }).steps).toEqual([]);
  });
});

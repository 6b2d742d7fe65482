import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { builtinRolesDir, loadRoles } from '../../../src/playbook/index.js';
import { parseAnswersFile } from '../../../src/wizard/answers-file.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb9viwASKCqhEswCV7HTFzGa2v4kFEqRqvDxn4d36fO me@laptop';
const roles = await loadRoles([builtinRolesDir()]);

function problems(text: string, defaults = {}, env = {}): string[] {
  try {
    parseAnswersFile('answers.yml', text, defaults, roles, env);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return [e, ...e.others].map((x) => `${x.location}: ${x.message} | ${x.hint ?? ''}`);
  }
  throw new Error('no error');
}

describe('wizard: the answers file', () => {
  it('takes a complete file, with defaults for what it leaves out', () => {
    const a = parseAnswersFile('answers.yml', `host: 203.0.113.10\ndeploy_authorized_keys: ["${KEY}"]\ncaddy_sites: [{domain: app.example.com, upstream: "localhost:3000"}]\n`, {}, roles, {});
    expect(a).toMatchObject({ name: 'web1', host: '203.0.113.10', port: 22, bootstrap_user: 'root', deploy_user: 'deploy', docker: false, firewall_allow: ['80/tcp', '443/tcp'] });
  });

  it('backup paths without the repository and its password: refused before any host is contacted (the plan would refuse them after the files are written)', () => {
    const text = `host: 203.0.113.10\ndeploy_authorized_keys: ["${KEY}"]\nbackup: true\nbackup_paths: [/srv/app]\n`;
    expect(problems(text)).toEqual([
      'answers.yml: missing answer `backup_restic_repository` | backup_paths is set, and the backup role sends every backup off-site; for example: backup_restic_repository: sftp:backup@203.0.113.50:/srv/restic/web1',
      'answers.yml: missing answer `backup_restic_password` | backup_paths is set, and the backup role sends every backup off-site; for example: backup_restic_password: "..."   # better: set SHIPSHAPE_BACKUP_RESTIC_PASSWORD in the environment',
    ]);
    // the password from the environment counts
    expect(problems(`${text}backup_restic_repository: /mnt/disk/restic\n`, {}, {}).length).toBe(1);
    expect(() => parseAnswersFile('answers.yml', `${text}backup_restic_repository: /mnt/disk/restic\n`, {}, roles, { SHIPSHAPE_BACKUP_RESTIC_PASSWORD: 'pw' })).not.toThrow();
  });

  it('names a missing key with an example', () => {
    expect(problems(`deploy_authorized_keys: ["${KEY}"]\n`)).toEqual(['answers.yml: missing answer `host` | add it, for example: host: 203.0.113.10']);
    expect(problems('host: 203.0.113.10\n')[0]).toMatch(/missing answer `deploy_authorized_keys` \| add it, for example: deploy_authorized_keys: \["ssh-ed25519/);
  });

  it('a key an earlier run left in the folder is not missing', () => {
    expect(() => parseAnswersFile('answers.yml', 'docker: true\n', { host: '203.0.113.10', deploy_authorized_keys: [KEY] }, roles, {})).not.toThrow();
  });

  it('points at a bad value with its line and column, checked by the role schema a run uses', () => {
    const p = problems(`host: 203.0.113.10\ndeploy_authorized_keys: ["${KEY}"]\ncaddy_sites:\n  - domain: https://app.example.com\n    upstream: "localhost:3000"\nport: 70000\n`);
    expect(p.some((l) => l.startsWith('answers.yml:4:13: caddy_sites.0.domain: a domain name'))).toBe(true);
    expect(p.some((l) => l.startsWith('answers.yml:6:1: port:') && l.includes('for example: port: 22'))).toBe(true);
  });

  it('suggests the right key for a typo, and explains `user` the Ansible way', () => {
    const p = problems(`host: 203.0.113.10\ndeploy_authorized_keys: ["${KEY}"]\nidentity_fle: ~/.ssh/id_ed25519\nuser: root\n`);
    expect(p[0]).toMatch(/^answers.yml:3:1: unknown answer `identity_fle` \| did you mean `identity_file`\?/);
    expect(p[1]).toMatch(/^answers.yml:4:1: user: .*`bootstrap_user` \| for example: bootstrap_user: root/);
  });

  it('never shows a secret in a message; it may come from the environment', () => {
    const p = problems('host: 203.0.113.10\nbecome_password: hunter2-secret\ndeploy_authorized_keys: 12\n');
    expect(p.join('\n')).not.toContain('hunter2-secret');
    const a = parseAnswersFile('answers.yml', `host: 203.0.113.10\ndeploy_authorized_keys: ["${KEY}"]\n`, {}, roles, { SHIPSHAPE_BECOME_PASSWORD: 'from-env' });
    expect(a.become_password).toBe('from-env');
  });
});

import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/index.js';
import { modules } from '../../../src/modules/index.js';
import { builtinRolesDir, loadPlaybook, loadRoles } from '../../../src/playbook/index.js';
import { baseAnswers, type Answers } from '../../../src/wizard/answers.js';
import { compareFiles, readProject, removeStaleTemps, writeAtomic, writeChanges } from '../../../src/wizard/files.js';
import { FILES, answersFromProject, gitignore, projectFiles } from '../../../src/wizard/project.js';
import { SAFE_ORDER, siteRoles } from '../../../src/wizard/roles.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb9viwASKCqhEswCV7HTFzGa2v4kFEqRqvDxn4d36fO me@laptop';

const full: Answers = baseAnswers({
  name: 'web1',
  host: '203.0.113.10',
  port: 2222,
  identity_file: '~/.ssh/id_ed25519',
  deploy_authorized_keys: [KEY],
  docker: true,
  docker_source: 'debian',
  caddy_sites: [{ domain: 'app.example.com', upstream: 'localhost:3000' }, { domain: 'www.example.com', root: '/srv/www' }],
  caddy_email: 'ops@example.com',
  caddy_acme_ca: 'https://acme-staging-v02.api.letsencrypt.org/directory',
  ssh_allow_from: ['198.51.100.0/24'],
  unattended_reboot: true,
  unattended_reboot_time: '03:30',
  become_password: 's3cret-sudo',
  backup: true,
  backup_paths: ['/srv/app/data'],
  backup_restic_repository: 'sftp:backup@203.0.113.50:/srv/restic/web1',
  backup_restic_password: 'r3stic-s3cret',
});

async function written(a: Answers): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ss-wizard-'));
  await writeChanges(dir, await compareFiles(dir, projectFiles(a)));
  return dir;
}

describe('wizard: answers to the project folder', () => {
  it('roles run in the safe order, hardening always, the rest as chosen', () => {
    expect(siteRoles(baseAnswers({}))).toEqual(['deploy_user', 'ssh', 'firewall', 'unattended_upgrades', 'fail2ban', 'sysctl_hardening', 'os_hardening']);
    expect(siteRoles(full)).toEqual([...SAFE_ORDER]);
    // deploy user before ssh, ssh before firewall, firewall before docker, docker before caddy
    const order = siteRoles(full);
    for (const [a, b] of [['deploy_user', 'ssh'], ['ssh', 'firewall'], ['firewall', 'docker'], ['docker', 'caddy']]) expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
  });

  it('writes files the inventory and playbook loaders accept, with the answers as variables', async () => {
    const dir = await written(full);
    const inv = await loadInventory(join(dir, 'inventory'), { sshConfig: false, home: '/home/op', localUser: 'op' });
    const host = inv.hosts.get('web1')!;
    expect(host.connection).toMatchObject({ host: '203.0.113.10', port: 2222, user: 'deploy', bootstrapUser: 'root', identityFile: '/home/op/.ssh/id_ed25519', becomePassword: 's3cret-sudo' });
    expect(host.vars).toMatchObject({ deploy_authorized_keys: [KEY], docker_source: 'debian', caddy_acme_ca: full.caddy_acme_ca, unattended_reboot_time: '03:30' });
    const roles = await loadRoles([builtinRolesDir()]);
    const pb = await loadPlaybook(join(dir, FILES.playbook), { modules, roles });
    expect(pb.plays[0].items.map((r) => (r as { role: string }).role)).toEqual(siteRoles(full));
  });

  it('keeps secrets out of the files meant for git: an owner-only file that .gitignore names', async () => {
    const dir = await written(full);
    for (const f of [FILES.hosts, FILES.groupVars, FILES.playbook, FILES.gitignore]) {
      expect(readFileSync(join(dir, f), 'utf8')).not.toContain('s3cret-sudo');
      expect(readFileSync(join(dir, f), 'utf8')).not.toContain('r3stic-s3cret');
    }
    expect(readFileSync(join(dir, FILES.groupVars), 'utf8')).toContain('backup_restic_repository: sftp:backup@203.0.113.50:/srv/restic/web1');
    expect(readFileSync(join(dir, FILES.secrets), 'utf8')).toContain('become_password: s3cret-sudo');
    expect(readFileSync(join(dir, FILES.secrets), 'utf8')).toContain('backup_restic_password: r3stic-s3cret');
    expect(statSync(join(dir, FILES.secrets)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, FILES.gitignore), 'utf8').split('\n')).toContain(FILES.secrets);
    expect(readFileSync(join(dir, FILES.groupVars), 'utf8')).toContain(`Secrets are not here: they are in ${FILES.secrets}`);
  });

  it('comments every answer with what it does', async () => {
    const text = readFileSync(join(await written(full), FILES.groupVars), 'utf8');
    for (const key of ['deploy_authorized_keys', 'ssh_allow_from', 'firewall_allow', 'docker_source', 'caddy_sites', 'caddy_acme_ca']) {
      expect(text, key).toMatch(new RegExp(`# [^\\n]+\\n${key}:`));
    }
  });

  it('reads its own files back as the same answers, so a re-run proposes them and changes nothing', async () => {
    const dir = await written(full);
    const back = baseAnswers(answersFromProject(await readProject(dir)));
    expect(back).toEqual(full);
    const again = await compareFiles(dir, projectFiles(back, readFileSync(join(dir, FILES.gitignore), 'utf8')));
    expect(again.map((c) => c.state)).toEqual(again.map(() => 'same'));
  });

  it('.gitignore keeps the user lines and names the secrets file once', () => {
    const once = gitignore('node_modules/\n');
    expect(once).toBe(`node_modules/\n# secrets written by \`shipshape init\` (owner-only file)\n${FILES.secrets}\n`);
    expect(gitignore(once)).toBe(once);
  });

  it('writes atomically: a temp file beside the target, renamed; stale temps of a killed run are removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-wizard-'));
    mkdirSync(join(dir, 'inventory'));
    writeFileSync(join(dir, 'inventory', '.hosts.yml.init-0123abcd.tmp'), 'half');
    await removeStaleTemps(dir);
    expect(readdirSync(join(dir, 'inventory'))).toEqual([]);
    await writeAtomic(join(dir, 'inventory', 'hosts.yml'), 'all: {}\n');
    expect(readdirSync(join(dir, 'inventory'))).toEqual(['hosts.yml']);
  });
});

describe('schema help in the written files', () => {
  it('each YAML file starts by naming its JSON Schema, and validates against the schemas written beside it', async () => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const { parse } = await import('yaml');
    const { dirname: dirOf, resolve: resolveIn } = await import('node:path');
    const { projectSchemas, schemaFiles } = await import('../../../src/cli/schema-command.js');
    const dir = await written(full);
    await writeChanges(dir, await compareFiles(dir, schemaFiles(await projectSchemas(dir))));
    const ajv = new Ajv2020({ strict: false });
    for (const file of [FILES.hosts, FILES.groupVars, FILES.playbook]) {
      const text = readFileSync(join(dir, file), 'utf8');
      const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
      expect(m, file).not.toBeNull();
      const schema = JSON.parse(readFileSync(resolveIn(dir, dirOf(file), m![1]), 'utf8'));
      const validate = ajv.compile(schema);
      expect(validate(parse(text)), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});

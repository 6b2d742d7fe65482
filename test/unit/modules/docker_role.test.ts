import type { AnyRoleTask } from '../../../src/playbook/role.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderStep } from '../../../src/core/step.js';
import { modules } from '../helpers/plan.js';
import docker, { DAEMON_VALIDATE, DEFAULT_DAEMON, mergeDaemon } from '../../../roles/docker/index.js';
import { DOCKER_APT_FINGERPRINT, DOCKER_APT_KEY } from '../../../roles/docker/docker-key.js';

const tasks = (vars: Record<string, unknown>) => docker.tasks(docker.vars.parse(vars)) as AnyRoleTask[];
const byModule = (vars: Record<string, unknown>) => tasks(vars).map((t) => `${t.module}: ${t.name}`);

describe('docker role', () => {
  it('vendor (default): firewall rules first, conflicts out, the pinned repository, the packages, then config and service', () => {
    expect(byModule({})).toEqual([
      'docker_ufw: published container ports obey the firewall',
      'apt: conflicting distribution packages removed',
      'apt_repository: Docker apt repository',
      'apt: Docker packages installed',
      'docker_daemon: docker runs daemon.json',
      'file: /etc/docker',
      'copy: daemon.json',
      'file: docker.service.d',
      'copy: docker starts after ufw',
      'service: docker running',
      'user: deploy in the docker group',
    ]);
    const repo = tasks({}).find((t) => t.module === 'apt_repository')!;
    expect(repo.args).toMatchObject({ name: 'docker', uris: ['https://download.docker.com/linux/debian'], components: ['stable'], key: DOCKER_APT_KEY, key_fingerprint: DOCKER_APT_FINGERPRINT });
    // the role's arguments pass the modules' own schemas (the pinned key really has the pinned fingerprint)
    for (const t of tasks({})) expect(modules[t.module].schema.safeParse(t.args).success, t.name).toBe(true);
  });

  it('an overridden repository key is checked against docker_apt_key_fingerprint only when given', () => {
    const repo = (v: Record<string, unknown>) => tasks(v).find((t) => t.module === 'apt_repository')!.args;
    expect(repo({ docker_apt_uri: 'http://10.99.0.1:8098/docker', docker_apt_key: 'KEY' })).not.toHaveProperty('key_fingerprint');
    expect(repo({ docker_apt_key: 'KEY', docker_apt_key_fingerprint: 'ABCD' }).key_fingerprint).toBe('ABCD');
  });

  it("debian: the vendor's packages and repository go, docker.io and compose come", () => {
    const t = tasks({ docker_source: 'debian' });
    expect(t.slice(1, 4).map((x) => [x.module, x.args])).toEqual([
      ['apt', { name: ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-buildx-plugin', 'docker-compose-plugin', 'docker-ce-rootless-extras'], state: 'absent' }],
      ['apt_repository', { name: 'docker', state: 'absent' }],
      // without recommends: needrestart would pull in binutils; apt's task, with Debian 13's client in the same transaction
      ['docker_packages', { name: ['docker.io', 'docker-compose', 'apparmor', 'xz-utils'], cache_valid_time: 3600, install_recommends: false, client: 'docker-cli' }],
    ]);
    for (const x of t) expect(modules[x.module].schema.safeParse(x.args).success, x.name).toBe(true);
  });

  it('docker_users defaults to the deploy user, whatever it is called', () => {
    const users = (v: Record<string, unknown>) => tasks(v).filter((t) => t.module === 'user').map((t) => t.args);
    expect(users({ deploy_user: 'ops' })).toEqual([{ name: 'ops', groups: ['docker'], append: true }]);
    expect(users({ docker_users: ['a', 'b'] }).map((u) => u.name)).toEqual(['a', 'b']);
    expect(users({ docker_users: [] })).toEqual([]);
  });

  it('daemon.json: defaults rotate json-file logs; docker_daemon merges key by key, null removes; validated; restarts docker', () => {
    const daemon = (v: Record<string, unknown>) => tasks(v).find((t) => t.name === 'daemon.json')!;
    expect(JSON.parse(daemon({}).args.content as string)).toEqual(DEFAULT_DAEMON);
    expect(JSON.parse(daemon({ docker_daemon: { 'log-opts': { 'max-file': '5' }, 'live-restore': true } }).args.content as string)).toEqual({
      'log-driver': 'json-file',
      'log-opts': { 'max-size': '10m', 'max-file': '5' },
      'live-restore': true,
    });
    expect(mergeDaemon(DEFAULT_DAEMON, { 'log-opts': null, 'log-driver': 'journald' })).toEqual({ 'log-driver': 'journald' });
    expect(daemon({}).args.validate).toBe(DAEMON_VALIDATE);
    expect(daemon({}).notify).toEqual(['restart docker']);
    expect(docker.handlers!(docker.vars.parse({}))).toEqual([
      { name: 'reload systemd', module: 'command', args: { argv: ['systemctl', 'daemon-reload'] } },
      { name: 'restart docker', module: 'service', args: { name: 'docker', state: 'restarted' } },
    ]);
    expect(tasks({}).find((t) => t.name === 'docker starts after ufw')!.notify).toEqual(['reload systemd']);
  });

  it('docker_public_ports reach the firewall module as given', () => {
    expect(tasks({ docker_public_ports: [8082, '53/udp'] })[0].args).toEqual({ public_ports: [8082, '53/udp'] });
  });

  it.skipIf(spawnSync('sh', ['-c', 'command -v python3 && ! command -v dockerd']).status !== 0)(
    'without `dockerd --validate` (Debian 12: 20.10) the JSON syntax is checked before daemon.json is replaced',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'ss-daemon-'));
      const dest = join(dir, 'daemon.json');
      const write = (content: string) => spawnSync('sh', ['-c', renderStep({ kind: 'write', path: dest, content, validate: DAEMON_VALIDATE })], { encoding: 'utf8' });
      try {
        expect(write('{"log-driver": "json-file"}\n').status).toBe(0);
        const bad = write('{"log-driver": }\n');
        expect(bad.status).not.toBe(0);
        expect(bad.stderr).toMatch(/validation failed/);
        expect(readFileSync(dest, 'utf8')).toBe('{"log-driver": "json-file"}\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

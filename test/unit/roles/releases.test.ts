/**
 * What differs between the releases shipshape targets, tested against their real command outputs
 * (test/unit/fixtures/releases.ts). Debian 12 and 13 are also proven end to end on lab hosts; Ubuntu 22.04 and
 * 24.04 cannot be booted in the lab, so these tests are what stands for them.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Step } from '../../../src/core/step.js';
import { parseStatLine } from '../../../src/facts/file.js';
import { inEffect, socketStep } from '../../../src/modules/sshd_config.js';
import { parseSshSocket, SSH_SOCKET_DROPIN } from '../../../src/facts/ssh-socket.js';
import { parseSystemctlShow } from '../../../src/facts/systemd.js';
import ssh from '../../../roles/ssh/index.js';
import { effectiveKex, KEX_REMOVED } from '../../../roles/ssh/index.js';
import docker, { DOCKER_CLI_TASK } from '../../../roles/docker/index.js';
import { ORIGINS } from '../../../roles/unattended_upgrades/index.js';
import { APT_POLICY_RELEASES, CODENAME, kexList, OS, RELEASES, SSH_SOCKET, SSH_UNITS_SHOW, SSHD_DEFAULT_KEX, type Release } from '../fixtures/releases.js';
import { reloadSshd } from '../../../src/modules/ssh-reload.js';
import { planFor } from '../helpers/plan.js';

/** One `release ...` line of apt-cache policy as unattended-upgrades sees an origin. */
function parseRelease(line: string): Record<string, string> {
  return Object.fromEntries(line.trim().replace(/^release /, '').split(',').map((kv) => kv.split('=') as [string, string]));
}

/**
 * unattended-upgrades' Origins-Pattern matching: every `key=value` of the pattern must match the origin's field
 * (origin/o, label/l, archive/suite/a, codename/n, component/c), shell wildcards allowed, after expanding
 * ${distro_codename} and ${distro_id}.
 */
function patternMatches(pattern: string, origin: Record<string, string>, codename: string): boolean {
  const field: Record<string, string> = { origin: 'o', o: 'o', label: 'l', l: 'l', archive: 'a', suite: 'a', a: 'a', codename: 'n', n: 'n', component: 'c', c: 'c' };
  return pattern.split(',').every((kv) => {
    const [key, raw] = kv.split('=');
    const value = raw.replace(/\$\{distro_codename\}/g, codename);
    const re = new RegExp('^' + value.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    return re.test(origin[field[key]] ?? '');
  });
}

describe('unattended-upgrades: the security suite of every release, and nothing else', () => {
  it.each(RELEASES)('%s', (release) => {
    const origins = APT_POLICY_RELEASES[release].split('\n').filter((l) => /release .*o=/.test(l)).map(parseRelease);
    const allowed = origins.filter((o) => ORIGINS.some((p) => patternMatches(p, o, CODENAME[release])));
    const isSecurity = (o: Record<string, string>) => /-security$/.test(o.n) || /-security$/.test(o.a);
    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed.every(isSecurity), JSON.stringify(allowed)).toBe(true);
    expect(origins.filter(isSecurity).filter((o) => !allowed.includes(o))).toEqual([]);
  });
});

/** Runs a step's script under dash with a stub systemctl that answers as `release` does; returns the calls. */
function runWithSystemctl(step: Step, release: Release): string[] {
  if (step.kind !== 'sh') throw new Error('expected a shell step');
  const dir = mkdtempSync(join(tmpdir(), 'ss-unit-systemctl-'));
  const log = join(dir, 'calls');
  const { active, code } = SSH_SOCKET[release];
  writeFileSync(
    join(dir, 'systemctl'),
    `#!/bin/sh\necho "$*" >> ${log}\ncase "$*" in\n  "is-active --quiet ssh.socket") exit ${code} ;;\n  "is-active ssh.socket") echo ${active}; exit ${code} ;;\nesac\nexit 0\n`,
  );
  chmodSync(join(dir, 'systemctl'), 0o755);
  writeFileSync(log, '');
  execFileSync('dash', ['-c', step.script], { env: { PATH: `${dir}:/usr/bin:/bin` } });
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

describe('socket-activated sshd (Ubuntu 24.04): a port move changes the socket, not only sshd_config', () => {
  it.each(RELEASES)('%s', (release) => {
    const calls = runWithSystemctl(socketStep('ssh'), release);
    if (release === 'ubuntu2404') expect(calls).toEqual(['is-active --quiet ssh.socket', 'daemon-reload', 'restart ssh.socket']);
    else expect(calls).toEqual(['is-active --quiet ssh.socket']);
  });

  it.each(RELEASES)('%s: the ssh role moving the port moves the listener (the socket\'s ListenStream where sshd is socket-activated), guarded', (release) => {
    const socket = parseSshSocket(`${SSH_UNITS_SHOW[release].socket}--- shipshape ssh.socket drop-in ---\n`, 0);
    const p = planFor('sshd_config', { settings: { Port: 2222 } }, { sshd: { files: [{ path: '/etc/ssh/sshd_config', content: 'Include /etc/ssh/sshd_config.d/*.conf\n' }] }, socket }, OS[release]);
    const written = p.steps.flatMap((s) => (s.kind === 'write' ? [s.path] : []));
    expect(p.guard?.restore).toMatch(/restart ssh\.socket/);
    expect(p.guard?.port).toBe(2222);
    if (release === 'ubuntu2404') {
      expect(written).toEqual(['/etc/ssh/sshd_config.d/00-shipshape.conf', SSH_SOCKET_DROPIN]);
      expect(p.guard?.paths).toContain(SSH_SOCKET_DROPIN);
    } else expect(written).toEqual(['/etc/ssh/sshd_config.d/00-shipshape.conf']);
  });
});

describe('"sshd running, enabled" on each release: the socket is the service where sshd is socket-activated (Ubuntu 24.04)', () => {
  const sshTask = ssh.tasks(ssh.vars.parse({})).find((t) => t.name === 'sshd running')!;
  const facts = (release: Release) => ({
    unit: parseSystemctlShow(SSH_UNITS_SHOW[release].service, 0),
    socket: parseSshSocket(`${SSH_UNITS_SHOW[release].socket}--- shipshape ssh.socket drop-in ---\n`, 0),
  });

  it.each(RELEASES)('%s: a stock host needs nothing, and ssh.service is never enabled beside a listening socket', (release) => {
    const p = planFor('service', sshTask.args, facts(release), OS[release]);
    expect(p.steps).toEqual([]);
    if (release === 'ubuntu2404') expect(p.reason).toBe('ssh needs nothing: socket-activated, ssh.socket enabled, ssh.socket active (running) on [::]:22 (Stream), not masked (ssh.service disabled, started on demand)');
    else expect(p.reason).toMatch(/^ssh needs nothing: not masked, enabled, active \(running\)/);
  });

  it('Ubuntu 24.04 with the socket stopped and disabled by hand: enable and start the socket, not ssh.service', () => {
    const f = facts('ubuntu2404');
    // still socket-activated by what systemd reports? enabled-or-active decides; a stopped, disabled socket is not
    const off = { ...f, socket: parseSshSocket(SSH_UNITS_SHOW.ubuntu2404.socket.replace('ActiveState=active', 'ActiveState=inactive').replace('SubState=running', 'SubState=dead').replace('UnitFileState=enabled', 'UnitFileState=disabled') + '--- shipshape ssh.socket drop-in ---\n', 0) };
    expect(planFor('service', sshTask.args, off, OS.ubuntu2404).steps).toEqual([{ kind: 'run', argv: ['systemctl', 'enable', 'ssh.service'] }]);
    const listening = { ...f, socket: parseSshSocket(SSH_UNITS_SHOW.ubuntu2404.socket.replace('UnitFileState=enabled', 'UnitFileState=disabled') + '--- shipshape ssh.socket drop-in ---\n', 0) };
    const p = planFor('service', sshTask.args, listening, OS.ubuntu2404);
    expect(p.steps).toEqual([{ kind: 'run', argv: ['systemctl', 'enable', 'ssh.socket'] }]);
    expect(p.reason).toBe('enable ssh.socket (sshd is socket-activated; ssh.service disabled, started on demand)');
    expect(p.drift?.[0]).toMatchObject({ what: 'ssh.socket is disabled', why: 'sshd would not be reachable after the next boot' });
  });

  it('the reload handler restarts a socket-activated sshd if it runs (a SIGHUP would kill it; a stopped one reads the new configuration at the next login)', () => {
    const handler = ssh.handlers!(ssh.vars.parse({}))[0];
    const p = planFor('service', handler.args, facts('ubuntu2404'), OS.ubuntu2404);
    expect(p.steps).toEqual([reloadSshd('ssh')]);
    expect(p.steps[0].kind === 'sh' && p.steps[0].script).toBe('if systemctl is-active --quiet ssh.socket; then if systemctl is-active --quiet ssh; then sshd -t && systemctl restart ssh; fi; else systemctl reload-or-restart ssh; fi');
    expect(planFor('service', handler.args, facts('debian12'), OS.debian12).steps).toEqual([{ kind: 'run', argv: ['systemctl', 'reload', 'ssh'] }]);
  });
});

describe('apt installs never wait on a question (needrestart on Ubuntu, debconf everywhere)', () => {
  it('every apt-get install and remove runs with noninteractive debconf and needrestart in automatic mode', () => {
    const fresh = { packages: { available: true, entries: [] } };
    const installed = { packages: { available: true, entries: [{ name: 'nginx', arch: 'amd64', state: 'installed', version: '1' }] } };
    for (const p of [planFor('apt', { name: 'nginx' }, fresh, OS.ubuntu2204), planFor('apt', { name: 'nginx', state: 'absent' }, installed, OS.ubuntu2204)]) {
      // the apt-get command is the last step (a repair of an interrupted dpkg run may come first)
      expect(p.steps.at(-1)).toMatchObject({ kind: 'run', env: { DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' } });
    }
  });
});

describe("Docker: Debian's and Ubuntu's packages, Docker's repository suites", () => {
  it.each(RELEASES)("%s: the vendor repository's suite is the release codename", (release) => {
    const uri = `https://download.docker.com/linux/${OS[release].osId}`;
    const repoTask = docker.tasks(docker.vars.parse({ docker_apt_uri: uri })).find((t) => t.name === 'Docker apt repository')!;
    const facts = { key: { exists: false }, sources: { exists: false }, legacy: { exists: false }, keyrings: parseStatLine('directory|755|root|root|4096'), fetched: { indexed: false } };
    const p = planFor('apt_repository', repoTask.args, facts, OS[release]);
    const sources = p.steps.find((s): s is Extract<Step, { kind: 'write' }> => s.kind === 'write' && s.path.endsWith('.sources'))!;
    expect(sources.content).toContain(`URIs: ${uri}\nSuites: ${CODENAME[release]}\nComponents: stable\n`);
  });

  it("docker-cli is installed only where docker.io leaves the host without a docker command (Debian 13)", () => {
    // Debian 12 and Ubuntu: docker.io ships /usr/bin/docker; Debian 13: only docker-cli does
    const ok = planFor('command', DOCKER_CLI_TASK.args, { unless: 0 });
    expect(ok.steps).toEqual([]);
    const missing = planFor('command', DOCKER_CLI_TASK.args, { unless: 1 });
    expect(missing.steps).toHaveLength(1);
    expect(missing.steps[0]).toMatchObject({ kind: 'run', argv: expect.arrayContaining(['DEBIAN_FRONTEND=noninteractive', '--no-install-recommends', 'install', 'docker-cli']) });
    expect(docker.tasks(docker.vars.parse({ docker_source: 'debian' })).map((t) => t.name)).toContain(DOCKER_CLI_TASK.name);
    expect(docker.tasks(docker.vars.parse({})).map((t) => t.name)).not.toContain(DOCKER_CLI_TASK.name);
  });

  it.each(RELEASES)('%s: the client joins the transaction that installs docker.io where it is a package of its own (no second apt-get)', (release) => {
    const task = docker.tasks(docker.vars.parse({ docker_source: 'debian' })).find((t) => t.name === 'Docker packages installed (Debian)')!;
    const installArgv = (entries: { name: string; state: string; version: string; arch: string }[]) => {
      const p = planFor(task.module, task.args, { packages: { available: true, entries }, cache: { hasLists: true, updated: 100, now: 200 } }, OS[release]);
      return p.steps.flatMap((s) => (s.kind === 'run' && s.argv.includes('install') ? [s.argv.slice(s.argv.indexOf('--') + 1)] : []));
    };
    const fresh = installArgv([]);
    expect(fresh).toEqual([['docker.io', 'docker-compose', 'apparmor', 'xz-utils', ...(release === 'debian13' ? ['docker-cli'] : [])]]);
    // docker.io already there: the client is left to the "docker command installed" task, as before
    const inst = (name: string) => ({ name, state: 'installed', version: '1', arch: 'amd64' });
    expect(installArgv([inst('docker.io'), inst('docker-compose'), inst('apparmor')])).toEqual([['xz-utils']]);
    expect(installArgv(['docker.io', 'docker-compose', 'apparmor', 'xz-utils'].map(inst))).toEqual([]);
  });
});

describe('sshd -T judges a key exchange list declared relative to the default', () => {
  it.each(RELEASES)('%s: the role\'s removal list is in effect once sshd uses none of them', (release) => {
    const want = `-${KEX_REMOVED.join(',')}`;
    const used = effectiveKex(kexList(SSHD_DEFAULT_KEX[release])).join(',');
    expect(inEffect(used, want)).toBe(true);
    // sshd still offering a removed exchange is not in effect
    expect(inEffect(kexList(SSHD_DEFAULT_KEX[release]).join(','), want)).toBe(false);
  });

  it('plain values compare as before; + and ^ need every named algorithm', () => {
    expect(inEffect('no', 'No')).toBe(true);
    expect(inEffect('curve25519-sha256,mlkem768x25519-sha256', '+mlkem768x25519-sha256')).toBe(true);
    expect(inEffect('curve25519-sha256', '^mlkem768x25519-sha256')).toBe(false);
  });
});

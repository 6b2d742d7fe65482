import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCH, CONTAINER } from '../../../src/facts/host.js';

/**
 * The host facts' builtin replacements for systemd-detect-virt and dpkg, run for real through /bin/sh against
 * a scratch root holding the files each case has (every absolute path of the script is moved under it).
 */
function inRoot(script: string, files: Record<string, string>, path = '/usr/bin:/bin'): { out: string; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'ss-host-'));
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    if (f.endsWith('/')) mkdirSync(join(root, f), { recursive: true });
    else writeFileSync(join(root, f), content);
  }
  const moved = script.replace(/(^|[\s"<])\/(proc|run|sys|var|\.dockerenv)/g, `$1${root}/$2`);
  const r = spawnSync('/bin/sh', ['-c', `${moved}\necho "$v$a"`], { encoding: 'utf8', env: { PATH: path } });
  return { out: r.stdout.trim(), root };
}

const systemd = { '/run/systemd/system/': '', '/proc/self/status': 'Name:\tsh\nTracerPid:\t0\n', '/proc/sys/kernel/osrelease': '6.1.0-28-amd64\n' };
const container = (files: Record<string, string>) => inRoot(CONTAINER, { ...systemd, ...files }).out;

describe('the container kind, as systemd-detect-virt --container says it (builtins only)', () => {
  it('reads the manager systemd recorded: the lab nspawn hosts, LXC, Docker; an unknown name is container-other', () => {
    // the lab's hosts (Debian 12 and 13 under systemd-nspawn) have both files; the tool says systemd-nspawn
    expect(container({ '/run/host/container-manager': 'systemd-nspawn\n', '/run/systemd/container': 'systemd-nspawn\n' })).toBe('systemd-nspawn');
    expect(container({ '/run/systemd/container': 'lxc\n' })).toBe('lxc');
    expect(container({ '/run/systemd/container': 'docker' })).toBe('docker');
    expect(container({ '/run/systemd/container': 'garden\n' })).toBe('container-other');
    // the manager's own file comes first
    expect(container({ '/run/host/container-manager': 'podman\n', '/run/systemd/container': 'lxc\n' })).toBe('podman');
  });

  it('"oci" is judged by the well-known files; without a manager name, the files and the cgroup namespace', () => {
    expect(container({ '/run/systemd/container': 'oci\n', '/.dockerenv': '' })).toBe('docker');
    expect(container({ '/run/systemd/container': 'oci\n' })).toBe('container-other');
    expect(container({ '/run/.containerenv': '' })).toBe('podman');
    expect(container({ '/proc/self/ns/cgroup': '', '/sys/fs/cgroup/cgroup.controllers': '', '/sys/fs/cgroup/cgroup.events': '', '/sys/fs/cgroup/cgroup.type': '' })).toBe('container-other');
    // the root cgroup of a VM or a bare server: no cgroup.events
    expect(container({ '/proc/self/ns/cgroup': '', '/sys/fs/cgroup/cgroup.controllers': '', '/sys/kernel/cgroup/features': '' })).toBe('none');
  });

  it('OpenVZ, WSL and proot come before anything else; nothing at all is none', () => {
    expect(container({ '/proc/vz/': '', '/run/systemd/container': 'lxc\n' })).toBe('openvz');
    // OpenVZ's host node has /proc/bc too
    expect(container({ '/proc/vz/': '', '/proc/bc/': '' })).toBe('none');
    expect(container({ '/proc/sys/kernel/osrelease': '5.15.153.1-microsoft-standard-WSL2\n' })).toBe('wsl');
    expect(container({ '/proc/self/status': 'Name:\tsh\nTracerPid:\t77\n', '/proc/77/comm': 'proot\n' })).toBe('proot');
    expect(container({ '/proc/self/status': 'Name:\tsh\nTracerPid:\t77\n', '/proc/77/comm': 'strace\n' })).toBe('none');
    expect(container({})).toBe('none');
  });

  it('a PID 1 that is not systemd keeps $container in /proc/1/environ: there the tool itself answers', () => {
    const bin = mkdtempSync(join(tmpdir(), 'ss-host-bin-'));
    writeFileSync(join(bin, 'systemd-detect-virt'), '#!/bin/sh\necho lxc\n', { mode: 0o755 });
    const { out } = inRoot(CONTAINER, { '/proc/self/status': 'TracerPid:\t0\n' }, bin);
    expect(out).toBe('lxc');
  });
});

describe('the architecture, as dpkg --print-architecture says it', () => {
  it("is libc6's: the one Multi-Arch: same list names it; with a foreign libc6 too, dpkg answers", () => {
    expect(inRoot(ARCH, { '/var/lib/dpkg/info/libc6:amd64.list': '', '/var/lib/dpkg/info/dpkg.list': '' }).out).toBe('amd64');
    expect(inRoot(ARCH, { '/var/lib/dpkg/info/libc6:arm64.list': '' }).out).toBe('arm64');
    const bin = mkdtempSync(join(tmpdir(), 'ss-host-bin-'));
    writeFileSync(join(bin, 'dpkg'), '#!/bin/sh\necho armhf\n', { mode: 0o755 });
    expect(inRoot(ARCH, { '/var/lib/dpkg/info/libc6:armhf.list': '', '/var/lib/dpkg/info/libc6:arm64.list': '' }, bin).out).toBe('armhf');
    expect(inRoot(ARCH, {}, bin).out).toBe('armhf');
  });
});

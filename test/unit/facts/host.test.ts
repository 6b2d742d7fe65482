import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressLines, ARCH, CONTAINER, hostInfo } from '../../../src/facts/host.js';

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

describe('the route to the controller and its device addresses, from one ip', () => {
  // recorded on a lab host (Debian 13, Docker installed): `ip -o -batch -` with "route get 10.99.0.1" and "addr show"
  const RECORDED = [
    '10.99.0.1 dev eth0 src 10.99.0.132 uid 0 \\    cache ',
    '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
    '1: lo    inet6 ::1/128 scope host proto kernel_lo \\       valid_lft forever preferred_lft forever',
    '2: eth0    inet 10.99.0.132/24 scope global eth0\\       valid_lft forever preferred_lft forever',
    '2: eth0    inet6 fe80::99:2ff:fe00:7a/64 scope link proto kernel_ll \\       valid_lft forever preferred_lft forever',
    '3: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever preferred_lft forever',
  ].join('\n');

  function hostWithIp(ipScript: string, sshConnection: string) {
    const bin = mkdtempSync(join(tmpdir(), 'ss-host-ip-'));
    writeFileSync(join(bin, 'ip'), `#!/bin/sh\necho "$*" >> ${join(bin, 'calls')}\ncat >> ${join(bin, 'calls')}\n${ipScript}\n`, { mode: 0o755 });
    const r = spawnSync('/bin/sh', ['-c', hostInfo.script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, SSH_CONNECTION: sshConnection } });
    const calls = (() => {
      try {
        return readFileSync(join(bin, 'calls'), 'utf8');
      } catch {
        return '';
      }
    })();
    return { info: hostInfo.parse(r.stdout, r.status ?? 0), calls, out: r.stdout };
  }

  it('asks ip once for the route and the addresses, keeping the route device lines only', () => {
    const { info, calls } = hostWithIp(`cat <<'X'\n${RECORDED}\nX`, '10.99.0.1 59038 10.99.0.132 22');
    expect(calls).toBe('-o -batch -\nroute get 10.99.0.1\naddr show\n');
    expect(info.client).toBe('10.99.0.1');
    expect(info.clientRoute).toEqual({ dev: 'eth0', src: '10.99.0.132', nets: ['10.99.0.132/24', 'fe80::99:2ff:fe00:7a/64'] });
  });

  it('a route ip cannot give (the batch stops there) means no route; an address with a blank never reaches ip', () => {
    // the batch fails at the route: the addresses are asked alone
    const unreachable = hostWithIp('if [ "$1" = -o ] && [ "$2" = addr ]; then echo "2: eth0    inet 10.0.0.1/24 scope global eth0"; else echo "RTNETLINK answers: Network is unreachable" >&2; exit 1; fi', '203.0.113.9 5 10.0.0.1 22');
    expect(unreachable.info.clientRoute).toBeUndefined();
    expect(unreachable.calls).toBe('-o -batch -\nroute get 203.0.113.9\naddr show\n-o addr show\n');
    expect(addressLines(unreachable.out)).toEqual(['2: eth0    inet 10.0.0.1/24 scope global eth0']);
    const odd = hostWithIp(`cat <<'X'\n${RECORDED.split('\n').slice(1).join('\n')}\nX`, '10.99.0.1\naddr\tdel 22');
    expect(odd.calls).toBe('-o addr show\n');
    expect(odd.info.clientRoute).toBeUndefined();
    expect(addressLines(odd.out)).toEqual(RECORDED.split('\n').slice(1));
  });

  it("prints every address ip has (Caddy's domain check reads the global ones); no ip, no addresses", () => {
    const { out } = hostWithIp(`cat <<'X'\n${RECORDED}\nX`, '10.99.0.1 59038 10.99.0.132 22');
    expect(addressLines(out)).toEqual(RECORDED.split('\n').slice(1));
    const r = spawnSync('/bin/sh', ['-c', hostInfo.script], { encoding: 'utf8', env: { PATH: mkdtempSync(join(tmpdir(), 'ss-host-noip-')), SSH_CONNECTION: '10.99.0.1 5 10.99.0.132 22' } });
    expect(addressLines(r.stdout)).toEqual([]);
    expect(hostInfo.parse(r.stdout, r.status ?? 0).client).toBe('10.99.0.1');
  });
});

describe("the release, from os-release's own lines (no subshell: the probe runs in the batch's shell)", () => {
  function release(osRelease: string | undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'ss-host-os-'));
    const file = join(dir, 'os-release');
    if (osRelease !== undefined) writeFileSync(file, osRelease);
    const script = hostInfo.script.replace('</etc/os-release', `<${file}`);
    expect(script).not.toBe(hostInfo.script);
    // a variable set by the file never reaches the shell: it is read, not sourced
    const r = spawnSync('/bin/sh', ['-c', `${script}\necho "after=$ID$NAME"`], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    const info = hostInfo.parse(r.stdout, r.status ?? 0);
    return { id: info.osId, version: info.osVersion, codename: info.osCodename, after: /^after=(.*)$/m.exec(r.stdout)?.[1] };
  }

  it('reads the values as the shell that sources the file would: quoted or not, the last line without its newline', () => {
    // Debian 12's /etc/os-release (its first lines)
    const bookworm = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n';
    expect(release(bookworm)).toEqual({ id: 'debian', version: '12', codename: 'bookworm', after: '' });
    expect(release("ID='ubuntu'\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble")).toEqual({ id: 'ubuntu', version: '24.04', codename: 'noble', after: '' });
    expect(release('ID="a\\"b"\nVERSION_ID=1\\ 2\n')).toMatchObject({ id: 'a"b', version: '1 2' });
    // a line that only starts like a field is another field
    expect(release('IDENTITY=x\nID_LIKE=debian\nID=debian\n').id).toBe('debian');
  });

  it('no os-release: empty fields, and the rest of the facts still printed', () => {
    expect(release(undefined)).toEqual({ id: '', version: '', codename: '', after: '' });
    expect(hostInfo.inline).toBe(true);
  });
});

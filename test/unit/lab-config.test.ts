// Pure helpers of the lab (scripts/lab/): mirror parsing, addressing, inventory and known_hosts rendering.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hostNames, labHost, macAddress, netnsName, vethName } from '../../scripts/lab/addressing.js';
import { parseDeb822Sources, parseOneLineSources } from '../../scripts/lab/apt-sources.js';
import { renderDebianSources } from '../../scripts/lab/base-image.js';
import { parseCgroupMounts } from '../../scripts/lab/cgroups.js';
import { DISTS, distOfOsRelease, parseDist } from '../../scripts/lab/dists.js';
import { baseImagePath } from '../../scripts/lab/paths.js';
import { bootLoopScript } from '../../scripts/lab/host.js';
import { mergeKnownHosts, renderInventory } from '../../scripts/lab/inventory.js';
import { shQuote } from '../../scripts/lab/shell.js';

const DEB822 = `Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.example/archive/debian-security/20250520T000000Z
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('mirror parsing', () => {
  it('deb822: first URIs line is the mirror, the security stanza gives the security URI', () => {
    expect(parseDeb822Sources(DEB822)).toEqual({
      main: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    });
  });

  it('deb822: finds the security stanza by suite even when it comes first; trims trailing slashes', () => {
    const [main, security] = DEB822.split('\n\n');
    expect(parseDeb822Sources(`${security.replace('debian-security\n', 'debian-security/\n')}\n${main}`)).toEqual({
      main: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    });
  });

  it('deb822: a single stanza has no security URI; deb-src only or empty gives nothing', () => {
    expect(parseDeb822Sources(DEB822.split('\n\n')[0])).toEqual({ main: 'http://mirror.example/debian' });
    expect(parseDeb822Sources('Types: deb-src\nURIs: http://x/debian\nSuites: bookworm\n')).toBeUndefined();
    expect(parseDeb822Sources('# nothing\n')).toBeUndefined();
  });

  it('deb822: skips multi-line field continuations', () => {
    const text = 'Types: deb\nURIs: http://m/debian\nSuites: bookworm\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n URIs: nope\n';
    expect(parseDeb822Sources(text)).toEqual({ main: 'http://m/debian' });
  });

  it('one-line sources.list: options, comments, security suite', () => {
    const text = [
      '# deb http://old.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib',
      'deb-src http://mirror.example/debian bookworm main',
      'deb http://mirror.example/debian bookworm-updates main',
      'deb http://sec.example/debian-security bookworm-security main',
    ].join('\n');
    expect(parseOneLineSources(text)).toEqual({
      main: 'http://mirror.example/debian',
      security: 'http://sec.example/debian-security',
    });
    expect(parseOneLineSources('')).toBeUndefined();
  });

  it('renders the image sources with updates and security suites', () => {
    const text = renderDebianSources({ main: 'http://m/debian', security: 'http://m/debian-security' });
    expect(parseDeb822Sources(text)).toEqual({ main: 'http://m/debian', security: 'http://m/debian-security' });
    expect(text).toContain('Suites: bookworm bookworm-updates\n');
    expect(text).toContain('Suites: bookworm-security\n');
    expect(renderDebianSources({ main: 'http://m/debian' })).not.toContain('security');
  });

  it('Debian 13: the same three suites under trixie names', () => {
    const text = renderDebianSources({ main: 'http://m/debian', security: 'http://m/debian-security' }, 'trixie');
    expect(text).toContain('Suites: trixie trixie-updates\n');
    expect(text).toContain('Suites: trixie-security\n');
    expect(text).not.toContain('bookworm');
  });
});

// /etc/os-release as Debian ships it (12.x and 13.x)
const OS_RELEASE_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;
const OS_RELEASE_13 = `PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.2
ID=debian
`;

describe('releases', () => {
  it('Debian 12 and 13, Debian 12 first (the default)', () => {
    expect(DISTS).toEqual(['bookworm', 'trixie']);
    expect(parseDist('trixie')).toBe('trixie');
    expect(() => parseDist('jammy')).toThrow(/unknown Debian release "jammy": expected one of bookworm, trixie/);
  });

  it("reads a host root's release from os-release; an unknown one is undefined", () => {
    expect(distOfOsRelease(OS_RELEASE_12)).toBe('bookworm');
    expect(distOfOsRelease(OS_RELEASE_13)).toBe('trixie');
    expect(distOfOsRelease('ID=ubuntu\nVERSION_CODENAME=noble\n')).toBeUndefined();
    expect(distOfOsRelease('')).toBeUndefined();
  });

  it("Debian 12's base image keeps its path; Debian 13's lives beside it", () => {
    expect(baseImagePath('bookworm', '/lab')).toBe('/lab/base');
    expect(baseImagePath('trixie', '/lab')).toBe('/lab/base-trixie');
  });
});

describe('addressing', () => {
  it('derives address, FQDN, namespace and veth names from the host number', () => {
    expect(labHost('h1')).toEqual({ name: 'h1', addr: '10.99.0.11', fqdn: 'h1.lab.test' });
    expect(labHost('h244').addr).toBe('10.99.0.254');
    expect(netnsName('h12')).toBe('ss-h12');
    expect(vethName('h244').length).toBeLessThanOrEqual(15); // IFNAMSIZ
  });

  it('rejects names outside h1..h244', () => {
    for (const bad of ['h0', 'h245', 'h01', 'web1', 'h1; rm -rf /', '']) expect(() => labHost(bad)).toThrow();
  });

  it('expands a count or validates a list', () => {
    expect(hostNames(3)).toEqual(['h1', 'h2', 'h3']);
    expect(hostNames(0)).toEqual([]);
    expect(hostNames(['h3', 'h1', 'h3'])).toEqual(['h3', 'h1']);
    expect(() => hostNames(1.5)).toThrow();
    expect(() => hostNames(['x'])).toThrow();
  });

  it('gives fixed, distinct, locally administered unicast MACs', () => {
    expect(macAddress('bridge')).toBe('02:99:00:00:00:00');
    expect(macAddress('gateway-side', 1)).toBe('02:99:01:00:00:01');
    expect(macAddress('host-side', 244)).toBe('02:99:02:00:00:f4');
    const all = new Set<string>([macAddress('bridge')]);
    for (let n = 1; n <= 244; n++) all.add(macAddress('gateway-side', n)).add(macAddress('host-side', n));
    expect(all.size).toBe(1 + 2 * 244);
    for (const mac of all) expect(parseInt(mac.slice(0, 2), 16) & 0b11).toBe(0b10);
    expect(() => macAddress('host-side', 0)).toThrow();
  });
});

describe('inventory and known_hosts', () => {
  it('renders an Ansible-shaped inventory', () => {
    const text = renderInventory([labHost('h1'), labHost('h2')], '/lab/id_ed25519');
    expect(text.startsWith('# written by')).toBe(true);
    expect(text).toContain('    h1: { host: 10.99.0.11 }\n');
    expect(parse(text)).toEqual({
      all: {
        vars: { user: 'root', identity_file: '/lab/id_ed25519' },
        hosts: { h1: { host: '10.99.0.11' }, h2: { host: '10.99.0.12' } },
      },
    });
    expect(parse(renderInventory([], '/k')).all.hosts).toEqual({});
  });

  it('replaces every line of a re-created host and keeps the others', () => {
    const before = [
      '10.99.0.11 ssh-ed25519 OLD1',
      'h1.lab.test ssh-ed25519 OLD1',
      '10.99.0.12 ssh-ed25519 KEEP',
      '10.99.0.11,other ssh-rsa OLD2',
      '',
    ].join('\n');
    const after = mergeKnownHosts(before, [{ host: labHost('h1'), keys: ['ssh-ed25519 NEW1', 'ssh-rsa NEW2'] }]);
    expect(after.split('\n')).toEqual([
      '10.99.0.12 ssh-ed25519 KEEP',
      '10.99.0.11 ssh-ed25519 NEW1',
      '10.99.0.11 ssh-rsa NEW2',
      'h1.lab.test ssh-ed25519 NEW1',
      'h1.lab.test ssh-rsa NEW2',
      '',
    ]);
    expect(mergeKnownHosts(after, [], [labHost('h1'), labHost('h2')])).toBe('');
  });
});

describe('boot loop', () => {
  it('reboots only on exit 133 and records the nspawn pid', () => {
    const script = bootLoopScript('h3');
    expect(script.split('\n')[0]).toBe('# shipshape-lab boot loop ss-h3');
    expect(script).toContain('--network-namespace-path=/run/netns/ss-h3');
    expect(script).toContain(`'--system-call-filter=@keyring bpf'`);
    expect(script).toContain('[ "$rc" = 133 ] || break');
    expect(script).toMatch(/echo \$! > \S+\/hosts\/h3\/nspawn\.pid/);
  });

  it("starts nspawn in the host's own cgroups (one per hierarchy nspawn uses)", () => {
    const hybrid = [
      'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
      'cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0',
      'cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0',
      'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
    ].join('\n');
    expect(parseCgroupMounts(hybrid)).toEqual(['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']);
    expect(parseCgroupMounts('cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n')).toEqual(['/sys/fs/cgroup']);
    expect(parseCgroupMounts('proc /proc proc rw 0 0\n')).toEqual([]);
    // the subshell moves itself, then execs nspawn, so $! is nspawn's pid
    expect(bootLoopScript('h3')).toMatch(/\( (mkdir -p \S+\/shipshape-lab\/h3 && echo 0 > \S+ \|\| echo [^;]+; )*SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec systemd-nspawn /);
  });

  it('quotes for POSIX sh', () => {
    expect(shQuote('plain-word_1.0/x')).toBe('plain-word_1.0/x');
    expect(shQuote("it's here")).toBe(`'it'\\''s here'`);
    expect(shQuote('')).toBe(`''`);
  });
});

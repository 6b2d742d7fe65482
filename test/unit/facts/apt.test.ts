import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { newNonce, parseBatch, renderBatch } from '../../../src/core/script.js';
import {
  aptCache,
  aptCandidates,
  candidateFor,
  dpkgPackages,
  packageStatus,
  parseAptCache,
  parseAptPolicy,
  parseDpkgQuery,
  parsePackageSpec,
} from '../../../src/facts/apt.js';

// recorded on Debian 12: `dpkg-query -W -f=... nginx libc6 telnet ufw nosuch` (exit 1, nosuch only on stderr)
const DPKG = [
  'nginx\tamd64\tinstall ok installed\t1.22.1-9',
  'libc6\tamd64\tinstall ok installed\t2.36-9+deb12u7',
  'libc6\ti386\tinstall ok installed\t2.36-9+deb12u7',
  'telnet\tamd64\tdeinstall ok config-files\t0.17+2.4-2',
  'ufw\tall\tinstall ok half-configured\t0.36.2-1',
  '',
].join('\n');

// recorded: `apt-cache policy -- bash nosuch libc6:i386`
const POLICY = `bash:
  Installed: 5.2.15-2+b2
  Candidate: 5.2.15-2+b7
  Version table:
     5.2.15-2+b7 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
 *** 5.2.15-2+b2 100
        100 /var/lib/dpkg/status
libc6:i386:
  Installed: (none)
  Candidate: (none)
  Version table:
`;

/** Run probes the way the engine does (one batch script under /bin/sh) and parse each answer. */
function probeLocally<T>(p: Probe<T>): T {
  const nonce = newNonce();
  const batch = { probes: [p] };
  const r = spawnSync('sh', ['-c', renderBatch(batch, nonce)], { encoding: 'utf8' });
  const section = parseBatch(r.stdout, batch, nonce).probes.get(p.id);
  if (!section) throw new Error(`probe ${p.id} gave no answer: ${r.stderr}`);
  return p.parse(section.stdout, section.code);
}

const hasDpkg = spawnSync('sh', ['-c', 'command -v dpkg-query && command -v apt-cache']).status === 0;

describe('dpkg-query facts', () => {
  const facts = parseDpkgQuery(DPKG, 1);

  it('parses every recorded line, unknown names simply absent', () => {
    expect(facts.available).toBe(true);
    expect(facts.entries).toHaveLength(5);
    expect(facts.entries[3]).toEqual({ name: 'telnet', arch: 'amd64', state: 'config-files', version: '0.17+2.4-2' });
    expect(packageStatus(facts, parsePackageSpec('nosuch'))).toEqual({ installed: false, configFiles: false });
  });

  it('tells installed, removed-with-config and broken packages apart', () => {
    expect(packageStatus(facts, parsePackageSpec('nginx'))).toMatchObject({ installed: true, version: '1.22.1-9' });
    expect(packageStatus(facts, parsePackageSpec('telnet'))).toEqual({ installed: false, configFiles: true });
    expect(packageStatus(facts, parsePackageSpec('ufw'))).toMatchObject({ installed: false, broken: 'half-configured' });
  });

  it('matches an :arch qualifier, and "all" packages for any arch', () => {
    expect(packageStatus(facts, parsePackageSpec('libc6:i386')).installed).toBe(true);
    expect(packageStatus(facts, parsePackageSpec('libc6:arm64')).installed).toBe(false);
    expect(packageStatus(facts, parsePackageSpec('ufw:amd64')).broken).toBe('half-configured');
  });

  it('reports a host without dpkg-query (exit 127) as unavailable', () => {
    expect(parseDpkgQuery('', 127)).toEqual({ available: false, entries: [] });
  });

  it('splits name, arch and version', () => {
    expect(parsePackageSpec('libc6:i386=2.36-9')).toEqual({ name: 'libc6', arch: 'i386', version: '2.36-9' });
    expect(parsePackageSpec('nginx=1:1.22.1-9')).toEqual({ name: 'nginx', version: '1:1.22.1-9' });
  });

  it('shares one probe between tasks asking about the same packages in any order', () => {
    expect(dpkgPackages(['curl', 'nginx=1.2']).id).toBe(dpkgPackages(['nginx', 'curl']).id);
  });

  it.skipIf(!hasDpkg)('runs under /bin/sh on this machine', () => {
    const got = probeLocally(dpkgPackages(['dpkg', 'shipshape-no-such-package']));
    expect(got.available).toBe(true);
    expect(packageStatus(got, { name: 'dpkg' }).installed).toBe(true);
    expect(packageStatus(got, { name: 'shipshape-no-such-package' }).installed).toBe(false);
  });
});

describe('apt-cache policy facts', () => {
  it('reads candidates, (none) as no candidate', () => {
    const c = parseAptPolicy(POLICY);
    expect(c).toEqual({ bash: '5.2.15-2+b7', 'libc6:i386': undefined });
    expect(candidateFor(c, { name: 'bash', arch: 'amd64' })).toBe('5.2.15-2+b7');
    expect(candidateFor(c, { name: 'libc6', arch: 'i386' })).toBeUndefined();
  });

  it.skipIf(!hasDpkg)('runs under /bin/sh on this machine', () => {
    const got = probeLocally(aptCandidates(['dpkg', 'shipshape-no-such-package']));
    expect(Object.keys(got)).toEqual(['dpkg']);
  });
});

describe('apt cache age facts', () => {
  it('takes the newer of the stamp and the lists directory', () => {
    expect(parseAptCache('1700000000 1699990000 1699999000 yes\n')).toEqual({ now: 1700000000, updated: 1699999000, hasLists: true });
  });

  it('reports a never-updated cache (fresh container image)', () => {
    expect(parseAptCache('1700000000 0 0 no\n')).toEqual({ now: 1700000000, hasLists: false });
  });

  it('runs under /bin/sh on this machine', () => {
    const got = probeLocally(aptCache());
    expect(Math.abs(got.now - Date.now() / 1000)).toBeLessThan(3);
    expect(typeof got.hasLists).toBe('boolean');
  });

  it("takes the host's clock from its one stat (/proc/self/'s mtime), without date", () => {
    // a PATH holding stat alone: date cannot run
    const bin = mkdtempSync(join(tmpdir(), 'ss-apt-bin-'));
    symlinkSync(spawnSync('/bin/sh', ['-c', 'command -v stat'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'stat'));
    const r = spawnSync('/bin/sh', ['-c', aptCache().script], { encoding: 'utf8', env: { PATH: bin } });
    const got = parseAptCache(r.stdout);
    expect(Math.abs(got.now - Date.now() / 1000)).toBeLessThan(3);
  });
});

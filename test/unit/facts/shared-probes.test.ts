/**
 * Issue 15: one command per kind for the whole play. Sets of files share one stat and one tail, iptables is
 * dumped once for ufw and Docker, ssh.socket is read in the play's one `systemctl show`; each composed
 * probe must still answer what its own script printed alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Probe } from '../../../src/core/probe.js';
import { renderBatch } from '../../../src/core/script.js';
import { aptCache, type AptCache } from '../../../src/facts/apt.js';
import { caddyLoaded, domainResolution, parseDomainResolution, type DomainResolution } from '../../../src/facts/caddy.js';
import { hostInfo } from '../../../src/facts/host.js';
import { aptConfig } from '../../../src/facts/apt_config.js';
import { chainRules, dockerDaemon } from '../../../src/facts/docker.js';
import { dumpAsTail, dumpBatcher, fileDump, sizedDumpText, tailDumpText } from '../../../src/facts/dump.js';
import { fileStat } from '../../../src/facts/file.js';
import { sshSocket } from '../../../src/facts/ssh-socket.js';
import { sudoPolicy } from '../../../src/facts/sudoers.js';
import { sysctlFiles } from '../../../src/facts/sysctl-files.js';
import { unitBatcher, unitProps, unitState } from '../../../src/facts/systemd.js';
import { accountBatcher, authorizedKeysOf, parseAuthorizedKeysFile, passwdEntry } from '../../../src/facts/users.js';
import { ufwState } from '../../../src/facts/ufw.js';
import { countProcesses } from '../helpers/process-count.js';
import { alone, probesLocally } from '../helpers/probe.js';

describe('file sets share one stat and one tail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-dump-'));
  writeFileSync(join(dir, 'a.conf'), 'a\nb\n');
  writeFileSync(join(dir, 'b.conf'), 'no newline');
  writeFileSync(join(dir, 'c.conf'), '');
  writeFileSync(join(dir, 'd.conf'), `x\n==> ${join(dir, 'a.conf')} <==\nfake\n`);
  writeFileSync(join(dir, 'other'), 'Grüße ✓\n');
  mkdirSync(join(dir, 'sub.conf'));
  symlinkSync(join(dir, 'a.conf'), join(dir, 'e.conf'));
  const sets = [[`${dir}/*.conf`], [join(dir, 'other'), join(dir, 'missing')], [join(dir, 'a.conf')], [`${dir}/none*`]];

  it('answers each set what its own script prints, in one batch', () => {
    const probes = sets.map((s) => fileDump(s));
    const batched = probesLocally(probes);
    expect(batched).toEqual(probes.map((p) => probesLocally([alone(p)])[0]));
    expect(batched[0]).toEqual([
      { path: join(dir, 'a.conf'), content: 'a\nb\n' },
      { path: join(dir, 'b.conf'), content: 'no newline' },
      { path: join(dir, 'c.conf'), content: '' },
      { path: join(dir, 'd.conf'), content: `x\n==> ${join(dir, 'a.conf')} <==\nfake\n` },
      { path: join(dir, 'e.conf'), content: 'a\nb\n' },
    ]);
    expect(batched[1]).toEqual([{ path: join(dir, 'other'), content: 'Grüße ✓\n' }]);
    expect(batched[3]).toEqual([]);
    const { commands } = countProcesses(renderBatch({ probes }, '0123456789abcdef'));
    expect(commands.stat).toBe(1);
    expect(commands.tail).toBe(1);
  });

  it('a set split from the shared dump reads back as its own (sizes cut each text)', () => {
    const files = [
      { path: '/x/a', content: 'one\n' },
      { path: '/x/b', content: '==> /x/a <==\n' },
    ];
    const keys = [JSON.stringify(['/x/a']), JSON.stringify(['/x/b', '/x/a'])];
    const out = `K 0 /x/a\nK 1 /x/b\nK 1 /x/a\n${sizedDumpText([files[0], files[1], files[0]])}`;
    expect(dumpBatcher.split(out, 0, keys)).toEqual([
      { stdout: sizedDumpText([files[0]]), code: 0 },
      { stdout: sizedDumpText([files[1], files[0]]), code: 0 },
    ]);
  });

  it("rebuilds tail -v -n +1's text for the parsers that read it", () => {
    expect(tailDumpText([])).toBe('');
    expect(tailDumpText([{ path: '/a', content: 'x' }, { path: '/b', content: 'y\n' }])).toBe('==> /a <==\nx\n==> /b <==\ny\n\n');
    // a set's answer from the shared dump, read back as that text (ufw's, sudo's and APT's joins)
    const files = [{ path: '/a', content: 'x' }, { path: '/b', content: '==> /a <==\n' }];
    expect(dumpAsTail(sizedDumpText(files))).toBe(tailDumpText(files));
    expect(dumpAsTail('')).toBe('');
  });
});

describe('composed probes answer what their own script printed', () => {
  const composed: [string, Probe][] = [
    ['sudo policy', sudoPolicy('root')],
    ['apt config', aptConfig(['APT::Periodic::Update-Package-Lists'])],
    ['ufw', ufwState],
    ['a Docker chain', chainRules('DOCKER-USER')],
    ['Docker daemon', dockerDaemon],
    ['ssh.socket', sshSocket],
    ['sysctl.d files', sysctlFiles],
    ["Caddy's domains and the host's addresses", domainResolution(['localhost', 'no-such-name.invalid'])],
  ];
  it.each(composed)('%s, on this machine', (_n, p) => {
    const [batched] = probesLocally([p, unitState('ssh')]);
    expect(batched).toEqual(probesLocally([alone(p)])[0]);
  });

  it("APT's cache times come from the play's one stat, and say what the probe said alone", () => {
    const [batched] = probesLocally([aptCache(), fileStat('/etc/hostname')]) as AptCache[];
    const single = probesLocally([alone(aptCache())])[0] as AptCache;
    expect({ ...batched, now: 0 }).toEqual({ ...single, now: 0 });
    expect(Math.abs(batched.now - single.now)).toBeLessThanOrEqual(2);
    expect(countProcesses(renderBatch({ probes: [aptCache(), fileStat('/etc/hostname')] }, '0123456789abcdef')).commands.stat).toBe(1);
  });

  it('all of them together start one stat, one tail, one systemctl and one iptables per family', () => {
    const { commands } = countProcesses(renderBatch({ probes: [...composed.map(([, p]) => p), unitState('ssh')] }, '0123456789abcdef'));
    expect(commands.stat).toBe(1);
    expect(commands.tail).toBe(1);
    // no cat per file: the one left prints the background probes' spooled answers
    expect(commands.cat ?? 0).toBeLessThanOrEqual(1);
    expect(commands.systemctl).toBe(1);
    expect(commands.iptables).toBe(1);
    expect(commands.ip6tables).toBe(1);
  });

  it("Caddy's last config load reads its unit in the play's one systemctl show, and answers what it did alone", () => {
    const p = caddyLoaded('caddy', ['/etc/hostname', '/etc/passwd']);
    const [batched] = probesLocally([p, unitState('ssh')]);
    expect(batched).toEqual(probesLocally([alone(p)])[0]);
    expect(countProcesses(renderBatch({ probes: [p, unitState('ssh')] }, '0123456789abcdef')).commands.systemctl).toBe(1);
  });

  it("Caddy's domain check reads the host's addresses from host info's one ip", () => {
    const probes = [hostInfo, domainResolution(['localhost'])];
    // host info's ip and nothing more (the script's text counts each of its branches)
    const ips = (ps: Probe[]) => countProcesses(renderBatch({ probes: ps }, '0123456789abcdef')).commands.ip;
    expect(ips(probes)).toBe(ips([hostInfo]));
    const [info, dns] = probesLocally(probes) as [unknown, DomainResolution];
    expect(info).toEqual(probesLocally([alone(hostInfo)])[0]);
    expect(dns.hostAddresses).toEqual(parseDomainResolution(spawnSync('ip', ['-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' }).stdout).hostAddresses);
  });

  it('ssh.socket asks the shared systemctl show for Listen too, and gets only its own properties', () => {
    const keys = ['ssh', unitProps('ssh.socket', ['Id', 'LoadState', 'Listen']).batch!.key];
    expect(unitBatcher.script(keys)).toBe('systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,Listen -- ssh ssh.socket 2>&1');
    // recorded on Debian 13 (a service has no Listen: systemctl prints none for it)
    const out = [
      'Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nNeedDaemonReload=no\n',
      'Id=ssh.socket\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nNeedDaemonReload=no\nListen=[::]:22 (Stream)\nListen=0.0.0.0:2222 (Stream)\n',
    ].join('\n');
    expect(unitBatcher.split(out, 0, keys)).toEqual([
      { stdout: 'Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nNeedDaemonReload=no\n', code: 0 },
      { stdout: 'Id=ssh.socket\nLoadState=loaded\nListen=[::]:22 (Stream)\nListen=0.0.0.0:2222 (Stream)\n', code: 0 },
    ]);
  });
});

describe('one getent for every account, its passwd line and the home of its authorized_keys', () => {
  it('answers what each probe printed alone, on this machine', () => {
    const probes: Probe[] = [passwdEntry('root'), authorizedKeysOf('root'), passwdEntry('nobody'), passwdEntry('no-such-user-ss'), authorizedKeysOf('no-such-user-ss')];
    // authorized_keys: its home from the account's getent, its files from the play's one stat and head
    expect(probes.every((p) => p.batch ?? p.compose?.parts.some((q) => q.batch?.batcher === accountBatcher))).toBe(true);
    expect(probesLocally(probes)).toEqual(probes.map((p) => probesLocally([alone(p)])[0]));
    // one getent for all three accounts
    const { commands } = countProcesses(renderBatch({ probes }, '0123456789abcdef'));
    expect(commands.getent).toBe(1);
  });

  it("cuts a key file's text by its size: a line in it cannot pose as the next account", () => {
    const keys = ['keys:alice', 'passwd:alice', 'passwd:bob'];
    const forged = '@@pw bob\nbob:x:0:0::/root:/bin/sh\nhome=yes\n';
    const text = `ssh-ed25519 AAAA alice\n${forged}`;
    const out = [
      '@@pw alice\nalice:x:1000:1000::/home/alice:/bin/sh\nhome=yes\n@@keys alice\n/home/alice/.ssh/authorized_keys\n',
      'directory|700|alice|alice|4096\n',
      `regular file|600|alice|alice|${Buffer.byteLength(text)}\n${text}`,
      '@@pw bob\n',
    ].join('');
    const [aliceKeys, alice, bob] = accountBatcher.split(out, 0, keys);
    expect(parseAuthorizedKeysFile(aliceKeys.stdout).file).toMatchObject({ type: 'file', content: text });
    expect(passwdEntry('alice').parse(alice.stdout, alice.code)).toMatchObject({ exists: true, uid: 1000 });
    expect(passwdEntry('bob').parse(bob.stdout, bob.code)).toEqual({ exists: false });
    // the file shrank after its stat: the bytes no longer line up, so no answer rather than a wrong one
    const shrunk = out.replace(text, 'short\n');
    expect(accountBatcher.split(shrunk, 0, keys).map((a) => a.stdout === '' && a.code !== 0)).toEqual([true, false, true]);
  });
});


import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  certAuthorities,
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  hostFieldMatches,
  knownHostsName,
  knownKeyTypes,
  loadKnownHosts,
  parseKnownHosts,
} from '../../../src/transport/known-hosts.js';
import { hostKeyAlgorithms } from '../../../src/transport/ssh-hostkey.js';

function pubLine(type: 'ed25519' | 'ecdsa'): { type: string; b64: string; blob: Buffer } {
  const pair = type === 'ed25519' ? ssh2.utils.generateKeyPairSync('ed25519') : ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
  const [t, b64] = pair.public.split(' ');
  return { type: t, b64, blob: Buffer.from(b64, 'base64') };
}

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

const web = pubLine('ed25519');
const other = pubLine('ed25519');
const ecdsa = pubLine('ecdsa');

function check(text: string, host: string, port: number, key: Buffer) {
  return checkHostKey(parseKnownHosts(text, 'F'), host, port, key);
}

describe('knownHostsName', () => {
  it('uses the bracket form only for non-22 ports and lowercases', () => {
    expect(knownHostsName('Web.Example.com', 22)).toBe('web.example.com');
    expect(knownHostsName('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
  });
});

describe('parseKnownHosts', () => {
  it('skips comments, blank, unknown-marker and corrupt lines but keeps line numbers', () => {
    const text = [
      '# comment',
      '',
      `web ${web.type} ${web.b64} some comment`,
      `@weird web ${web.type} ${web.b64}`,
      `web ssh-rsa ${web.b64}`, // type field disagrees with the blob
      `web ${web.type}`,
      `@cert-authority *.example.com ${ecdsa.type} ${ecdsa.b64}`,
    ].join('\n');
    const entries = parseKnownHosts(text, '/k');
    expect(entries.map((e) => [e.line, e.marker, e.hosts])).toEqual([
      [3, undefined, 'web'],
      [7, 'cert-authority', '*.example.com'],
    ]);
    expect(entries[0].key.equals(web.blob)).toBe(true);
  });
});

describe('hostFieldMatches', () => {
  it.each([
    ['web,db', 'db', true],
    ['web,db', 'we', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'example.com', false],
    ['db?', 'db1', true],
    ['*.example.com,!bad.example.com', 'bad.example.com', false],
    ['!bad.example.com', 'good.example.com', false], // negation alone never matches
    ['[10.0.0.5]:2222', '[10.0.0.5]:2222', true],
    ['10.0.0.5', '[10.0.0.5]:2222', false],
    ['[10.0.0.*]:2222', '[10.0.0.9]:2222', true],
    ['WEB', 'web', true],
  ])('%s vs %s → %s', (field, name, want) => {
    expect(hostFieldMatches(field, name)).toBe(want);
  });

  it('matches hashed entries, including the bracket form', () => {
    expect(hostFieldMatches(hashed('web.example.com'), 'web.example.com')).toBe(true);
    expect(hostFieldMatches(hashed('web.example.com'), 'db.example.com')).toBe(false);
    expect(hostFieldMatches(hashed('[web]:2222'), '[web]:2222')).toBe(true);
    expect(hostFieldMatches('|1|garbage', 'web')).toBe(false);
  });
});

describe('checkHostKey', () => {
  it('accepts the recorded key (plain, list, hashed, bracketed)', () => {
    expect(check(`web ${web.type} ${web.b64}`, 'web', 22, web.blob).kind).toBe('ok');
    expect(check(`db,web ${web.type} ${web.b64}`, 'web', 22, web.blob).kind).toBe('ok');
    expect(check(`${hashed('web')} ${web.type} ${web.b64}`, 'web', 22, web.blob).kind).toBe('ok');
    expect(check(`[web]:2222 ${web.type} ${web.b64}`, 'web', 2222, web.blob).kind).toBe('ok');
  });

  it('does not treat a port-22 entry as knowing another port', () => {
    expect(check(`web ${web.type} ${web.b64}`, 'web', 2222, web.blob).kind).toBe('unknown');
  });

  it('reports a different key of the same type as changed, with the line to remove', () => {
    const text = `# x\n[web]:2222 ${ecdsa.type} ${ecdsa.b64}\n[web]:2222 ${web.type} ${web.b64}\n`;
    const v = check(text, 'web', 2222, other.blob);
    expect(v).toMatchObject({ kind: 'changed', sameType: true });
    if (v.kind === 'changed') expect(v.entries.map((e) => e.line)).toEqual([3]);
  });

  it('reports a key of a type not on record for a known host as changed too', () => {
    const v = check(`web ${ecdsa.type} ${ecdsa.b64}`, 'web', 22, web.blob);
    expect(v).toMatchObject({ kind: 'changed', sameType: false });
  });

  it('finds the matching key among several lines for the host', () => {
    const text = `web ${ecdsa.type} ${ecdsa.b64}\nweb ${other.type} ${other.b64}\nweb ${web.type} ${web.b64}`;
    expect(check(text, 'web', 22, web.blob)).toMatchObject({ kind: 'ok', entry: { line: 3 } });
  });

  it('refuses a revoked key even when another line would accept it', () => {
    const text = `web ${web.type} ${web.b64}\n@revoked * ${web.type} ${web.b64}`;
    expect(check(text, 'web', 22, web.blob)).toMatchObject({ kind: 'revoked', entry: { line: 2 } });
  });

  it('ignores @cert-authority lines (a CA key is not a host key)', () => {
    expect(check(`@cert-authority web ${web.type} ${web.b64}`, 'web', 22, web.blob).kind).toBe('unknown');
  });

  it('says unknown for hosts with no line, and honours negation', () => {
    expect(check(`db ${web.type} ${web.b64}`, 'web', 22, web.blob).kind).toBe('unknown');
    expect(check(`*,!web ${other.type} ${other.b64}`, 'web', 22, web.blob).kind).toBe('unknown');
  });
});

describe('host key algorithm preference', () => {
  it('puts recorded key types first', () => {
    const entries = parseKnownHosts(`web ${ecdsa.type} ${ecdsa.b64}`, 'F');
    expect(hostKeyAlgorithms(entries, { host: 'web', port: 22 }).slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(hostKeyAlgorithms(entries, { host: 'db', port: 22 })[0]).toBe('ssh-ed25519');
  });
});

describe('with OpenSSH tools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['ed25519', 'rsa', 'ecdsa'])('fingerprint of a %s key equals ssh-keygen -lf', (type) => {
    const path = join(dir, `id_${type}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'test', '-f', path]);
    const blob = Buffer.from(readFileSync(`${path}.pub`, 'utf8').split(' ')[1], 'base64');
    const keygen = execFileSync('ssh-keygen', ['-lf', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1];
    expect(fingerprintSha256(blob)).toBe(keygen);
  });

  it('matches lines hashed by ssh-keygen -H, and our own lines are found by ssh-keygen -F', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, formatKnownHostsLine('web.example.com', 22, web.blob) + formatKnownHostsLine('10.1.2.3', 2222, other.blob));
    expect(execFileSync('ssh-keygen', ['-F', '[10.1.2.3]:2222', '-f', file], { encoding: 'utf8' })).toContain(other.b64);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(checkHostKey(entries, 'web.example.com', 22, web.blob).kind).toBe('ok');
    expect(checkHostKey(entries, '10.1.2.3', 2222, other.blob).kind).toBe('ok');
    expect(checkHostKey(entries, '10.1.2.3', 2222, web.blob).kind).toBe('changed');
  });

  it('appends accepted keys, creating a private directory, and reads missing files as empty', async () => {
    const file = join(dir, 'home', '.ssh', 'known_hosts');
    await appendKnownHost(file, 'web', 2222, web.blob);
    await appendKnownHost(file, 'db', 22, other.blob);
    expect(statSync(join(dir, 'home', '.ssh')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toBe(`[web]:2222 ${web.type} ${web.b64}\ndb ${other.type} ${other.b64}\n`);
    const entries = await loadKnownHosts([join(dir, 'nope'), file]);
    expect(checkHostKey(entries, 'web', 2222, web.blob).kind).toBe('ok');
  });

  it('parses a file once for every connection of a run, and again once it changes', async () => {
    const file = join(dir, 'fleet_known_hosts');
    writeFileSync(file, formatKnownHostsLine('web', 22, web.blob));
    // 100 connections starting at once share one parse: the same entry objects, not 100 copies
    const loads = await Promise.all(Array.from({ length: 100 }, () => loadKnownHosts([file])));
    expect(new Set(loads.map((l) => l[0])).size).toBe(1);
    // a key accepted during the run is seen by the next connection
    await appendKnownHost(file, 'db', 22, other.blob);
    expect(checkHostKey(await loadKnownHosts([file]), 'db', 22, other.blob).kind).toBe('ok');
    // and so is a file edited by someone else (another size)
    writeFileSync(file, formatKnownHostsLine('web', 22, other.blob));
    expect(checkHostKey(await loadKnownHosts([file]), 'web', 22, web.blob).kind).toBe('changed');
    rmSync(file);
    expect(await loadKnownHosts([file])).toEqual([]);
  });
});

describe('one connection, one pass over known_hosts', () => {
  it('tests each line against the host once, however many questions the connection asks (a hashed line costs an HMAC per test)', () => {
    const text = [
      `${hashed('10.0.0.1')} ${web.type} ${web.b64}`,
      `${hashed('10.0.0.2')} ${other.type} ${other.b64}`,
      `10.0.0.1,10.0.0.3 ${ecdsa.type} ${ecdsa.b64}`,
      `@cert-authority *.example.com ${other.type} ${other.b64}`,
    ].join('\n');
    const reads = new Map<number, number>();
    // every test of a line reads its host field: count the reads
    const entries = parseKnownHosts(text, 'F').map((e) => {
      const hosts = e.hosts;
      return Object.defineProperty({ ...e }, 'hosts', { get: () => (reads.set(e.line, (reads.get(e.line) ?? 0) + 1), hosts), enumerable: true });
    });
    expect(knownKeyTypes(entries, '10.0.0.1', 22)).toEqual([web.type, ecdsa.type]);
    expect(checkHostKey(entries, '10.0.0.1', 22, web.blob).kind).toBe('ok');
    expect(checkHostKey(entries, '10.0.0.1', 22, other.blob).kind).toBe('changed');
    expect(certAuthorities(entries, '10.0.0.1', 22)).toEqual([]);
    expect([...reads.values()]).toEqual([1, 1, 1, 1]);
    // another host is its own pass; a new list (the next connection's) too
    expect(checkHostKey(entries, '10.0.0.2', 22, other.blob).kind).toBe('ok');
    expect([...reads.values()]).toEqual([2, 2, 2, 2]);
    expect(checkHostKey([...entries], '10.0.0.1', 22, web.blob).kind).toBe('ok');
    expect([...reads.values()]).toEqual([3, 3, 3, 3]);
  });
});

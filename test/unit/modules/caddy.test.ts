import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  caddyLoaded,
  describeCaddyError,
  judgeDomain,
  parseCaddyLoaded,
  parseDomainResolution,
  HOST_NOW,
  parseServedCertificates,
  servedCertificates,
  shortDate,
  type CaddyCertificates,
  type DomainResolution,
} from '../../../src/facts/caddy.js';
import { fileBatcher } from '../../../src/facts/file-batch.js';
import { parseSystemctlShow, unitBatcher, unitState } from '../../../src/facts/systemd.js';
import { countProcesses } from '../helpers/process-count.js';
import { parseUfw } from '../../../src/facts/ufw.js';
import { LAST_ERROR, waitScript } from '../../../roles/caddy/caddy_certificates.js';
import { planFor } from '../helpers/plan.js';
import { fixtureWith, rulesFile, ufwStateOf } from '../helpers/ufw-files.js';

const CERTS = join(import.meta.dirname, '..', 'fixtures', 'certs');

// ---- recorded on a lab host (Debian 12, caddy 2.6.2, OpenSSL 3.0) --------------------------------

/** domainResolution(['ghost.lab.test', 'h22.lab.test', 'nothere.lab.test']): ghost and nothere are not in DNS */
const DNS_OUT = `2: eth0    inet 10.99.0.32/24 scope global eth0\\       valid_lft forever preferred_lft forever
@@domain ghost.lab.test
@@rc 2
@@domain h22.lab.test
10.99.0.32      STREAM h22.lab.test
10.99.0.32      DGRAM  
10.99.0.32      RAW    
@@rc 0
@@domain nothere.lab.test
@@rc 2
`;

const ERROR_LINE =
  '{"level":"error","ts":1795440646.9609766,"logger":"tls.obtain","msg":"could not get certificate from issuer","identifier":"nothere.lab.test","issuer":"10.99.0.1:14000-dir","error":"HTTP 400 urn:ietf:params:acme:error:malformed - Could not resolve URL \\"nothere.lab.test\\""}';

/**
 * servedCertificates(...) for the same names, Caddy serving h22.lab.test and failing nothere.lab.test (recorded on
 * h22, Debian 12, 2026-11-29: the leaf as s_client printed it and the host's clock; the journal's part is not)
 */
const CERTS_OUT = `@@domain ghost.lab.test
@@domain h22.lab.test
-----BEGIN CERTIFICATE-----
MIICkDCCAXigAwIBAgIIOxhiybxvhkQwDQYJKoZIhvcNAQELBQAwKDEmMCQGA1UE
AxMdUGViYmxlIEludGVybWVkaWF0ZSBDQSAxYjIyMzMwHhcNMjYxMTI5MDcxMjU0
WhcNMzExMTI5MDcxMjUzWjAXMRUwEwYDVQQDEwxoMjIubGFiLnRlc3QwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAARagbSYOJLyut3Y1o7I1RyQFegBhitRb57dJ9M6
p8Uq2yHjbcmVI+txQzLEwymzMIR/BUvTHJNIoOu8v0UnG6vco4GZMIGWMA4GA1Ud
DwEB/wQEAwIFoDAdBgNVHSUEFjAUBggrBgEFBQcDAQYIKwYBBQUHAwIwDAYDVR0T
AQH/BAIwADAdBgNVHQ4EFgQU6E5d7qAjxw112oCcL1NvUQNnsqcwHwYDVR0jBBgw
FoAUeD/52dRth0RO6A3qLkCvmOi0dBUwFwYDVR0RBBAwDoIMaDIyLmxhYi50ZXN0
MA0GCSqGSIb3DQEBCwUAA4IBAQBBXeEjrXc4e98ZdpVKLWwu8Xs5NVOqcqGHboeK
7LonM2ZYx4md5oLbNPASixqyCVp+dgR57FqtdcY1mWjSU2MtrRKtU8A/pEg2z1KV
WOM1LZuruyoazRe74AlhcfPlW2Lz9KlAssRxVQJ+QzGW4m4mzzCOsKuqHj6qx6j6
KVK3952DAsngcp42q2JVP3/n5Bbei58VEn7TmMB8oYBN7kL5FTghWzTklEsfO2jI
E4p37QQK2R/OznTD718+pjK65AqomHhAIGu/3k1FXM3Tb4RU0Pm2ZL+FjER0teoQ
+vwclzhW1ycPOc5NdVYkdgo1zvTDAG5RJPbBi6kNebdXBiTl
-----END CERTIFICATE-----
@@domain nothere.lab.test
@@error ${ERROR_LINE}
@@now 1795936414
@@errors
`;

const CADDYFILE_TEXT = 'h22.lab.test {\n\trespond hi\n}\n';
const CADDYFILE_SHA = createHash('sha256').update(CADDYFILE_TEXT).digest('hex');
const LOADED_OUT = `MainPID=265
LoadState=loaded
ActiveState=active
Autosave=/var/lib/caddy/.config/caddy/autosave.json
LoadedAt=2026-11-23 13:25:39.893020849 +0000
Sha256=${CADDYFILE_SHA} /etc/caddy/Caddyfile
`;

const dns = parseDomainResolution(DNS_OUT);
const certs = parseServedCertificates(CERTS_OUT);

describe('caddy facts', () => {
  it('reads the DNS answers and the host addresses', () => {
    expect(dns).toEqual({
      hostAddresses: ['10.99.0.32'],
      domains: { 'ghost.lab.test': { addresses: [] }, 'h22.lab.test': { addresses: ['10.99.0.32'] }, 'nothere.lab.test': { addresses: [] } },
    });
    // no `ip`: hostname -I; a lookup that timed out is an error, not "no record"
    const other = parseDomainResolution('@@hostname-I 203.0.113.7 2001:DB8::7 \n@@domain a.example\n@@rc 124\n');
    expect(other).toEqual({ hostAddresses: ['203.0.113.7', '2001:db8::7'], domains: { 'a.example': { addresses: [], error: 'the DNS lookup timed out' } } });
  });

  it('reads the served certificate and Caddy\'s last error', () => {
    expect(certs).toEqual({
      openssl: true,
      domains: {
        'ghost.lab.test': {},
        'h22.lab.test': {
          served: {
            matches: true,
            current: true,
            notAfter: 'Nov 29 07:12:53 2031 GMT',
            serial: '3B1862C9BC6F8644',
            issuer: 'Pebble Intermediate CA 1b2233',
            fingerprint: 'B3:ED:2B:E8:1E:93:6D:63:A5:58:CC:97:92:E2:C1:5C:FE:90:95:82:88:DB:D0:41:9F:4E:BB:8D:2C:37:15:4B',
          },
        },
        'nothere.lab.test': {
          lastError: 'could not get certificate from issuer: HTTP 400 urn:ietf:params:acme:error:malformed - Could not resolve URL "nothere.lab.test" (at 2026-11-23T13:30:46Z)',
        },
      },
    });
    expect(parseServedCertificates('@@no-openssl\n')).toEqual({ openssl: false, domains: {} });
    expect(describeCaddyError('not json')).toBe('not json');
    expect(shortDate('Nov 23 13:25:29 2031 GMT')).toBe('2031-11-23');
  });

  it('reads when Caddy last loaded its config, and what changed since', () => {
    expect(parseCaddyLoaded(LOADED_OUT)).toEqual({
      mainPid: 265,
      loadState: 'loaded',
      activeState: 'active',
      autosave: '/var/lib/caddy/.config/caddy/autosave.json',
      loadedAt: '2026-11-23 13:25:39 +0000',
      newer: [],
      sha256: { '/etc/caddy/Caddyfile': CADDYFILE_SHA },
    });
    expect(parseCaddyLoaded(`${LOADED_OUT}Newer=/etc/caddy/Caddyfile\n`).newer).toEqual(['/etc/caddy/Caddyfile']);
  });
});

describe('judgeDomain', () => {
  const res: DomainResolution = {
    hostAddresses: ['10.99.0.32', '2001:db8::21'],
    domains: {
      'here.example': { addresses: ['10.99.0.32', '2001:db8::21'] },
      'away.example': { addresses: ['10.99.0.250'] },
      'half.example': { addresses: ['10.99.0.32', '2001:db8::99'] },
      'nat.example': { addresses: ['203.0.113.7'] },
      'none.example': { addresses: [] },
      'slow.example': { addresses: [], error: 'the DNS lookup timed out' },
    },
  };
  it.each([
    ['here.example', [], 'here', 'here.example resolves to 10.99.0.32, 2001:db8::21 (this host)'],
    ['away.example', [], 'elsewhere', 'away.example resolves to 10.99.0.250, not this host (10.99.0.32, 2001:db8::21): Caddy cannot get a certificate for it'],
    ['half.example', [], 'partly', 'half.example resolves to 10.99.0.32, 2001:db8::99, but 2001:db8::99 is not this host (10.99.0.32, 2001:db8::21): the CA may validate there and fail'],
    ['nat.example', ['203.0.113.7'], 'here', 'nat.example resolves to 203.0.113.7 (this host)'],
    ['none.example', [], 'none', 'none.example does not resolve (no A or AAAA record in DNS): Caddy cannot get a certificate for it'],
    ['slow.example', [], 'unknown', 'slow.example: the DNS lookup timed out, so whether it points here is unknown'],
  ])('%s', (domain, extra, verdict, text) => {
    expect(judgeDomain(domain, res, extra)).toEqual({ domain, verdict, text });
  });
});

describe('caddy_domains', () => {
  it('never changes anything, and names the domains that do not point here first', () => {
    const p = planFor('caddy_domains', { domains: ['h22.lab.test', 'nothere.lab.test'] }, { dns });
    expect(p.steps).toEqual([]);
    expect(p.fail).toBeUndefined();
    expect(p.reason).toBe(
      'nothere.lab.test does not resolve (no A or AAAA record in DNS): Caddy cannot get a certificate for it; h22.lab.test resolves to 10.99.0.32 (this host)',
    );
  });

  it('refuses what an ACME CA cannot issue for over HTTP', () => {
    for (const bad of ['*.example.com', 'https://example.com', 'example.com:443', 'localhost', '10.0.0.1']) {
      expect(() => planFor('caddy_domains', { domains: [bad] }, { dns }), bad).toThrow();
    }
  });
});

describe('caddy_certificates', () => {
  const sh = (p: ReturnType<typeof planFor>) => p.steps.map((s) => (s.kind === 'sh' ? s.why : s.kind));

  it('is ok when every domain is served a current certificate, and says until when', () => {
    const p = planFor('caddy_certificates', { domains: ['h22.lab.test'] }, { dns, certs });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('h22.lab.test: certificate valid until 2031-11-29 (Pebble Intermediate CA 1b2233, serial 3B1862C9BC6F8644)');
  });

  it('waits, bounded, for a domain that points here but has no certificate yet', () => {
    const fresh = parseDomainResolution(DNS_OUT.replace('@@domain nothere.lab.test\n@@rc 2', '@@domain nothere.lab.test\n10.99.0.32      STREAM\n@@rc 0'));
    const p = planFor('caddy_certificates', { domains: ['h22.lab.test', 'nothere.lab.test'], wait: 30 }, { dns: fresh, certs });
    expect(sh(p)).toEqual(['wait up to 30 s until Caddy serves certificates for nothere.lab.test']);
    expect(p.reason).toBe(
      'wait up to 30 s until Caddy serves certificates for nothere.lab.test; h22.lab.test: certificate valid until 2031-11-29 (Pebble Intermediate CA 1b2233, serial 3B1862C9BC6F8644)',
    );
    // a certificate for another name, or an expired one, is no certificate
    const wrong: CaddyCertificates = { openssl: true, domains: { 'h22.lab.test': { served: { matches: false, current: true } } } };
    expect(sh(planFor('caddy_certificates', { domains: ['h22.lab.test'] }, { dns, certs: wrong }))).toHaveLength(1);
    // without openssl (check on a fresh host) nothing is known: the wait is what apply will do
    expect(sh(planFor('caddy_certificates', { domains: ['h22.lab.test'] }, { dns, certs: { openssl: false, domains: {} } }))).toHaveLength(1);
  });

  it('fails at once, plainly, for a domain that does not point here, with Caddy\'s own error', () => {
    const p = planFor('caddy_certificates', { domains: ['h22.lab.test', 'nothere.lab.test'] }, { dns, certs });
    expect(p.steps).toEqual([]);
    expect(p.fail).toBe(
      'nothere.lab.test does not resolve (no A or AAAA record in DNS): Caddy cannot get a certificate for it. ' +
        'Caddy\'s last error: could not get certificate from issuer: HTTP 400 urn:ietf:params:acme:error:malformed - Could not resolve URL "nothere.lab.test" (at 2026-11-23T13:30:46Z); ' +
        'h22.lab.test: certificate valid until 2031-11-29 (Pebble Intermediate CA 1b2233, serial 3B1862C9BC6F8644)',
    );
  });

  it('still waits for the others, and then fails, when one domain cannot get a certificate', () => {
    const p = planFor('caddy_certificates', { domains: ['ghost.lab.test', 'new.lab.test'] }, { dns: { ...dns, domains: { ...dns.domains, 'new.lab.test': { addresses: ['10.99.0.32'] } } }, certs });
    expect(sh(p)).toEqual(['wait up to 60 s until Caddy serves certificates for new.lab.test']);
    const script = (p.steps[0] as { script: string }).script;
    expect(script).toContain("echo 'ghost.lab.test does not resolve (no A or AAAA record in DNS): Caddy cannot get a certificate for it'\n__ss_bad=1");
  });
});

/** Fake programs in a PATH of their own, so the step's shell logic runs here without a host. */
function fakeBin(programs: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-caddy-bin-'));
  for (const [name, body] of Object.entries(programs)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

function runSh(script: string, bin: string) {
  return spawnSync('sh', ['-c', `(\nset -e\n${script}\n) 2>&1`], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
}

describe('the wait step, run locally with fake openssl and journalctl', () => {
  const journal = `printf '%s\\n' '{"level":"info","msg":"obtaining certificate","identifier":"bad.example"}' ${JSON.stringify(ERROR_LINE.replace(/nothere\.lab\.test/g, 'bad.example'))}`;

  it('extracts and unescapes the error of Caddy\'s last error line about the name', () => {
    const bin = fakeBin({ journalctl: journal });
    const r = runSh(`${LAST_ERROR}\n__ss_err bad.example; __ss_err good.example`, bin);
    expect(r.stdout).toBe('HTTP 400 urn:ietf:params:acme:error:malformed - Could not resolve URL "bad.example"\n');
  });

  it('reports issued, failed with Caddy\'s error, pending, and the hopeless; exits 1 unless all were issued', () => {
    const bin = fakeBin({
      journalctl: journal,
      timeout: 'shift; exec "$@"',
      // s_client prints a "certificate" only for good.example; x509 answers from what it reads
      openssl: [
        'case "$1" in',
        '  s_client) for a in "$@"; do [ "$prev" = -servername ] && name=$a; prev=$a; done; [ "$name" = good.example ] && echo CERT; exit 0 ;;',
        'esac',
        'input=$(cat)',
        '[ "$input" = CERT ] || exit 1',
        'case "$*" in',
        '  *-checkhost*) echo "Hostname $4 does match certificate" ;;',
        '  *-enddate*) echo "notAfter=Nov 23 13:25:29 2031 GMT" ;;',
        '  *-checkend*) exit 0 ;;',
        '  *) echo CERT ;;',
        'esac',
      ].join('\n'),
    });
    const r = runSh(waitScript(['good.example', 'bad.example', 'slow.example'], 1, ["gone.example does not resolve: it's gone"]), bin);
    expect(r.status).toBe(1);
    expect(r.stdout.replace(/after \d+ s/, 'after N s')).toBe(
      [
        'good.example: issued after N s, valid until Nov 23 13:25:29 2031 GMT',
        'bad.example: failed: HTTP 400 urn:ietf:params:acme:error:malformed - Could not resolve URL "bad.example"',
        'slow.example: pending: no certificate after 1 s, and Caddy has logged no error for it yet',
        "gone.example does not resolve: it's gone",
        '',
      ].join('\n'),
    );
    const ok = runSh(waitScript(['good.example'], 1, []), bin);
    expect(ok.status, ok.stdout).toBe(0);
  });
});

describe('the served-certificate probe, run locally with fake openssl and journalctl', () => {
  // s_client "serves" a real certificate (test/unit/fixtures/certs) and verifies it as OpenSSL 3 does with
  // -verify_hostname: num=62 for another name, num=10 for an expired one (its stderr); x509 must not run
  const pem = (n: string) => readFileSync(join(CERTS, `${n}.pem`), 'utf8').trim();
  const bin = fakeBin({
    timeout: 'shift; exec "$@"',
    openssl: [
      'here=$(dirname "$0")',
      'echo "$1" >> "$here/openssl.log"',
      'case "$1" in',
      '  s_client) for a in "$@"; do [ "$prev" = -servername ] && name=$a; prev=$a; done',
      `    case $name in good.example) cn=good.example ;; old.example) cn=old.example; echo 'verify error:num=10:certificate has expired' >&2 ;; other.example) cn=elsewhere.example; echo 'verify error:num=62:hostname mismatch' >&2 ;; *) exit 0 ;; esac`,
      `    echo 'verify error:num=20:unable to get local issuer certificate' >&2`,
      `    printf 'CONNECTED\\nServer certificate\\n'; cat "$here/$cn.pem"; printf 'subject=CN = %s\\n' "$cn"; exit 0 ;;`,
      'esac',
    ].join('\n'),
    journalctl: `echo read >> "$(dirname "$0")/journal.log"; printf '%s\\n' ${JSON.stringify(ERROR_LINE.replace(/nothere\.lab\.test/g, 'none.example'))} ${JSON.stringify(ERROR_LINE.replace(/nothere\.lab\.test/g, 'good.example'))}`,
  });
  for (const n of ['good.example', 'old.example', 'elsewhere.example']) writeFileSync(join(bin, `${n}.pem`), `${pem(n)}\n`);
  const run = (domains: string[]) => {
    for (const f of ['openssl.log', 'journal.log']) rmSync(join(bin, f), { force: true });
    const r = spawnSync('sh', ['-c', servedCertificates(domains).script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
    const lines = (f: string) => (existsSync(join(bin, f)) ? readFileSync(join(bin, f), 'utf8').trim().split('\n') : []);
    return { out: r.stdout, facts: parseServedCertificates(r.stdout), openssl: lines('openssl.log'), journal: lines('journal.log') };
  };
  const issuer = { serial: '0A', issuer: 'Test CA' };
  const good = { matches: true, current: true, notAfter: 'Nov 23 13:25:29 2031 GMT', ...issuer, fingerprint: '8B:8E:B8:56:E7:4B:34:68:46:32:8B:61:DB:B3:03:A4:F0:35:A0:25:7B:ED:E4:64:12:27:A2:DD:7E:8D:71:DA' };

  it('reads no journal while every name is served a current certificate of its own, and runs only s_client on the host', () => {
    const r = run(['good.example']);
    expect(r.facts).toEqual({ openssl: true, domains: { 'good.example': { served: good } } });
    expect(r.openssl).toEqual(['s_client']);
    expect(r.journal).toEqual([]);
    // the certificate itself, and the host's clock for its expiry
    expect(r.out).toMatch(/^-----BEGIN CERTIFICATE-----$/m);
    expect(Math.abs(Number(/^@@now (\d+)$/m.exec(r.out)?.[1]) - Date.now() / 1000)).toBeLessThanOrEqual(2);
  });

  it('judges expiry by the host clock and reads the journal once when a name is served wrong, for those names only', () => {
    const r = run(['good.example', 'old.example', 'other.example', 'none.example']);
    const noneError = describeCaddyError(ERROR_LINE.replace(/nothere\.lab\.test/g, 'none.example'));
    expect(r.facts).toEqual({
      openssl: true,
      domains: {
        'good.example': { served: good },
        'old.example': {
          served: { matches: true, current: false, notAfter: 'Jan  1 00:00:00 2020 GMT', ...issuer, fingerprint: 'DD:E0:05:15:4E:B1:24:FC:A1:97:0F:9F:CC:6E:DA:C4:D0:65:D3:EB:9F:72:C6:A8:24:DE:56:84:1E:7B:CA:92' },
        },
        'other.example': {
          served: { matches: false, current: true, notAfter: 'Nov 23 13:25:29 2031 GMT', ...issuer, fingerprint: 'CB:66:23:9A:B8:43:46:F0:C5:F1:B2:87:70:0D:88:16:A2:13:0F:A9:05:35:D8:A0:3E:1B:66:76:38:C8:D8:ED' },
        },
        'none.example': { lastError: noneError },
      },
    });
    expect(r.openssl).toEqual(['s_client', 's_client', 's_client', 's_client']);
    expect(r.journal).toEqual(['read']);
  });

  it('reads the journal for a name served another name or an expired certificate alone (s_client\'s verification)', () => {
    for (const d of ['old.example', 'other.example', 'none.example']) expect(run([d]).journal, d).toEqual(['read']);
  });

  it('judges expiry against the host\'s clock, not the controller\'s', () => {
    const text = (now: number) => `@@domain good.example\n${pem('good.example')}\n@@now ${now}\n`;
    const notAfter = Date.parse('Nov 23 13:25:29 2031 GMT') / 1000;
    expect(parseServedCertificates(text(notAfter - 1)).domains['good.example'].served?.current).toBe(true);
    // expired when notAfter <= now, as openssl -checkend 0
    expect(parseServedCertificates(text(notAfter)).domains['good.example'].served?.current).toBe(false);
    // no clock: nothing says it is current
    expect(parseServedCertificates(`@@domain good.example\n${pem('good.example')}\n`).domains['good.example'].served?.current).toBe(false);
    // a text that is no certificate: served, matching nothing, not current (as openssl x509 failing was)
    expect(parseServedCertificates('@@domain a.example\n-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n@@now 1\n').domains['a.example']).toEqual({
      served: { matches: false, current: false },
    });
  });

  it('reads the host clock with builtins', () => {
    const before = Math.floor(Date.now() / 1000);
    const now = Number(spawnSync('sh', ['-c', `${HOST_NOW}\necho "$__ss_epoch"`], { encoding: 'utf8' }).stdout);
    // btime + uptime: the wall clock to within a second or two
    expect(Math.abs(now - before)).toBeLessThanOrEqual(2);
  });
});

describe('caddy_reload', () => {
  const loaded = parseCaddyLoaded(LOADED_OUT);
  const argv = (p: ReturnType<typeof planFor>) => p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind));

  it('does nothing while Caddy runs what is on disk', () => {
    const p = planFor('caddy_reload', {}, { loaded });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('caddy (pid 265) runs the current /etc/caddy/Caddyfile: loaded 2026-11-23 13:25:39 +0000, not changed since');
  });

  it('reloads, never restarts, when a file it reads changed after its last load', () => {
    const p = planFor('caddy_reload', { files: ['/etc/caddy/Caddyfile', '/etc/caddy/acme-ca-root.pem'] }, { loaded: { ...loaded, newer: ['/etc/caddy/acme-ca-root.pem'] } });
    expect(argv(p)).toEqual(['systemctl reload caddy']);
    expect(p.reason).toBe('reload caddy: /etc/caddy/acme-ca-root.pem changed after it last loaded its config (2026-11-23 13:25:39 +0000)');
    // no autosave: it cannot be known what it runs
    expect(argv(planFor('caddy_reload', {}, { loaded: { ...loaded, loadedAt: undefined } }))).toEqual(['systemctl reload caddy']);
  });

  it('predicts, in check mode, the reload that an earlier task\'s rewrite of a watched file causes', () => {
    expect(planFor('caddy_reload', { contents: { '/etc/caddy/Caddyfile': CADDYFILE_TEXT } }, { loaded }).steps).toEqual([]);
    const p = planFor('caddy_reload', { contents: { '/etc/caddy/Caddyfile': 'new.lab.test {\n}\n' } }, { loaded }, {}, true);
    expect(argv(p)).toEqual(['systemctl reload caddy']);
    expect(p.reason).toBe('reload caddy: /etc/caddy/Caddyfile changes in this run');
  });

  it('predicts the reload on a host without Caddy yet, and leaves a stopped Caddy to the service task', () => {
    expect(argv(planFor('caddy_reload', {}, { loaded: { loadState: 'not-found', activeState: 'inactive', newer: [] } }))).toEqual(['systemctl reload caddy']);
    const stopped = planFor('caddy_reload', {}, { loaded: { ...loaded, activeState: 'failed', newer: ['/etc/caddy/Caddyfile'] } });
    expect(stopped.steps).toEqual([]);
    expect(stopped.reason).toBe('caddy is failed: it reads /etc/caddy/Caddyfile when it starts');
  });
});

describe('caddy_firewall', () => {
  // ufw 0.36.2's tuples, both families (as `ufw allow PORT/tcp` writes them on Debian 12 and 13)
  const both = (spec: string) => [`### tuple ### ${spec.replace(/ANY/g, '0.0.0.0/0')}`, `### tuple ### ${spec.replace(/ANY/g, '::/0')}`];
  const ufw = (status: string, specs: string[]) =>
    ufwStateOf({ v4: rulesFile('ufw', specs.map((s) => both(s)[0])), v6: rulesFile('ufw6', specs.map((s) => both(s)[1])), active: status === 'active' });
  const argv = (p: ReturnType<typeof planFor>) => p.steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind));
  const opens443 = (specs: string[]) => planFor('caddy_firewall', { ports: ['443/tcp'] }, { ufw: ufw('active', specs) }).steps.length === 0;

  it('adds only the missing ports, in the firewall role\'s own form, when ufw is active', () => {
    const p = planFor('caddy_firewall', {}, { ufw: ufw('active', ['allow tcp 22 ANY any ANY in', 'allow tcp 80 ANY any ANY in']) });
    expect(argv(p)).toEqual(['ufw allow 443/tcp comment caddy by shipshape']);
    expect(p.accessCritical).toBeUndefined();
  });

  it('leaves an inactive or absent ufw alone, and says so', () => {
    expect(planFor('caddy_firewall', {}, { ufw: ufw('inactive', []) }).reason).toBe('ufw is inactive, so it does not filter 80/tcp, 443/tcp');
    expect(planFor('caddy_firewall', {}, { ufw: parseUfw('') }).steps).toEqual([]);
    expect(planFor('caddy_firewall', {}, { ufw: ufw('active', ['allow tcp 80 ANY any ANY in', 'allow tcp 443 ANY any ANY in']) }).reason).toBe('ufw allows 80/tcp, 443/tcp');
  });

  it.each([
    ['allow tcp 443 ANY any ANY in', true],
    ['allow any 443 ANY any ANY in', true],
    ['limit tcp 443 ANY any ANY in', true],
    ['allow tcp 400:500 ANY any ANY in', true],
    ['allow tcp 80,443 ANY any ANY in', true],
    ['allow tcp 80,443 ANY any ANY WWW%20Full - in', true],
    ['allow tcp 443 ANY any ANY in comment=776562', true],
    ['allow udp 443 ANY any ANY in', false],
    ['allow tcp 443 ANY any 10.0.0.0/8 in', false],
    ['allow tcp 443 ANY any ANY in_eth1', false],
    ['allow tcp 443 ANY any ANY out', false],
  ])('ufw\'s tuple "%s" opens 443/tcp to everyone: %s', (spec, expected) => {
    expect(opens443([spec])).toBe(expected);
  });

  it("judges on ufw's real files, both families, in ufw's order: a deny of one address narrows, a reject for all closes", () => {
    expect(opens443(['deny tcp 443 ANY any 203.0.113.0/24 in', 'allow tcp 443 ANY any ANY in'])).toBe(true);
    // only IPv4 open: the IPv6 rule is added (ufw allow writes both, skipping the one it has)
    const v4only = ufwStateOf({ v4: rulesFile('ufw', ['### tuple ### allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in']) });
    expect(argv(planFor('caddy_firewall', { ports: ['443/tcp'] }, { ufw: v4only }))).toEqual(['ufw allow 443/tcp comment caddy by shipshape']);
    // the fixture: "reject 80/tcp" comes before "allow 80,443/tcp": an allow added after it would open nothing
    const p = planFor('caddy_firewall', {}, { ufw: fixtureWith(['reject 80/tcp', "allow 'WWW Full'", 'allow 80,443/tcp']) });
    expect(p.steps).toEqual([]);
    expect(p.reason).toBe('ufw allows 443/tcp; left closed by the operator\'s rule: 80/tcp ("reject 80/tcp" comes first and shuts it out) (Caddy serves HTTP and HTTPS there, and ACME validation connects to them)');
  });
});

describe('caddyLoaded from the play\'s file dump, run locally with a fake systemctl', () => {
  it("rebuilds the text of its own script: its unit's lines from the play's one systemctl show, hashes from the dump, a linked file hashed by its own part", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-caddy-loaded-'));
    try {
      const conf = join(dir, 'conf');
      // a block per unit after --, a blank line between (as systemctl show prints them); caddy's points at conf
      const bin = fakeBin({
        systemctl: [
          'while [ "$1" != -- ]; do shift; done; shift; sep=',
          `for u; do printf "$sep"; sep='\\n'; case $u in caddy) printf 'Id=caddy.service\\nLoadState=loaded\\nActiveState=active\\nSubState=running\\nMainPID=7\\nUser=caddy\\nEnvironment=XDG_CONFIG_HOME=${conf}\\n';; *) printf 'Id=%s.service\\nLoadState=loaded\\nActiveState=active\\nMainPID=9\\nUser=nobody\\nEnvironment=HOME=/elsewhere\\n' "$u";; esac; done`,
        ].join('\n'),
      });
      spawnSync('mkdir', ['-p', join(conf, 'caddy')]);
      writeFileSync(join(conf, 'caddy', 'autosave.json'), '{}');
      spawnSync('touch', ['-d', '2026-01-01', join(conf, 'caddy', 'autosave.json')]);
      writeFileSync(join(dir, 'Caddyfile'), CADDYFILE_TEXT);
      writeFileSync(join(dir, 'empty.pem'), '');
      writeFileSync(join(dir, 'target.pem'), 'root\n');
      spawnSync('ln', ['-s', join(dir, 'target.pem'), join(dir, 'linked.pem')]);
      const files = ['Caddyfile', 'missing.pem', 'linked.pem', 'empty.pem'].map((f) => join(dir, f));
      const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } }).stdout;
      const p = caddyLoaded('caddy', files);
      const [unit, links, ...contents] = p.compose!.parts;
      // the unit part rides in the play's one systemctl show, after another unit's question
      const unitKeys = [unitState('ssh').batch!.key, unit.batch!.key];
      const shown = unitBatcher.split(sh(unitBatcher.script(unitKeys)), 0, unitKeys);
      expect(shown[1]).toEqual({ stdout: sh(unit.script), code: 0 });
      expect(parseSystemctlShow(shown[0].stdout, shown[0].code)).toMatchObject({ id: 'ssh.service', loadState: 'loaded' });
      expect(countProcesses(unitBatcher.script(unitKeys)).commands.systemctl).toBe(1);
      // the dump as the play's file batch gives it
      const keys = contents.map((c) => c.batch!.key);
      const dumped = fileBatcher.split(sh(fileBatcher.script(keys)), 0, keys);
      const joined = p.compose!.join([shown[1], { stdout: sh(links.script), code: 0 }, ...dumped]);
      const alone = sh(p.script);
      expect(joined.stdout).toBe(alone);
      const facts = parseCaddyLoaded(alone);
      expect(facts).toMatchObject({ loadState: 'loaded', activeState: 'active', mainPid: 7, autosave: join(conf, 'caddy', 'autosave.json') });
      expect(facts.loadedAt).toMatch(/^2026-01-01 00:00:00 /);
      expect(Object.keys(facts.sha256)).toEqual([files[0], files[2], files[3]]);
      expect(facts.sha256[files[0]]).toBe(CADDYFILE_SHA);
      expect(facts.newer).toEqual([files[0], files[2], files[3]]);
      // the dump hashes no link: the part of its own hashes that one (sha256sum, as `[ -f ]` follows it) and only that
      expect(sh(links.script).match(/^Sha256=.*$/gm)).toEqual([`Sha256=${createHash('sha256').update('root\n').digest('hex')} ${files[2]}`]);
      // systemctl failing: no unit lines, Caddy's home then root's, as its own script says alone
      const failing = fakeBin({ systemctl: 'echo "Failed to connect to bus" >&2; exit 1' });
      const shf = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${failing}:/usr/bin:/bin` } }).stdout;
      const failed = unitBatcher.split(shf(unitBatcher.script(unitKeys)), 1, unitKeys);
      expect(failed[1].stdout).toBe(shf(unit.script));
      expect(shf(unit.script)).toMatch(/^Autosave=\/root\/\.config\/caddy\/autosave\.json$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps its own script where a path is not a plain one (the dump would not read it back)', () => {
    expect(caddyLoaded('caddy', ['/etc/caddy/my file']).compose).toBeUndefined();
  });
});

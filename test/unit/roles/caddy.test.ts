import type { AnyRoleTask } from '../../../src/playbook/role.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modules } from '../helpers/plan.js';
import { keyProblem } from '../../../src/modules/apt_repository.js';
import { CADDY_APT_FINGERPRINT, CADDY_APT_KEY } from '../../../roles/caddy/caddy-key.js';
import { caddyToken, certificateDomains, HEADER, renderCaddyfile, wwwVariant } from '../../../roles/caddy/caddyfile.js';
import role, { ACME_CA_ROOT, CADDYFILE, controllerPath, VALIDATE } from '../../../roles/caddy/index.js';

/** as the engine calls it: the role's validated variables over every other variable of the host */
const tasksFor = (vars: Record<string, unknown>) => role.tasks({ ...vars, ...role.vars.parse(vars) }) as AnyRoleTask[];
const site = { domain: 'example.com', upstream: 'localhost:8000' };

describe('caddyToken', () => {
  it.each([
    ['localhost:8000', 'localhost:8000'],
    ['DENY', 'DENY'],
    ["default-src 'self'", `"default-src 'self'"`],
    ['say "hi"', '"say \\"hi\\""'],
    ['', '""'],
    ['#not-a-comment', '"#not-a-comment"'],
    ['{', '"{"'],
    ['a {http.request.host}', '"a {http.request.host}"'],
    ['two\nlines', '"two\nlines"'],
    // Caddy's double quotes cannot hold a backslash before a quote: backticks take it verbatim
    ['C:\\path\\"x"', '`C:\\path\\"x"`'],
  ])('%j -> %s', (value, token) => {
    expect(caddyToken(value)).toBe(token);
  });

  it('refuses what Caddy would not read back as written', () => {
    expect(() => caddyToken('{$HOME}')).toThrow(/environment variable/);
    expect(() => caddyToken('a\\`b')).toThrow(/backslash and a backtick/);
  });
});

describe('renderCaddyfile', () => {
  it('writes globals, then one block per site, in caddy fmt layout', () => {
    const text = renderCaddyfile({
      email: 'ops@example.com',
      acmeCa: 'https://acme-staging-v02.api.letsencrypt.org/directory',
      acmeCaRoot: ACME_CA_ROOT,
      sites: [
        { domain: 'example.com', upstream: 'localhost:8000', headers: { 'X-Frame-Options': 'DENY', '-Server': '' }, redirect_www: true },
        { domain: 'www.docs.example.com', root: '/srv/docs site', redirect_www: true },
        { domain: 'ping.example.com', respond: 'pong "ok"' },
      ],
    });
    expect(text).toBe(
      HEADER +
        [
          '{',
          '\temail ops@example.com',
          '\tacme_ca https://acme-staging-v02.api.letsencrypt.org/directory',
          '\tacme_ca_root /etc/caddy/acme-ca-root.pem',
          '}',
          '',
          'example.com {',
          '\theader X-Frame-Options DENY',
          '\theader -Server',
          '\treverse_proxy localhost:8000',
          '}',
          '',
          'www.example.com {',
          '\tredir https://example.com{uri} permanent',
          '}',
          '',
          'www.docs.example.com {',
          '\troot * "/srv/docs site"',
          '\tfile_server',
          '}',
          '',
          'docs.example.com {',
          '\tredir https://www.docs.example.com{uri} permanent',
          '}',
          '',
          'ping.example.com {',
          '\trespond "pong \\"ok\\""',
          '}',
          '',
        ].join('\n'),
    );
  });

  it('has no global block when nothing global is set (Caddy defaults: Let\'s Encrypt, then ZeroSSL)', () => {
    expect(renderCaddyfile({ sites: [{ domain: 'example.com', respond: 'hi' }] })).toBe(`${HEADER}example.com {\n\trespond hi\n}\n`);
  });

  it('names every domain that needs a certificate, redirects included', () => {
    expect(wwwVariant('example.com')).toBe('www.example.com');
    expect(wwwVariant('www.example.com')).toBe('example.com');
    expect(certificateDomains([{ domain: 'a.com', respond: 'x', redirect_www: true }, { domain: 'b.com', respond: 'y' }])).toEqual(['a.com', 'www.a.com', 'b.com']);
  });
});

describe('caddy role variables', () => {
  const problems = (vars: Record<string, unknown>) => {
    const r = role.vars.safeParse(vars);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts the three kinds of site, with headers and the www redirect', () => {
    expect(
      problems({
        caddy_sites: [
          { domain: 'Example.COM', upstream: 'http://10.0.0.5:3000', headers: { 'Strict-Transport-Security': 'max-age=31536000' }, redirect_www: true },
          { domain: 'static.example.com', root: '/srv/www' },
          { domain: 'ping.example.com', respond: 'pong' },
          { domain: 'sock.example.com', upstream: 'unix//run/app.sock' },
        ],
      }),
    ).toEqual([]);
    expect(role.vars.parse({ caddy_sites: [{ domain: ' Example.COM ', respond: 'x' }] }).caddy_sites[0].domain).toBe('example.com');
  });

  it.each([
    [{ domain: 'example.com' }, 'exactly one of upstream'],
    [{ domain: 'example.com', upstream: 'localhost:8000', respond: 'x' }, 'exactly one of upstream'],
    [{ domain: '*.example.com', respond: 'x' }, 'wildcards need the DNS challenge'],
    [{ domain: 'https://example.com', respond: 'x' }, 'a domain name'],
    [{ domain: 'example.com', upstream: 'localhost:8000 evil' }, 'an upstream like'],
    [{ domain: 'example.com', root: 'srv/www' }, 'an absolute directory'],
    [{ domain: 'example.com', respond: 'hi {$SECRET}' }, 'environment variable'],
    [{ domain: 'example.com', respond: 'x', headers: { 'Bad Header': 'x' } }, '"Bad Header" is not a header name'],
    [{ domain: 'example.com', respond: 'x', tls: 'internal' }, 'tls'],
  ])('refuses %j', (s, message) => {
    expect(problems({ caddy_sites: [s] }).join('\n')).toContain(message);
  });

  it('refuses a name served twice, also through redirect_www', () => {
    expect(problems({ caddy_sites: [{ domain: 'example.com', respond: 'a', redirect_www: true }, { domain: 'www.example.com', respond: 'b' }] })).toEqual([
      'caddy_sites: www.example.com is served twice (a site, or the redirect_www of another site)',
    ]);
  });

  it('refuses a plain-http ACME directory and a non-address for the DNS check', () => {
    expect(problems({ caddy_acme_ca: 'http://ca.example/dir' })).toHaveLength(1);
    expect(problems({ caddy_public_addresses: ['vps.example.com'] })).toHaveLength(1);
  });
});

describe('caddy role tasks', () => {
  it('installs nothing on a host without sites (site.yml lists the role for every host)', () => {
    expect(tasksFor({})).toEqual([]);
  });

  it('debian: Debian\'s package, then ports, CA root, DNS check, validated Caddyfile, service, reload, certificates', () => {
    const tasks = tasksFor({
      caddy_source: 'debian',
      caddy_email: 'ops@example.com',
      caddy_acme_ca: 'https://10.99.0.1:14000/dir',
      caddy_acme_ca_root: '/srv/pki/ca.pem',
      caddy_sites: [{ ...site, redirect_www: true }],
      ansible_host: '203.0.113.7',
    });
    expect(tasks.map((t) => `${t.module}: ${t.name}`)).toEqual([
      'apt_repository: no Caddy vendor apt repository',
      'apt: caddy installed (Debian)',
      'caddy_firewall: ports 80 and 443 open in ufw',
      'copy: ACME CA root certificate',
      'caddy_domains: domains resolve to this host',
      'copy: Caddyfile',
      'service: caddy enabled and running',
      'caddy_reload: caddy runs the current config',
      'caddy_certificates: certificates',
    ]);
    const by = (name: string) => tasks.find((t) => t.name === name)!.args;
    expect(by('no Caddy vendor apt repository')).toEqual({ name: 'caddy-stable', state: 'absent' });
    expect(by('caddy installed (Debian)')).toEqual({ name: ['caddy', 'ca-certificates'], cache_valid_time: 3600 });
    expect(by('ACME CA root certificate')).toEqual({ src: '/srv/pki/ca.pem', dest: ACME_CA_ROOT, mode: '0644', owner: 'root', group: 'root' });
    expect(by('Caddyfile')).toMatchObject({ dest: CADDYFILE, validate: VALIDATE, mode: '0644' });
    expect(VALIDATE).toBe('caddy validate --adapter caddyfile --config %s');
    expect(by('Caddyfile').content).toContain('\tacme_ca_root /etc/caddy/acme-ca-root.pem\n');
    // /srv/pki/ca.pem does not exist here: no expected text for it, the copy task reports the missing file
    expect(by('caddy runs the current config')).toEqual({ files: [CADDYFILE, ACME_CA_ROOT], contents: { [CADDYFILE]: by('Caddyfile').content } });
    // the inventory address is this host too (cloud NAT); www. is checked and waited for like the site
    expect(by('domains resolve to this host')).toEqual({ domains: ['example.com', 'www.example.com'], addresses: ['203.0.113.7'] });
    expect(by('certificates')).toEqual({ domains: ['example.com', 'www.example.com'], addresses: ['203.0.113.7'], wait: 60 });
  });

  it('every task\'s arguments are valid for its module', () => {
    for (const source of ['debian', 'vendor']) {
      for (const vars of [{ caddy_sites: [site], caddy_source: source }, { caddy_sites: [site], caddy_source: source, caddy_acme_ca_root: '/x.pem' }]) {
        for (const t of tasksFor(vars)) {
          const r = modules[t.module].schema.safeParse(t.args);
          expect(r.success, `${t.name}: ${JSON.stringify(r.error?.issues)}`).toBe(true);
        }
      }
    }
  });

  it('vendor: Caddy\'s Cloudsmith repository with its pinned key, the same packages', () => {
    const tasks = tasksFor({ caddy_sites: [site] });
    expect(tasks[0]).toEqual({
      name: 'Caddy apt repository',
      module: 'apt_repository',
      args: {
        name: 'caddy-stable',
        uris: ['https://dl.cloudsmith.io/public/caddy/stable/deb/debian'],
        suites: ['any-version'],
        components: ['main'],
        key: CADDY_APT_KEY,
        key_fingerprint: CADDY_APT_FINGERPRINT,
      },
    });
    expect(tasks[1]).toEqual({ name: 'caddy installed', module: 'apt', args: { name: ['caddy', 'ca-certificates'], cache_valid_time: 3600 } });
    // the pinned text really is the key with that fingerprint (apt_repository checks it on every run too)
    expect(keyProblem(CADDY_APT_KEY, CADDY_APT_FINGERPRINT)).toBeUndefined();
    // a key of one's own (a mirror) is not checked against Caddy's fingerprint
    const own = tasksFor({ caddy_sites: [site], caddy_apt_key: 'KEY' })[0].args;
    expect(own.key_fingerprint).toBeUndefined();
  });

  it('removes a CA root it copied earlier once caddy_acme_ca_root is unset, and reloads on the Caddyfile alone', () => {
    const tasks = tasksFor({ caddy_sites: [site], caddy_source: 'debian' });
    expect(tasks.find((t) => t.module === 'file')).toEqual({ name: 'no ACME CA root certificate', module: 'file', args: { path: ACME_CA_ROOT, state: 'absent' } });
    expect(tasks.find((t) => t.module === 'caddy_reload')!.args.files).toEqual([CADDYFILE]);
    expect(tasks.find((t) => t.name === 'Caddyfile')!.args.content).not.toContain('acme_ca');
  });

  it('gives the reload task the CA root text it will have, read from the controller', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-caddy-ca-'));
    writeFileSync(join(dir, 'ca.pem'), 'PEM\n');
    const t = tasksFor({ caddy_sites: [site], caddy_acme_ca_root: join(dir, 'ca.pem') }).find((x) => x.module === 'caddy_reload')!;
    expect((t.args.contents as Record<string, string>)[ACME_CA_ROOT]).toBe('PEM\n');
  });

  it('refuses to fight the firewall role when it purges undeclared rules without 80/443', () => {
    expect(() => tasksFor({ caddy_sites: [site], firewall_purge: true, firewall_allow: ['8080/tcp'] })).toThrow(
      'firewall_purge is on and firewall_allow lacks 80/tcp, 443/tcp',
    );
    expect(tasksFor({ caddy_sites: [site], firewall_purge: true, firewall_allow: ['80/tcp', '443'] }).length).toBeGreaterThan(0);
    expect(tasksFor({ caddy_sites: [site], firewall_purge: false, firewall_allow: [] }).length).toBeGreaterThan(0);
  });

  it('reads caddy_acme_ca_root where the operator is: relative to the working directory, or ~/', () => {
    expect(controllerPath('/abs/ca.pem')).toBe('/abs/ca.pem');
    expect(controllerPath('pki/ca.pem')).toBe(resolve('pki/ca.pem'));
    expect(controllerPath('~/pki/ca.pem')).toBe(join(homedir(), 'pki/ca.pem'));
  });
});

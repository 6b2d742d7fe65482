import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import caddyCertificates, { DOMAIN } from './caddy_certificates.js';
import caddyDomains from './caddy_domains.js';
import caddyFirewall from './caddy_firewall.js';
import caddyReload from './caddy_reload.js';
import { defineRole, type RoleTask } from '../../src/playbook/role.js';
import { CADDY_APT_FINGERPRINT, CADDY_APT_KEY } from './caddy-key.js';
import { caddyToken, certificateDomains, renderCaddyfile, type Site } from './caddyfile.js';

export const CADDYFILE = '/etc/caddy/Caddyfile';
/** where caddy_acme_ca_root is copied on the host */
export const ACME_CA_ROOT = '/etc/caddy/acme-ca-root.pem';
export const VALIDATE = 'caddy validate --adapter caddyfile --config %s';
/** ca-certificates: Caddy (Go) trusts the system store to talk to Let's Encrypt; it brings openssl, which the checks use */
export const PACKAGES = ['caddy', 'ca-certificates'];
const APT_NAME = 'caddy-stable';

/** an HTTP header field name (RFC 9110 token); a leading "-" removes the header instead */
const HEADER_NAME = /^-?[A-Za-z0-9][A-Za-z0-9!#$%&'*+.^_|~-]*$/;
/** host:port, [v6]:port, with an optional http://, https:// or h2c:// scheme; or unix//path */
const UPSTREAM = /^(?:(?:(?:https?|h2c):\/\/)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?|unix\/\/[^\s"`{}]+)$/;

/** a Caddyfile value: refused here (with the playbook position) rather than by `caddy validate` on the host */
const tokenValue = z.string().superRefine((v, ctx) => {
  try {
    caddyToken(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const site = z
  .object({
    domain: z
      .string()
      .transform((s) => s.trim().toLowerCase())
      .pipe(z.string().regex(DOMAIN, 'a domain name like "example.com" (no scheme, port, path or wildcard: wildcards need the DNS challenge)')),
    upstream: z.string().regex(UPSTREAM, 'an upstream like "localhost:8000", "http://10.0.0.5:3000" or "unix//run/app.sock"').optional(),
    root: z.string().regex(/^\/[^\n"`{}]*$/, 'an absolute directory on the host, e.g. /srv/www').optional(),
    respond: tokenValue.optional(),
    headers: z
      .record(z.string(), tokenValue)
      .superRefine((h, ctx) => {
        for (const name of Object.keys(h).filter((n) => !HEADER_NAME.test(n))) {
          ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a header name like "X-Frame-Options" (or "-Server" to remove one)` });
        }
      })
      .optional(),
    redirect_www: z.boolean().default(false),
  })
  .strict()
  .refine((s) => [s.upstream, s.root, s.respond].filter((x) => x !== undefined).length === 1, {
    message: 'a site needs exactly one of upstream (reverse proxy), root (static files) or respond (a fixed body)',
  });

const vars = z.object({
  /** vendor: Caddy's own repository (current Caddy 2.x); debian: the distribution's package (2.6 on Debian 12) */
  caddy_source: z.enum(['vendor', 'debian']).default('vendor'),
  /** the ACME account's contact: expiry and problem notices go there */
  caddy_email: z.string().regex(/^[^\s@"`{}]+@[^\s@"`{}]+$/, 'an email address').optional(),
  caddy_sites: z
    .array(site)
    .default([])
    .superRefine((sites, ctx) => {
      const seen = new Set<string>();
      for (const name of certificateDomains(sites as Site[])) {
        if (seen.has(name)) ctx.addIssue({ code: 'custom', message: `${name} is served twice (a site, or the redirect_www of another site)` });
        seen.add(name);
      }
    }),
  /** ACME directory URL; unset = Caddy's default (Let's Encrypt, ZeroSSL as fallback). Staging: https://acme-staging-v02.api.letsencrypt.org/directory */
  caddy_acme_ca: z.string().regex(/^https:\/\/[^\s"`{}]+$/, 'an https:// ACME directory URL').optional(),
  /**
   * A CA certificate ON THE CONTROLLER (absolute, relative to the directory shipshape runs in, or ~/...):
   * the CA of the ACME server's own TLS certificate, for a private CA. Copied to /etc/caddy/acme-ca-root.pem.
   */
  caddy_acme_ca_root: z.string().min(1).optional(),
  /** seconds to wait after a change for certificates Caddy does not serve yet; 0 only reports */
  caddy_cert_wait: z.number().int().min(0).max(600).default(60),
  /** addresses that reach this host without being on its interfaces (1:1 NAT, floating IP), for the DNS check */
  caddy_public_addresses: z.array(z.string().refine((a) => isIP(a) !== 0, 'an IPv4 or IPv6 address')).default([]),
  caddy_apt_uri: z.string().default('https://dl.cloudsmith.io/public/caddy/stable/deb/debian'),
  /** the vendor repository's ASCII-armored signing key; default Caddy's (pinned in caddy-key.ts) */
  caddy_apt_key: z.string().default(CADDY_APT_KEY),
  /** checked against caddy_apt_key; default Caddy's fingerprint when caddy_apt_key is Caddy's key */
  caddy_apt_key_fingerprint: z.string().optional(),
});

export type CaddyVars = z.infer<typeof vars>;

function packageTasks(v: CaddyVars): RoleTask[] {
  if (v.caddy_source === 'debian') {
    return [
      // apt would otherwise keep taking the (higher) vendor version from it
      { name: 'no Caddy vendor apt repository', module: 'apt_repository', args: { name: APT_NAME, state: 'absent' } },
      { name: 'caddy installed (Debian)', module: 'apt', args: { name: PACKAGES, cache_valid_time: 3600 } },
    ];
  }
  const fingerprint = v.caddy_apt_key_fingerprint ?? (v.caddy_apt_key === CADDY_APT_KEY ? CADDY_APT_FINGERPRINT : undefined);
  return [
    {
      name: 'Caddy apt repository',
      module: 'apt_repository',
      args: {
        name: APT_NAME,
        uris: [v.caddy_apt_uri],
        // Cloudsmith's Caddy repository has one suite for every release
        suites: ['any-version'],
        components: ['main'],
        key: v.caddy_apt_key,
        ...(fingerprint ? { key_fingerprint: fingerprint } : {}),
      },
    },
    { name: 'caddy installed', module: 'apt', args: { name: PACKAGES, cache_valid_time: 3600 } },
  ];
}

/**
 * With firewall_purge the firewall role removes every rule it does not declare, and this role would
 * add 80/443 back: the two would fight on every run, with HTTPS closed in between. Refused up front.
 */
function firewallConflict(all: Record<string, unknown>): string | undefined {
  if (all.firewall_purge !== true || !Array.isArray(all.firewall_allow)) return undefined;
  const declared = all.firewall_allow.map((p) => String(p).replace(/\/tcp$/, ''));
  const missing = ['80', '443'].filter((p) => !declared.includes(p)).map((p) => `${p}/tcp`);
  if (!missing.length) return undefined;
  return `firewall_purge is on and firewall_allow lacks ${missing.join(', ')}: the firewall role would remove the rules Caddy needs on every run, and this role add them back; add ${missing.join(', ')} to firewall_allow`;
}

function readable(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `~/x` and relative paths, as the operator typed them on the command line's machine */
export function controllerPath(path: string): string {
  return path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : resolve(path);
}

/** the role's own modules: its tasks use them, playbooks cannot */
const own = { caddy_firewall: caddyFirewall, caddy_domains: caddyDomains, caddy_reload: caddyReload, caddy_certificates: caddyCertificates };

export default defineRole<CaddyVars, typeof own>({
  name: 'caddy',
  summary: 'Caddy in front of your sites: automatic HTTPS (ACME), validated Caddyfile, reload on change, DNS and certificate checks',
  vars,
  modules: own,
  tasks: (v): RoleTask<typeof own>[] => {
    // no sites, nothing to serve: the role installs nothing (site.yml lists it for every host)
    if (!v.caddy_sites.length) return [];
    const all = v as CaddyVars & Record<string, unknown>;
    const conflict = firewallConflict(all);
    if (conflict) throw new Error(conflict);
    const sites = v.caddy_sites as Site[];
    const domains = certificateDomains(sites);
    // the inventory address reaches this host even when it is not on an interface (cloud NAT)
    const inventoryAddr = typeof all.ansible_host === 'string' && isIP(all.ansible_host) ? [all.ansible_host] : [];
    const addresses = [...new Set([...v.caddy_public_addresses, ...inventoryAddr])];
    const caRoot = v.caddy_acme_ca_root !== undefined;
    // unreadable: the copy task reports it, with where it looked
    const caRootText = caRoot ? readable(controllerPath(v.caddy_acme_ca_root!)) : undefined;
    const caddyfile = renderCaddyfile({
      ...(v.caddy_email ? { email: v.caddy_email } : {}),
      ...(v.caddy_acme_ca ? { acmeCa: v.caddy_acme_ca } : {}),
      ...(caRoot ? { acmeCaRoot: ACME_CA_ROOT } : {}),
      sites,
    });
    return [
      ...packageTasks(v),
      // before Caddy starts asking: HTTP-01 and TLS-ALPN-01 validation connect to 80 and 443
      { name: 'ports 80 and 443 open in ufw', module: 'caddy_firewall', args: {} },
      caRoot
        ? {
            name: 'ACME CA root certificate',
            module: 'copy',
            args: { src: controllerPath(v.caddy_acme_ca_root!), dest: ACME_CA_ROOT, mode: '0644', owner: 'root', group: 'root' },
          }
        : { name: 'no ACME CA root certificate', module: 'file', args: { path: ACME_CA_ROOT, state: 'absent' } },
      { name: 'domains resolve to this host', module: 'caddy_domains', args: { domains, addresses } },
      {
        name: 'Caddyfile',
        module: 'copy',
        args: { dest: CADDYFILE, content: caddyfile, mode: '0644', owner: 'root', group: 'root', validate: VALIDATE },
      },
      { name: 'caddy enabled and running', module: 'service', args: { name: 'caddy', state: 'started', enabled: true, masked: false } },
      // in task order, not a handler: the certificate check below needs Caddy to run the new config
      {
        name: 'caddy runs the current config',
        module: 'caddy_reload',
        args: {
          files: [CADDYFILE, ...(caRoot ? [ACME_CA_ROOT] : [])],
          // what the tasks above write, so that check predicts the reload their changes cause
          contents: { [CADDYFILE]: caddyfile, ...(caRootText !== undefined ? { [ACME_CA_ROOT]: caRootText } : {}) },
        },
      },
      { name: 'certificates', module: 'caddy_certificates', args: { domains, addresses, wait: v.caddy_cert_wait } },
    ];
  },
});

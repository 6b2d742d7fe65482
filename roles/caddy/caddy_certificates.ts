import { z } from 'zod';
import { defineModule, type Plan } from '../../src/core/module.js';
import { shJoin, shq } from '../../src/core/quote.js';
import { sh } from '../../src/core/step.js';
import {
  domainResolution,
  judgeDomain,
  servedCertificates,
  shortDate,
  type CaddyCertificates,
  type DomainResolution,
} from '../../src/facts/caddy.js';

/**
 * A name an ACME CA can issue for over HTTP-01 / TLS-ALPN-01: lower-case DNS labels with at least one
 * dot. No wildcards (they need the DNS challenge), no IP addresses, no ports.
 */
export const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const domainList = z
  .array(
    z
      .string()
      .transform((s) => s.trim().toLowerCase())
      .pipe(z.string().regex(DOMAIN, 'a domain name like "example.com" or "app.example.com" (no scheme, port, path or wildcard)')),
  )
  .min(1);

/** Addresses that reach this host without being on one of its interfaces (1:1 NAT, floating IPs). */
export const extraAddresses = z.array(z.string().regex(/^[0-9a-fA-F.:]+$/, 'an IPv4 or IPv6 address')).default([]);

const schema = z
  .object({
    domains: domainList,
    addresses: extraAddresses,
    /** how long to wait, in seconds, for certificates Caddy does not serve yet; 0 only reports */
    wait: z.number().int().min(0).max(600).default(60),
  })
  .strict();

type Args = z.infer<typeof schema>;

interface Facts {
  dns: DomainResolution;
  certs: CaddyCertificates;
}

export default defineModule({
  name: 'caddy_certificates',
  summary: 'Wait (bounded) until Caddy serves a valid certificate for each domain; report issued / pending / failed with Caddy\'s reason',
  schema,
  facts: (a: Args) => ({ dns: domainResolution(a.domains), certs: servedCertificates(a.domains) }),
  plan: (a: Args, f: Facts) => planCertificates(a, f),
});

function planCertificates(a: Args, f: Facts): Plan {
  const issued: string[] = [];
  const waitFor: string[] = [];
  const hopeless: string[] = [];
  for (const domain of a.domains) {
    const dns = judgeDomain(domain, f.dns, a.addresses);
    const cert = f.certs.domains[domain];
    const s = cert?.served;
    if (s?.matches && s.current) {
      const moved = dns.verdict === 'elsewhere' || dns.verdict === 'none' ? ` (but ${dns.text.replace(/: Caddy cannot.*$/, '')}: renewing it will fail)` : '';
      issued.push(`${domain}: certificate valid until ${shortDate(s.notAfter)} (${s.issuer ?? 'unknown issuer'}, serial ${s.serial ?? '?'})${moved}`);
    } else if (dns.verdict === 'elsewhere' || dns.verdict === 'none') {
      hopeless.push(`${dns.text}${cert?.lastError ? `. Caddy's last error: ${cert.lastError}` : ''}`);
    } else {
      waitFor.push(domain);
    }
  }
  if (!waitFor.length && !hopeless.length) return { steps: [], reason: issued.join('; ') };
  if (!waitFor.length) {
    const message = [...hopeless, ...issued].join('; ');
    return { steps: [], reason: message, fail: message };
  }
  const what = `wait up to ${a.wait} s until Caddy serves certificates for ${waitFor.join(', ')}`;
  return {
    steps: [sh(waitScript(waitFor, a.wait, hopeless), what)],
    reason: [what, ...hopeless, ...issued].join('; '),
  };
}

/** The sh function testing whether Caddy serves a current certificate for "$1"; leaves it in $__ss_pem. */
const HAS_CERT = [
  '__ss_has() {',
  '  __ss_pem=$(echo | timeout 5 openssl s_client -connect 127.0.0.1:443 -servername "$1" 2>/dev/null | openssl x509 2>/dev/null) || return 1',
  '  [ -n "$__ss_pem" ] || return 1',
  "  printf '%s\\n' \"$__ss_pem\" | openssl x509 -noout -checkhost \"$1\" 2>/dev/null | grep -q ' does match' || return 1",
  "  printf '%s\\n' \"$__ss_pem\" | openssl x509 -noout -checkend 0 >/dev/null 2>&1",
  '}',
].join('\n');

/**
 * Caddy's last logged error about "$1": the "error" field of its JSON log line, unescaped.
 * Exported for its test: the sed expression is the delicate part.
 */
export const LAST_ERROR = [
  '__ss_err() {',
  '  journalctl -u caddy --no-pager -o cat -n 3000 2>/dev/null | grep -F \'"level":"error"\' | grep -F "\\"identifier\\":\\"$1\\"" | tail -n 1 \\',
  `    | sed -n -E 's/.*"error":"(([^"\\\\]|\\\\.)*)".*/\\1/p' | sed -e 's/\\\\"/"/g' -e 's/\\\\\\\\/\\\\/g'`,
  '}',
].join('\n');

/**
 * Wait until every domain is served with a current certificate or `seconds` have passed (one deadline
 * for all), then print one line per domain: issued / failed with Caddy's last error / pending. The
 * domains that cannot get one (DNS) are printed last; any of them, or any not issued, fails the step.
 */
export function waitScript(domains: string[], seconds: number, hopeless: string[]): string {
  return [
    HAS_CERT,
    LAST_ERROR,
    '__ss_start=$(date +%s)',
    `__ss_end=$((__ss_start + ${seconds}))`,
    '__ss_bad=0',
    `for __ss_d in ${shJoin(domains)}; do`,
    // a CA close by answers within a second or two: look 5 times a second for the first 3 s, then every second
    '  __ss_n=0',
    '  until __ss_has "$__ss_d" || [ "$(date +%s)" -ge "$__ss_end" ]; do',
    '    __ss_n=$((__ss_n + 1)); if [ "$__ss_n" -le 15 ]; then sleep 0.2; else sleep 1; fi',
    '  done',
    '  if __ss_has "$__ss_d"; then',
    "    __ss_until=$(printf '%s\\n' \"$__ss_pem\" | openssl x509 -noout -enddate | sed 's/^notAfter=//')",
    '    echo "$__ss_d: issued after $(($(date +%s) - __ss_start)) s, valid until $__ss_until"',
    '  else',
    '    __ss_bad=1',
    '    __ss_e=$(__ss_err "$__ss_d")',
    '    if [ -n "$__ss_e" ]; then echo "$__ss_d: failed: $__ss_e"',
    `    else echo "$__ss_d: pending: no certificate after ${seconds} s, and Caddy has logged no error for it yet"; fi`,
    '  fi',
    'done',
    ...hopeless.map((h) => `echo ${shq(h)}`),
    ...(hopeless.length ? ['__ss_bad=1'] : []),
    '[ "$__ss_bad" -eq 0 ]',
  ].join('\n');
}

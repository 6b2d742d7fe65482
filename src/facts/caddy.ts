import { X509Certificate } from 'node:crypto';
import { probe } from '../core/probe.js';
import { shJoin, shq } from '../core/quote.js';
import { fileContent, fileMtime } from './file.js';
import { batchablePath, homePath, plainHomeInto } from './file-batch.js';
import { addressLines, hostInfo } from './host.js';
import { unitThen } from './systemd.js';

// ---- does a domain point at this host? ----------------------------------------------------------

export interface DomainLookup {
  /** the addresses the DNS gives (A and AAAA), empty when it has none */
  addresses: string[];
  /** set when the lookup itself failed (timeout, resolver error), so nothing can be said */
  error?: string;
}

export interface DomainResolution {
  /** global-scope addresses of the host's interfaces */
  hostAddresses: string[];
  domains: Record<string, DomainLookup>;
}

/**
 * What the DNS says about each domain, and the host's own addresses. `getent -s dns` asks the
 * resolver only: /etc/hosts maps a host's own name to 127.0.1.1 on Debian, which is true locally and
 * says nothing about where an ACME CA's validation will connect.
 */
export function domainResolution(domains: readonly string[]) {
  const names = [...new Set(domains)].sort();
  const lookups = [
    `for __ss_d in ${shJoin(names)}; do`,
    '  echo "@@domain $__ss_d"',
    '  timeout 10 getent -s dns ahosts "$__ss_d"',
    '  echo "@@rc $?"',
    'done',
  ];
  return probe<DomainResolution>(
    `caddy-dns:${names.join(' ')}`,
    ['if command -v ip >/dev/null 2>&1; then ip -o addr show scope global; else echo "@@hostname-I $(hostname -I)"; fi', ...lookups].join('\n'),
    parseDomainResolution,
    {
      // no exit, no cd, one variable of its own: runs in the batch's shell (a process less)
      inline: true,
      compose: {
        // the host's addresses from host info's one ip (every address: the global ones are what `scope global`
        // lists); without ip, hostname -I here as before
        parts: [
          hostInfo,
          // timeout and getent: about 2 ms a domain
          probe(`caddy-dns-lookup:${names.join(' ')}`, ['if ! command -v ip >/dev/null 2>&1; then echo "@@hostname-I $(hostname -I)"; fi', ...lookups].join('\n'), (out) => out, { inline: true, cost: 2 * names.length }),
        ],
        join: ([info, dns]) => ({ stdout: globalAddressLines(addressLines(info.stdout)) + dns.stdout, code: dns.code }),
      },
    },
  );
}

/** What `ip -o addr show scope global` prints, from every address's line (ip writes "scope NAME " in each). */
export function globalAddressLines(lines: readonly string[]): string {
  return lines
    .filter((l) => l.includes(' scope global '))
    .map((l) => `${l}\n`)
    .join('');
}

export function parseDomainResolution(out: string): DomainResolution {
  const hostAddresses: string[] = [];
  const domains: Record<string, DomainLookup> = {};
  let current: string | undefined;
  let found: string[] = [];
  const add = (list: string[], a: string) => {
    const addr = a.toLowerCase();
    if (!list.includes(addr)) list.push(addr);
  };
  for (const line of out.split('\n')) {
    const domain = /^@@domain (\S+)$/.exec(line);
    if (domain) {
      current = domain[1];
      found = [];
      continue;
    }
    const rc = /^@@rc (\d+)$/.exec(line);
    if (rc && current) {
      const code = Number(rc[1]);
      // getent: 2 = the name has no address; 124 = our timeout
      domains[current] =
        code === 0 || code === 2
          ? { addresses: found }
          : { addresses: found, error: code === 124 ? 'the DNS lookup timed out' : `the DNS lookup failed (getent exit ${code})` };
      current = undefined;
      continue;
    }
    if (current) {
      // "10.99.0.21      STREAM h11.lab.test", then the same address for DGRAM and RAW
      const addr = /^(\S+)\s/.exec(line);
      if (addr) add(found, addr[1]);
      continue;
    }
    const inet = /\binet6? ([0-9a-fA-F.:]+)\//.exec(line);
    if (inet) add(hostAddresses, inet[1]);
    const fallback = /^@@hostname-I (.*)$/.exec(line);
    if (fallback) for (const a of fallback[1].split(/\s+/).filter(Boolean)) add(hostAddresses, a);
  }
  return { hostAddresses, domains };
}

export type DnsVerdict = 'here' | 'partly' | 'elsewhere' | 'none' | 'unknown';

export interface DomainJudgement {
  domain: string;
  verdict: DnsVerdict;
  /** one plain sentence for the operator */
  text: string;
}

/**
 * Does `domain` point at this host? `extra` are addresses that reach it from outside without being
 * on an interface (a cloud's 1:1 NAT or floating IP, the inventory address).
 */
export function judgeDomain(domain: string, res: DomainResolution, extra: readonly string[] = []): DomainJudgement {
  const mine = [...new Set([...res.hostAddresses, ...extra.map((a) => a.toLowerCase())])];
  const here = `this host (${mine.join(', ') || 'no global address found'})`;
  const lookup = res.domains[domain];
  if (!lookup) return { domain, verdict: 'unknown', text: `${domain} was not looked up` };
  if (lookup.error && lookup.addresses.length === 0) {
    return { domain, verdict: 'unknown', text: `${domain}: ${lookup.error}, so whether it points here is unknown` };
  }
  const { addresses } = lookup;
  if (addresses.length === 0) {
    return { domain, verdict: 'none', text: `${domain} does not resolve (no A or AAAA record in DNS): Caddy cannot get a certificate for it` };
  }
  const foreign = addresses.filter((a) => !mine.includes(a));
  if (foreign.length === 0) return { domain, verdict: 'here', text: `${domain} resolves to ${addresses.join(', ')} (this host)` };
  if (foreign.length === addresses.length) {
    return { domain, verdict: 'elsewhere', text: `${domain} resolves to ${addresses.join(', ')}, not ${here}: Caddy cannot get a certificate for it` };
  }
  return {
    domain,
    verdict: 'partly',
    text: `${domain} resolves to ${addresses.join(', ')}, but ${foreign.join(', ')} ${foreign.length > 1 ? 'are' : 'is'} not ${here}: the CA may validate there and fail`,
  };
}

// ---- which certificate does Caddy serve? --------------------------------------------------------

export interface ServedCertificate {
  /** the certificate's names cover the domain (X509_check_host, as openssl -checkhost) */
  matches: boolean;
  /** not expired at the time of the probe: notAfter later than the host's clock (as openssl -checkend 0) */
  current: boolean;
  /** as openssl prints it: "Nov 23 13:25:29 2031 GMT" */
  notAfter?: string;
  serial?: string;
  issuer?: string;
  /** SHA-256, colon-separated hex */
  fingerprint?: string;
}

export interface DomainCertificate {
  /** what Caddy presents for this name on 127.0.0.1:443; undefined when the handshake gives none */
  served?: ServedCertificate;
  /**
   * Caddy's last logged ACME error for this name: "msg: error (at ISO time)". Read only for a name
   * served no certificate, another name's or an expired one (where the plan reports it).
   */
  lastError?: string;
}

export interface CaddyCertificates {
  /** false when openssl is missing: nothing could be checked */
  openssl: boolean;
  domains: Record<string, DomainCertificate>;
}

/** journald's last 3000 lines of Caddy, only its errors (Caddy logs JSON, one object a line) */
const CADDY_ERRORS = `journalctl -u caddy --no-pager -o cat -n 3000 2>/dev/null | grep -F '"level":"error"'`;

/**
 * Sets $__ss_epoch to the host's clock in seconds since the epoch, read with builtins: the boot time
 * (`btime` of /proc/stat) plus the uptime. The kernel keeps btime in step with the wall clock, so the
 * sum is `date +%s` to within a second. `date` only where /proc lacks them.
 */
export const HOST_NOW = [
  '__ss_bt=; __ss_upt=',
  'while read -r __ss_k __ss_v; do [ "$__ss_k" = btime ] && __ss_bt=$__ss_v && break; done </proc/stat',
  'read -r __ss_upt __ss_x </proc/uptime',
  'case $__ss_bt.${__ss_upt%%.*} in *[!0-9.]*|.*|*.) __ss_epoch=$(date +%s);; *) __ss_epoch=$((__ss_bt + ${__ss_upt%%.*}));; esac',
].join('\n');

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

/**
 * What Caddy serves for each name, asked the way a client asks (TLS with SNI, on this host), plus, for
 * a name served no right certificate, Caddy's last ACME error about it from its journal. Read-only: a
 * handshake changes nothing.
 *
 * The host prints each name's leaf certificate (PEM) and its clock; the controller reads the certificate
 * (node:crypto, see servedCertificate), so no `openssl x509` runs on the host. Whether to read the journal
 * is still decided on the host, by s_client's own verification of the name it was asked to check
 * (-verify_hostname): `verify error:num=62` (hostname mismatch) or `num=10` (expired, by the host's clock),
 * or no certificate at all. Those are the cases where the plan shows Caddy's error, as before: the
 * journal (journalctl and a grep) is read once, and only then.
 *
 * s_client loads no trust store (-no-CAfile -no-CApath -no-CAstore): whether the chain is trusted is no
 * part of this fact, and the name and expiry checks report the same without one (OpenSSL 3.0 and 3.5,
 * checked with a wrong name and with -attime past expiry). Loading Debian's ca-certificates bundle was most
 * of the handshake's cost: 21.6 -> 4.8 ms on Debian 12 (OpenSSL 3.0), 10.5 -> 6.3 ms on Debian 13.
 */
export function servedCertificates(domains: readonly string[]) {
  const names = [...new Set(domains)].sort();
  return probe<CaddyCertificates>(
    `caddy-certs:${names.join(' ')}`,
    [
      'if ! command -v openssl >/dev/null 2>&1; then echo @@no-openssl; else',
      '__ss_wrong=; __ss_pems=',
      `for d in ${shJoin(names)}; do`,
      '  echo "@@domain $d"',
      // s_client's verification lines go to stderr: kept, they say whether the name is served wrong
      '  __ss_o=$(timeout 5 openssl s_client -no-CAfile -no-CApath -no-CAstore -connect 127.0.0.1:443 -servername "$d" -verify_hostname "$d" </dev/null 2>&1)',
      // the first certificate of the handshake (the leaf), cut out by the shell
      `  case $__ss_o in *"${BEGIN}"*"${END}"*) __ss_pem="${BEGIN}\${__ss_o#*${BEGIN}}"; __ss_pem="\${__ss_pem%%${END}*}${END}";; *) __ss_pem=;; esac`,
      '  if [ -z "$__ss_pem" ]; then __ss_wrong=1; continue; fi',
      `  printf '%s\\n' "$__ss_pem"; __ss_pems=1`,
      '  case $__ss_o in *"verify error:num=62:"*|*"verify error:num=10:"*) __ss_wrong=1;; esac',
      'done',
      // the host's clock, for the controller's expiry judgement (as -checkend 0 judged it here)
      'if [ -n "$__ss_pems" ]; then',
      ...HOST_NOW.split('\n').map((l) => `  ${l}`),
      '  echo "@@now $__ss_epoch"',
      'fi',
      // Caddy's errors, each domain's last one picked by the parser
      `if [ -n "$__ss_wrong" ]; then __ss_err=$(${CADDY_ERRORS}); printf '@@errors\\n%s\\n' "$__ss_err"; fi`,
      'fi',
    ].join('\n'),
    parseServedCertificates,
    // timeout, openssl and Caddy's handshake, no trust store: about 6 ms a domain
    { inline: true, cost: 6 * domains.length },
  );
}

/**
 * One served certificate, read on the controller: what `openssl x509 -checkhost -enddate -serial -issuer
 * -fingerprint -sha256` printed on the host (Node's X509Certificate is the same OpenSSL, so the texts are
 * the same), and expiry against the host's clock (`now`, seconds). A text that is no certificate is
 * served, matching nothing, expired (openssl x509 said nothing of it either).
 */
export function servedCertificate(pem: string, domain: string, now: number | undefined): ServedCertificate {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch {
    return { matches: false, current: false };
  }
  const notAfter = Date.parse(x.validTo) / 1000;
  return {
    matches: x.checkHost(domain) !== undefined,
    current: now !== undefined && notAfter > now,
    notAfter: x.validTo,
    serial: x.serialNumber.toUpperCase(),
    issuer: issuerName(x.issuer),
    fingerprint: x.fingerprint256,
  };
}

/**
 * The issuer as the plan names it: its CN (the rest of openssl's one-line form after the last "CN = ").
 * Node prints the name one attribute a line ("O=Test\nCN=Test CA"); openssl x509 -issuer "O = Test, CN = Test CA".
 */
function issuerName(issuer: string): string {
  const oneLine = issuer
    .split('\n')
    .map((l) => l.replace('=', ' = '))
    .join(', ');
  return oneLine.replace(/^.*CN\s*=\s*/, '');
}

export function parseServedCertificates(out: string): CaddyCertificates {
  if (out.startsWith('@@no-openssl')) return { openssl: false, domains: {} };
  const at = out.indexOf('\n@@errors\n');
  const head = at < 0 ? out : out.slice(0, at + 1);
  const now = /^@@now (\d+)$/m.exec(head);
  const epoch = now ? Number(now[1]) : undefined;
  const domains: Record<string, DomainCertificate> = {};
  let cur: DomainCertificate | undefined;
  let name = '';
  let pem: string[] | undefined;
  for (const line of head.split('\n')) {
    const d = /^@@domain (\S+)$/.exec(line);
    if (d) {
      cur = domains[(name = d[1])] = {};
      pem = undefined;
      continue;
    }
    if (!cur) continue;
    if (line === BEGIN) pem = [line];
    else if (pem) {
      pem.push(line);
      if (line === END) {
        cur.served = servedCertificate(pem.join('\n'), name, epoch);
        pem = undefined;
      }
    } else if (line.startsWith('@@error ')) cur.lastError = describeCaddyError(line.slice('@@error '.length));
  }
  if (at >= 0) {
    const errors = out.slice(at + '\n@@errors\n'.length).split('\n');
    for (const [d, c] of Object.entries(domains)) {
      // the journal is read for the names served wrong; another name's lines there say nothing about it
      if (c.served?.matches && c.served.current) continue;
      const last = errors.filter((l) => l.includes(`"identifier":"${d}"`)).pop();
      if (last) c.lastError = describeCaddyError(last);
    }
  }
  return { openssl: true, domains };
}

/** Caddy's JSON log line as "msg: error (at time)"; the raw line when it is not JSON. */
export function describeCaddyError(line: string): string {
  try {
    const o = JSON.parse(line) as { msg?: string; error?: string; ts?: number };
    const at = typeof o.ts === 'number' ? ` (at ${new Date(o.ts * 1000).toISOString().replace(/\.\d+Z$/, 'Z')})` : '';
    return `${o.msg ?? 'error'}: ${o.error ?? ''}${at}`;
  } catch {
    return line;
  }
}

/** "Nov 23 13:25:29 2031 GMT" -> "2031-11-23"; unchanged when it does not parse. */
export function shortDate(notAfter: string | undefined): string {
  if (!notAfter) return 'an unknown date';
  const t = Date.parse(notAfter);
  return Number.isNaN(t) ? notAfter : new Date(t).toISOString().slice(0, 10);
}

// ---- is Caddy running the config on disk? -------------------------------------------------------

export interface CaddyLoaded {
  /** systemd's LoadState (not-found before the package is installed) */
  loadState?: string;
  activeState?: string;
  mainPid?: number;
  /** Caddy's autosave.json: it writes it on every config load (start and reload) */
  autosave?: string;
  /** its modification time, i.e. when Caddy last loaded a config; undefined when there is none */
  loadedAt?: string;
  /** the watched files modified after that load */
  newer: string[];
  /** sha256 of each watched file that exists */
  sha256: Record<string, string>;
}

/**
 * When Caddy last loaded a config, and which of `files` changed after that. Caddy saves every config
 * it loads to autosave.json under the service user's config directory ($XDG_CONFIG_HOME or
 * $HOME/.config, /var/lib/caddy/.config on Debian and with Caddy's own package), so a file newer
 * than that save is one the running Caddy has not read.
 *
 * The files' sha256 come from the play's one file dump (fileContent: one `sha256sum` for every file a play
 * reads) where they are plain paths: `join` puts them back where this probe's own `sha256sum` printed them.
 * The dump never hashes through a symbolic link, so a linked file is still hashed here (as `[ -f ]` follows it).
 */
export function caddyLoaded(service: string, files: readonly string[]) {
  const id = `caddy-loaded:${service}:${files.join(' ')}`;
  const own = caddyLoadedScript(service, files, 'own');
  if (!files.every(batchablePath)) return probe<CaddyLoaded>(id, own, parseCaddyLoaded, { inline: true });
  // its unit's lines from the play's one systemctl show, the rest of the chain right after it there
  const unit = unitThen(`caddy-loaded-unit:${service}:${files.join(' ')}`, service, UNIT_PROPS, caddyLoadedScript(service, files, 'unit'), caddyLoadedScript(service, files, 'then'));
  const links = probe(`caddy-loaded-links:${files.join(' ')}`, linkHashes(files), (out) => out, { inline: true });
  return probe<CaddyLoaded>(id, own, parseCaddyLoaded, {
    inline: true,
    compose: {
      parts: [unit, links, fileMtime(AUTOSAVE_GUESS), ...files.map(fileContent)],
      join: ([u, l, m, ...contents]) => ({ stdout: joinCaddyLoaded(u.stdout, l.stdout, files, contents, m.stdout), code: u.code }),
    },
  });
}

/**
 * Where Debian's and Caddy's own packages have Caddy save its config (User=caddy, no HOME or XDG_CONFIG_HOME in
 * the unit): its time comes from the play's one `stat`. The unit part judges on the host whether the unit's
 * autosave.json is that file (the same `~caddy` expansion and plain-path rule as the file batch's); any other
 * is stat'ed there, as before.
 */
const AUTOSAVE_GUESS = homePath('caddy', '.config/caddy/autosave.json');
/** what the unit part prints instead of LoadedAt= where the play's stat has it (joinCaddyLoaded puts it back) */
const LOADED_FROM_STAT = 'LoadedAt@stat';

/** The unit's properties caddyLoaded reads: what it reports, and what says where Caddy's config home is. */
const UNIT_PROPS = ['LoadState', 'ActiveState', 'MainPID', 'User', 'Environment'];

/**
 * The text caddyLoaded's own script prints, from its unit part (the state lines, Autosave, LoadedAt and Newer,
 * as its own script prints them), the hashes of the linked files and the file dump's answers (fileContent's text:
 * the stat line, the link's target or an empty line, the hash of a regular file that is no link). The Sha256
 * lines go in `files` order, before the Newer lines, as `sha256sum -- "$@"` printed them; a file missing now (or
 * not regular) has none.
 */
export function joinCaddyLoaded(unit: string, links: string, files: readonly string[], contents: readonly { stdout: string }[], autosaveMtime = ''): string {
  // the autosave's time from the play's stat (fileMtime's "SECONDS PATH"), where the unit part left it to it
  const t = /^(\d+) /.exec(autosaveMtime)?.[1];
  unit = unit.replace(new RegExp(`^${LOADED_FROM_STAT}\n`, 'm'), t ? `LoadedAt=${t}\n` : '');
  const linked = new Map<string, string>();
  for (const l of links.split('\n')) {
    const m = /^Sha256=(\S+) (.*)$/.exec(l);
    if (m) linked.set(m[2], m[1]);
  }
  const sha = files.flatMap((f, i) => {
    const [stat, , hash] = contents[i].stdout.split('\n');
    const hashed = /^regular (empty )?file\|/.test(stat ?? '') && /^[0-9a-f]{64}$/.test(hash ?? '') ? hash : linked.get(f);
    return hashed === undefined ? [] : [`Sha256=${hashed} ${f}\n`];
  });
  const at = unit.search(/^Newer=/m);
  return at < 0 ? unit + sha.join('') : unit.slice(0, at) + sha.join('') + unit.slice(at);
}

/** The sha256 of those of `files` that are symbolic links to regular files (the dump hashes no link), as caddyLoaded prints them. */
function linkHashes(files: readonly string[]): string {
  return [
    // only plain paths come here: the word list splits as the names are
    `__ss_ln=; for f in ${shJoin(files)}; do [ -f "$f" ] && [ -L "$f" ] && __ss_ln="$__ss_ln $f"; done`,
    'if [ -n "$__ss_ln" ]; then',
    '  __ss_o=$(sha256sum -- $__ss_ln)',
    ...shaLines,
    'fi',
  ].join('\n');
}

/** the shell's own here-documents walk each command's output: one process per command, none per line
 * (their lines stay unindented: a here-document ends only at its word alone on a line) */
const eachLine = (v: string, body: string) => [`while IFS= read -r __ss_l; do ${body}; done <<__SS_OUT__`, `$${v}`, '__SS_OUT__'];

/** sha256sum's lines in $__ss_o as caddyLoaded prints them */
const shaLines = eachLine('__ss_o', `[ -n "$__ss_l" ] && printf 'Sha256=%s %s\\n' "\${__ss_l%% *}" "\${__ss_l#*  }"`);

/**
 * caddyLoaded's script. 'own': alone, with its own systemctl show and sha256sum (the probe's script); 'unit':
 * its own systemctl show, no hashes (the unit part's script alone); 'then': the same reading of the unit's lines
 * in $__ss_unit, which the play's one systemctl show gives it (unitThen).
 */
function caddyLoadedScript(service: string, files: readonly string[], kind: 'own' | 'unit' | 'then'): string {
  const s = shq(service);
  return [
    ...(kind === 'then' ? [] : [`__ss_unit=$(systemctl show -p ${UNIT_PROPS.join(',')} -- ${s} 2>/dev/null)`]),
    'u=; __ss_env=',
    ...eachLine('__ss_unit', `case $__ss_l in LoadState=*|ActiveState=*|MainPID=*) printf '%s\\n' "$__ss_l";; User=*) u=\${__ss_l#User=};; Environment=*) __ss_env=\${__ss_l#Environment=};; esac`),
    'h=; x=',
    'for kv in $__ss_env; do',
    '  case $kv in HOME=*) h=${kv#HOME=} ;; XDG_CONFIG_HOME=*) x=${kv#XDG_CONFIG_HOME=} ;; esac',
    'done',
    // the user's home as systemd gives it: dash's ~name asks getpwnam (NSS, as getent) with no process; getent
    // only where ~ cannot (a numeric User=, a name ~ does not take, a user with no home or none at all)
    'if [ -z "$x" ] && [ -z "$h" ]; then',
    '  u=${u:-root}; case $u in [A-Za-z_]*) case $u in *[!A-Za-z0-9._-]*) ;; *) eval "h=~$u";; esac;; esac',
    '  case $h in ""|"~"*) h=; if __ss_e=$(getent passwd "$u"); then h=${__ss_e#*:*:*:*:*:}; h=${h%%:*}; fi;; esac',
    'fi',
    'a="${x:-$h/.config}/caddy/autosave.json"',
    'echo "Autosave=$a"',
    // seconds since the epoch, as the play's one stat prints a file's time (the parser renders it)
    ...(kind === 'then'
      ? [
          plainHomeInto('__ss_sp', 'caddy'),
          `if [ -f "$a" ]; then if [ -n "$__ss_sp" ] && [ "$a" = "$__ss_sp/.config/caddy/autosave.json" ]; then echo ${LOADED_FROM_STAT}; else echo "LoadedAt=$(stat -c %Y "$a")"; fi; fi`,
        ]
      : ['if [ -f "$a" ]; then echo "LoadedAt=$(stat -c %Y "$a")"; fi']),
    `set --; for f in ${shJoin(files)}; do [ -f "$f" ] && set -- "$@" "$f"; done`,
    'if [ $# -gt 0 ]; then',
    ...(kind === 'own' ? ['  __ss_o=$(sha256sum -- "$@")', ...shaLines] : []),
    '  if [ -f "$a" ]; then',
    // dash's -nt compares the mtimes to the nanosecond, as find -newer does, without a process; find stays
    // where a link is involved (without -L it judges the link itself, where -nt follows it)
    '    __ss_k=; for f; do [ -L "$f" ] && __ss_k=1; done; [ -L "$a" ] && __ss_k=1',
    '    if [ -z "$__ss_k" ]; then',
    `      for f; do [ "$f" -nt "$a" ] && printf 'Newer=%s\\n' "$f"; done`,
    '    else',
    '    __ss_o=$(find "$@" -prune -newer "$a")',
    ...eachLine('__ss_o', `[ -n "$__ss_l" ] && printf 'Newer=%s\\n' "$__ss_l"`),
    '    fi',
    '  fi',
    'fi',
  ].join('\n');
}

/** stat's time of autosave.json: seconds since the epoch (rendered in UTC, as `stat -c %y` would on a UTC host), or `%y` itself */
function loadedTime(v: string): string {
  if (!/^\d+$/.test(v)) return v.replace(/\.\d+/, '');
  return `${new Date(Number(v) * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}

export function parseCaddyLoaded(out: string): CaddyLoaded {
  const r: CaddyLoaded = { newer: [], sha256: {} };
  for (const line of out.split('\n')) {
    const m = /^([A-Za-z0-9]+)=(.*)$/.exec(line);
    if (!m) continue;
    const [, k, v] = m;
    if (k === 'LoadState') r.loadState = v;
    else if (k === 'ActiveState') r.activeState = v;
    else if (k === 'MainPID') r.mainPid = Number(v) || undefined;
    else if (k === 'Autosave') r.autosave = v;
    else if (k === 'LoadedAt') r.loadedAt = loadedTime(v);
    else if (k === 'Newer') r.newer.push(v);
    else if (k === 'Sha256') {
      const [hash, ...path] = v.split(' ');
      r.sha256[path.join(' ')] = hash;
    }
  }
  return r;
}

/**
 * The Caddyfile, rendered from the role's variables by a pure function. Values pass through
 * `caddyToken`, which quotes them the way Caddy's lexer reads them back unchanged; Caddy's runtime
 * placeholders ({http.request.host}, {uri}) keep working inside values, as in Caddy's own docs.
 */

export interface Site {
  domain: string;
  /** reverse proxy target, e.g. localhost:8000 */
  upstream?: string;
  /** static files from this directory */
  root?: string;
  /** a fixed response body */
  respond?: string;
  /** response headers; a name starting with "-" removes that header */
  headers?: Record<string, string>;
  /** also serve the www. variant (or the bare name, for a www. domain) as a permanent redirect to `domain` */
  redirect_www?: boolean;
}

export interface CaddyfileInput {
  email?: string;
  /** ACME directory URL; unset = Caddy's default CAs (Let's Encrypt, then ZeroSSL) */
  acmeCa?: string;
  /** path ON THE HOST of the CA certificate that signs the ACME server's own TLS certificate */
  acmeCaRoot?: string;
  sites: Site[];
}

export const HEADER = '# managed by shipshape (caddy role): edits here are undone by the next apply\n';

/**
 * One Caddyfile token holding exactly `value`. Bare when nothing in it means something to the lexer;
 * else double quotes (only \" is an escape inside them); a value with a backslash goes in backticks
 * (no escapes at all inside), since Caddy's double quotes cannot hold a backslash before a quote.
 * `{$` is refused: Caddy substitutes environment variables there when it loads the file, quotes or not.
 */
export function caddyToken(value: string): string {
  if (value.includes('{$')) throw new Error(`"${value}": {$ cannot appear in a Caddyfile value (Caddy reads {$NAME} as an environment variable when it loads the file)`);
  if (value !== '' && /^[^\s"`{}\\#]+$/.test(value)) return value;
  if (!value.includes('\\')) return `"${value.replace(/"/g, '\\"')}"`;
  if (!value.includes('`')) return `\`${value}\``;
  throw new Error(`"${value}": a Caddyfile value cannot hold both a backslash and a backtick`);
}

/** www.example.com <-> example.com */
export function wwwVariant(domain: string): string {
  return domain.startsWith('www.') ? domain.slice(4) : `www.${domain}`;
}

/** Every name Caddy will get a certificate for, in Caddyfile order. */
export function certificateDomains(sites: Site[]): string[] {
  return sites.flatMap((s) => (s.redirect_www ? [s.domain, wwwVariant(s.domain)] : [s.domain]));
}

export function renderCaddyfile(c: CaddyfileInput): string {
  const globals = [
    ...(c.email ? [`email ${caddyToken(c.email)}`] : []),
    ...(c.acmeCa ? [`acme_ca ${caddyToken(c.acmeCa)}`] : []),
    ...(c.acmeCaRoot ? [`acme_ca_root ${caddyToken(c.acmeCaRoot)}`] : []),
  ];
  const blocks = [
    ...(globals.length ? [block('', globals)] : []),
    ...c.sites.flatMap((s) => [
      block(s.domain, siteLines(s)),
      // after its site, so a reader sees where the redirect goes; {uri} keeps path and query
      ...(s.redirect_www ? [block(wwwVariant(s.domain), [`redir https://${s.domain}{uri} permanent`])] : []),
    ]),
  ];
  return HEADER + blocks.join('\n');
}

function siteLines(s: Site): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(s.headers ?? {})) {
    lines.push(name.startsWith('-') ? `header ${name}` : `header ${name} ${caddyToken(value)}`);
  }
  if (s.upstream !== undefined) lines.push(`reverse_proxy ${caddyToken(s.upstream)}`);
  else if (s.root !== undefined) lines.push(`root * ${caddyToken(s.root)}`, 'file_server');
  else if (s.respond !== undefined) lines.push(`respond ${caddyToken(s.respond)}`);
  return lines;
}

/** Tabs and layout as `caddy fmt` writes them, so `caddy validate` has nothing to warn about. */
function block(address: string, lines: string[]): string {
  // a quoted value may span lines: only its first line is indented, the rest is part of the token
  return `${address ? `${address} ` : ''}{\n${lines.map((l) => `\t${l}`).join('\n')}\n}\n`;
}

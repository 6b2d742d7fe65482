import { probe } from '../core/probe.js';
import { iptablesDump } from './iptables.js';
import { dumpAsTail, fileDump, splitFileDump } from './dump.js';

export interface UfwState {
  installed: boolean;
  active: boolean;
  /** policies as ufw's commands name them: deny | allow | reject */
  defaults: { incoming?: string; outgoing?: string; routed?: string };
  ipv6: boolean;
  /** rules in ufw's own command form, as `ufw show added` prints them: "allow 22/tcp" */
  rules: string[];
  /**
   * the same rules as ufw's files hold them, one per file they are in (user.rules, and user6.rules while IPv6
   * is on): what a rule lets in, per address family, without parsing the command form back. Empty when the
   * state was read from `ufw show added`'s output (recordings made before the files were read).
   */
  tuples: UfwTuple[];
}

/** One `### tuple ###` line of ufw's rule files (ufw's parser.py): the fields of the rule it stands for. */
export interface UfwTuple {
  /** 4 for user.rules, 6 for user6.rules */
  family: 4 | 6;
  /** a routed rule (`ufw route ...`): it filters forwarded traffic, not the host's own */
  route: boolean;
  /** allow | deny | reject | limit */
  action: string;
  /** '' | log | log-all */
  log: string;
  /** tcp | udp | any | ... */
  proto: string;
  /** a port, a list and ranges ("80,443", "6000:6007"), or any */
  dport: string;
  dst: string;
  sport: string;
  src: string;
  /** application profiles ('' for none): the ports above are the profile's */
  dapp: string;
  sapp: string;
  direction: string;
  ifIn: string;
  ifOut: string;
  comment: string;
}

const POLICY: Record<string, string> = { DROP: 'deny', ACCEPT: 'allow', REJECT: 'reject' };

const FILES = ['/etc/default/ufw', '/etc/ufw/user.rules', '/etc/ufw/user6.rules'];

/**
 * ufw's state without ufw's Python CLI (two interpreter starts): `ufw status` says active exactly when
 * its chains are loaded in the kernel (it lists ufw-user-input, -output and -forward), read here from one
 * `iptables -S`; `ufw show added` prints the `### tuple ###` lines of its rule files, rendered below as
 * ufw renders them. The files work before ufw is enabled, as `ufw show added` does.
 */
export const ufwState = probe<UfwState>(
  'ufw:state',
  [
    'if command -v ufw >/dev/null; then',
    '  echo installed',
    '  __ss_s=$(iptables -w -S 2>/dev/null) || __ss_s=',
    '  __ss_a=active',
    '  for __ss_c in input output forward; do case $__ss_s in *"-N ufw-user-$__ss_c"*) ;; *) __ss_a=inactive;; esac; done',
    '  echo "Status: $__ss_a"',
    `  tail -v -n +1 -- ${FILES.join(' ')} 2>/dev/null; echo`,
    'fi',
  ].join('\n'),
  parseUfw,
  {
    inline: true,
    compose: {
      // the IPv4 table Docker's chains are read from too, and ufw's files from the play's one file dump
      parts: [probe('ufw:installed', 'command -v ufw >/dev/null && echo installed', (out) => out, { inline: true }), iptablesDump('iptables'), fileDump(FILES)],
      join: ([installed, table, dump]) => {
        if (installed.stdout !== 'installed\n') return { stdout: '', code: 0 };
        const rules = table.code === 0 ? table.stdout : '';
        const active = ['input', 'output', 'forward'].every((c) => rules.includes(`-N ufw-user-${c}`));
        const files = dumpAsTail(dump.stdout);
        return { stdout: `installed\nStatus: ${active ? 'active' : 'inactive'}\n${files || '\n'}`, code: 0 };
      },
    },
  },
);

export function parseUfw(out: string): UfwState {
  const lines = out.split('\n');
  if (lines[0] !== 'installed') return { installed: false, active: false, defaults: {}, ipv6: true, rules: [], tuples: [] };
  // ufw's files as tail printed them; the marker only in recordings of `ufw show added`'s output
  const files = lines.includes('--rules--') ? undefined : splitFileDump(out);
  const kv: Record<string, string> = {};
  const settings = files ? (files.find((f) => f.path === '/etc/default/ufw')?.content ?? '').split('\n') : lines;
  for (const l of settings) {
    const m = /^([A-Z_0-9]+)="?([^"]*)"?$/.exec(l);
    if (m) kv[m[1]] = m[2];
  }
  const ipv6 = kv.IPV6 !== 'no';
  let rules: string[];
  let tuples: UfwTuple[] = [];
  if (files) {
    // ufw reads user6.rules only while IPv6 is on; a rule in both files is shown once
    const of = (path: string, family: 4 | 6) =>
      (files.find((f) => f.path === path)?.content ?? '')
        .split('\n')
        .filter((l) => l.startsWith('### tuple ###'))
        .map((l) => parseTuple(l, family))
        .filter((t): t is UfwTuple => t !== undefined);
    tuples = [...of('/etc/ufw/user.rules', 4), ...(ipv6 ? of('/etc/ufw/user6.rules', 6) : [])];
    rules = [...new Set(tuples.map(renderTuple))];
  } else {
    // the output of `ufw show added` (recorded before ufw's files were read directly)
    const at = lines.indexOf('--rules--');
    rules = lines
      .slice(at + 1)
      .filter((l) => l.startsWith('ufw '))
      .map((l) => l.slice(4).trim());
  }
  return {
    installed: true,
    active: /^Status: active/.test(lines[1] ?? ''),
    defaults: {
      incoming: POLICY[kv.DEFAULT_INPUT_POLICY],
      outgoing: POLICY[kv.DEFAULT_OUTPUT_POLICY],
      routed: POLICY[kv.DEFAULT_FORWARD_POLICY],
    },
    ipv6,
    rules,
    tuples,
  };
}

/** Does the rule's protocol and destination port cover `port`/`proto` (a port list, ranges, any)? */
export function coversPort(t: UfwTuple, port: number, proto: 'tcp' | 'udp'): boolean {
  if (t.proto !== 'any' && t.proto !== proto) return false;
  if (t.dport === 'any') return true;
  return t.dport.split(',').some((spec) => {
    const [lo, hi = lo] = spec.split(':').map(Number);
    return port >= lo && port <= hi;
  });
}

/**
 * One `### tuple ###` line of a rule file, read as ufw's parser.py reads it:
 * `ACTION[_LOG] PROTO DPORT DST SPORT SRC [DAPP SAPP] [DIRECTION[_IFACE]] [comment=HEX]`, `route:` before the
 * action for routed rules. undefined for a line ufw itself would skip as malformed.
 */
export function parseTuple(line: string, family: 4 | 6): UfwTuple | undefined {
  let t = line.replace(/^### tuple ###\s*/, '').trim();
  let comment = '';
  const c = / comment=([0-9a-fA-F]*)$/.exec(t);
  if (c) {
    comment = Buffer.from(c[1], 'hex').toString('utf8');
    t = t.slice(0, c.index);
  }
  const f = t.split(/\s+/);
  if (f.length < 6 || f.length > 9) return undefined;
  let direction = 'in';
  let ifIn = '';
  let ifOut = '';
  if (f.length === 7 || f.length === 9) {
    for (const part of f[f.length - 1].split('!')) {
      const u = part.indexOf('_');
      const d = u < 0 ? part : part.slice(0, u);
      const iface = u < 0 ? '' : part.slice(u + 1);
      direction = d;
      if (iface && d === 'in') ifIn = iface;
      if (iface && d === 'out') ifOut = iface;
    }
  }
  let action = f[0];
  const route = action.includes(':');
  if (route) action = action.slice(action.indexOf(':') + 1);
  const u = action.indexOf('_');
  const log = u < 0 ? '' : action.slice(u + 1);
  if (u >= 0) action = action.slice(0, u);
  const [, proto, dport, dst, sport, src] = f;
  const app = (v: string | undefined) => (v === undefined || v === '-' ? '' : v.replace(/%20/g, ' '));
  const dapp = f.length >= 8 ? app(f[6]) : '';
  const sapp = f.length >= 8 ? app(f[7]) : '';
  return { family, route, action, log, proto, dport, dst, sport, src, dapp, sapp, direction, ifIn, ifOut, comment };
}

/** A rule as `ufw show added` prints it (ufw's parser.py, get_command). */
export function renderTuple(r: UfwTuple): string {
  const { proto, dport, dst, sport, src, dapp, sapp, direction, ifIn, ifOut, log, comment } = r;
  const anyAddr = (a: string) => a === '0.0.0.0/0' || a === '::/0';
  const appWord = (a: string) => (a.includes(' ') ? `'${a}'` : a);
  let res = r.action;
  if (anyAddr(dst) && anyAddr(src) && sport === 'any' && sapp === '' && ifIn === '' && ifOut === '' && dport !== 'any') {
    if (direction === 'out') res += ` ${direction}`;
    if (log) res += ` ${log}`;
    if (dapp) res += ` ${appWord(dapp)}`;
    else res += ` ${dport}${proto !== 'any' ? `/${proto}` : ''}`;
  } else {
    if (ifIn) res += ` in on ${ifIn}`;
    if (ifOut) res += ` out on ${ifOut}`;
    else if (direction === 'out') res += ` ${direction}`;
    if (log) res += ` ${log}`;
    for (const [word, loc0, port, a] of [
      ['from', src, sport, sapp],
      ['to', dst, dport, dapp],
    ] as const) {
      const loc = anyAddr(loc0) ? 'any' : loc0;
      if (loc !== 'any' || port !== 'any' || a !== '') {
        res += ` ${word} ${loc}`;
        if (a) res += ` app ${appWord(a)}`;
        else if (port !== 'any') res += ` port ${port}`;
      }
    }
    if (!res.includes(' to ') && !res.includes(' from ') && ifIn === '' && ifOut === '') res += ' to any';
    if (proto !== 'any' && dapp === '' && sapp === '') res += ` proto ${proto}`;
  }
  if (comment) res += ` comment '${comment}'`;
  return r.route ? `route ${res}` : res;
}

/**
 * The ports of ufw's application profiles (/etc/ufw/applications.d, INI files: `[OpenSSH]`, `ports=22/tcp`;
 * several parts joined by `|`, each a port list with or without a protocol): what `ufw allow NAME` opens.
 */
export const ufwApps = probe<Record<string, string>>('ufw:apps', 'cat /etc/ufw/applications.d/* 2>/dev/null', parseUfwApps);

export function parseUfwApps(out: string): Record<string, string> {
  const apps: Record<string, string> = {};
  let name: string | undefined;
  for (const line of out.split('\n')) {
    const head = /^\s*\[(.+)\]\s*$/.exec(line);
    if (head) name = head[1];
    const ports = /^\s*ports\s*=\s*(\S+)\s*$/.exec(line);
    if (ports && name !== undefined) apps[name] = ports[1];
  }
  return apps;
}

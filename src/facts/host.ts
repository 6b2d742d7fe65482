import type { ClientRoute, HostInfo } from '../core/module.js';
import { probe } from '../core/probe.js';

/** What kind of host this is; gathered once per host with the first batch of a run. */
export const hostInfo = probe<HostInfo>(
  'host:info',
  [
    'v=$(systemd-detect-virt --container 2>/dev/null) || v=none',
    'echo "container=$v"',
    '. /etc/os-release 2>/dev/null',
    'echo "id=$ID"; echo "version=$VERSION_ID"; echo "codename=$VERSION_CODENAME"',
    // every $(...) holds one external command (dash runs it in the substitution's own fork): no pipes, no sed
    'a=$(dpkg --print-architecture 2>/dev/null) || a=$(uname -m)',
    'echo "arch=$a"',
    // set by sshd for the login shell; the transport carries it through sudo
    'echo "client=${SSH_CONNECTION%% *}"',
    // and how this host reaches it: a bridge about to be created must not swallow that route
    'c=${SSH_CONNECTION%% *}',
    "nl='",
    "'",
    'if [ -n "$c" ] && command -v ip >/dev/null 2>&1; then',
    // the first line only (a second one may follow: "    cache")
    '  r=$(ip route get "$c" 2>/dev/null); r=${r%%"$nl"*}; echo "route=$r"',
    // the word after the last " dev "
    '  case $r in *" dev "*) d=${r##* dev }; d=${d%% *} ;; *) d= ;; esac',
    '  if [ -n "$d" ]; then',
    '    o=$(ip -o addr show dev "$d" 2>/dev/null)',
    '    [ -z "$o" ] || while IFS= read -r l; do printf \'addr=%s\\n\' "$l"; done <<__SS_ADDR__',
    '$o',
    '__SS_ADDR__',
    '  fi',
    'fi',
  ].join('\n'),
  (out) => {
    const lines = out.split('\n').filter((l) => l.includes('='));
    const kv = Object.fromEntries(lines.filter((l) => !l.startsWith('addr=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const route = kv.route ? parseClientRoute(kv.route, lines.filter((l) => l.startsWith('addr=')).map((l) => l.slice(5))) : undefined;
    return {
      container: kv.container || 'none',
      osId: kv.id ?? '',
      osVersion: kv.version ?? '',
      osCodename: kv.codename ?? '',
      arch: kv.arch ?? '',
      ...(kv.client ? { client: kv.client } : {}),
      ...(route ? { clientRoute: route } : {}),
    };
  },
);

/**
 * `ip route get ADDR` (first line: `1.2.3.4 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0`) and the
 * `ip -o addr show dev DEV` lines of the interface it names (`2: eth0    inet 10.0.0.5/24 brd ...`).
 */
export function parseClientRoute(route: string, addrLines: string[]): ClientRoute | undefined {
  const words = route.trim().split(/\s+/);
  const after = (k: string) => {
    const i = words.indexOf(k);
    return i >= 0 && words[i + 1] ? words[i + 1] : undefined;
  };
  if (!words[0]) return undefined;
  const via = after('via');
  const dev = after('dev');
  const src = after('src');
  const nets = addrLines.flatMap((l) => /\sinet6?\s+(\S+\/\d+)/.exec(l)?.slice(1) ?? []);
  return { ...(via ? { via } : {}), ...(dev ? { dev } : {}), ...(src ? { src } : {}), nets };
}

import type { ClientRoute, HostInfo } from '../core/module.js';
import { probe } from '../core/probe.js';

/**
 * `systemd-detect-virt --container` without starting it: systemd's own detect_container() (src/basic/virt.c,
 * systemd 252 to 257: Debian 12 and 13), in its order, with builtins. Sets $v to what the tool prints:
 * - OpenVZ: /proc/vz without /proc/bc ("openvz"); WSL: Microsoft or WSL in the kernel release ("wsl");
 *   proot: our tracer's name starts with proot ("proot");
 * - the manager's name from /run/host/container-manager, else from /run/systemd/container (PID 1 systemd
 *   writes its $container there: the lab's nspawn hosts say "systemd-nspawn", LXC "lxc", Docker "docker");
 *   a name systemd does not know is "container-other", "oci" is judged by the files below;
 * - /run/.containerenv ("podman"), /.dockerenv ("docker"); a cgroup namespace ("container-other");
 * - otherwise "none".
 * Only a PID 1 that is not systemd (no /run/systemd/system) hides $container in /proc/1/environ, which
 * builtins cannot read (NUL-separated): there the tool itself runs.
 */
export const CONTAINER = [
  'v=',
  'if [ -e /proc/vz ] && [ ! -e /proc/bc ]; then v=openvz; fi',
  'if [ -z "$v" ]; then',
  '  o=; read -r o 2>/dev/null < /proc/sys/kernel/osrelease',
  '  case $o in *Microsoft*) v=wsl ;; *WSL*) v=wsl ;; esac',
  'fi',
  'if [ -z "$v" ]; then',
  '  t=0; while read -r k x; do [ "$k" = TracerPid: ] && { t=$x; break; }; done 2>/dev/null < /proc/self/status',
  '  if [ "$t" != 0 ]; then o=; read -r o 2>/dev/null < "/proc/$t/comm"; case $o in proot*) v=proot ;; esac; fi',
  'fi',
  'm=',
  'if [ -z "$v" ]; then',
  '  read -r m 2>/dev/null < /run/host/container-manager || [ -n "$m" ] || read -r m 2>/dev/null < /run/systemd/container || :',
  '  if [ -z "$m" ] && [ ! -d /run/systemd/system ]; then v=$(systemd-detect-virt --container 2>/dev/null) || v=none; fi',
  'fi',
  'if [ -n "$m" ] && [ "$m" != oci ]; then',
  '  v=container-other',
  '  for k in lxc lxc-libvirt systemd-nspawn docker podman rkt wsl proot pouch; do [ "$m" = "$k" ] && v=$m; done',
  'fi',
  'if [ -z "$v" ]; then',
  '  if [ -e /run/.containerenv ]; then v=podman',
  '  elif [ -e /.dockerenv ]; then v=docker',
  "  elif [ \"$m\" = oci ]; then v=container-other",
  // systemd's running_in_cgroupns(): cgroup v2 has cgroup.events only below the root cgroup
  '  elif [ -e /proc/self/ns/cgroup ]; then',
  '    if [ -e /sys/fs/cgroup/cgroup.controllers ]; then',
  '      [ -e /sys/fs/cgroup/cgroup.events ] && { [ -e /sys/fs/cgroup/cgroup.type ] || [ ! -e /sys/kernel/cgroup/features ]; } && v=container-other',
  '    elif [ -e /sys/fs/cgroup/systemd ] && [ ! -e /sys/fs/cgroup/systemd/release_agent ]; then v=container-other',
  '    fi',
  '  fi',
  'fi',
  ': "${v:=none}"',
].join('\n');

/**
 * `dpkg --print-architecture` without starting it: libc6 is Multi-Arch: same and always installed, so its
 * dpkg file list carries the native architecture in its name (libc6:amd64.list). With a foreign libc6 as
 * well (two lists), or none found, dpkg itself answers; without dpkg, the kernel's machine name.
 */
export const ARCH = [
  'a=',
  'for f in /var/lib/dpkg/info/libc6:*.list; do [ -e "$f" ] || break; [ -z "$a" ] || { a=; break; }; a=${f##*/libc6:}; a=${a%.list}; done',
  '[ -n "$a" ] || a=$(dpkg --print-architecture 2>/dev/null) || a=$(uname -m)',
].join('\n');

/** Marks the start of host info's `ip -o addr show` lines (the end of its text). */
const IP = '@@ip';

/** The `ip -o addr show` lines host info printed (empty when the host has no ip). */
export function addressLines(hostInfoText: string): string[] {
  const at = hostInfoText.indexOf(`\n${IP}\n`);
  return at < 0 ? [] : hostInfoText.slice(at + IP.length + 2).split('\n').filter(Boolean);
}

/** The word after the last " dev " of a route line ('' when none), as the device is named in ip's lines. */
function routeDevice(route: string): string {
  return / dev /.test(route) ? route.slice(route.lastIndexOf(' dev ') + 5).split(' ')[0] : '';
}

/** The lines of one device (`2: eth0    inet ...`: the word after the index), as `ip -o addr show dev D` prints them. */
function deviceLines(lines: string[], dev: string): string[] {
  return dev ? lines.filter((l) => (l.includes(': ') ? l.slice(l.indexOf(': ') + 2) : l).split(' ')[0] === dev) : [];
}

/** What kind of host this is; gathered once per host with the first batch of a run. */
export const hostInfo = probe<HostInfo>(
  'host:info',
  [
    CONTAINER,
    'echo "container=$v"',
    // os-release's three fields as their lines say them (unquoted by the parser): sourcing the file would need a
    // subshell (a missing file ends the shell that sources it, and it may set any variable)
    "while IFS= read -r l || [ -n \"$l\" ]; do case $l in ID=*|VERSION_ID=*|VERSION_CODENAME=*) printf 'os-%s\\n' \"$l\";; esac; l=; done 2>/dev/null </etc/os-release",
    // every $(...) holds one external command (dash runs it in the substitution's own fork): no pipes, no sed
    ARCH,
    'echo "arch=$a"',
    // set by sshd for the login shell; the transport carries it through sudo
    'echo "client=${SSH_CONNECTION%% *}"',
    // and the host's own address it connected to (the third field): a firewall rule may be narrowed to it
    's=${SSH_CONNECTION#* * }; echo "server=${s%% *}"',
    // and how this host reaches it: a bridge about to be created must not swallow that route
    'c=${SSH_CONNECTION%% *}',
    "nl='",
    "'",
    // an address has no blank or newline: it goes into ip's batch below
    'case $c in *[!0-9A-Za-z.:%_-]*) c= ;; esac',
    'if command -v ip >/dev/null 2>&1; then',
    '  if [ -n "$c" ]; then',
    // one ip for both questions: the route, then every address (-o: a line each). A route that fails ends
    // the batch: the addresses are then asked alone (the route stays what ip printed: nothing)
    '    o=$(ip -o -batch - 2>/dev/null <<__SS_IP__',
    'route get $c',
    'addr show',
    '__SS_IP__',
    ') || o="$o$nl$(ip -o addr show 2>/dev/null)"',
    // the route's first line only: -o joins its "cache" line to it after a backslash
    '    r=${o%%"$nl"*}; r=${r%%\\\\*}; echo "route=$r"',
    '    case $o in *"$nl"*) o=${o#*"$nl"} ;; *) o= ;; esac',
    '  else',
    '    o=$(ip -o addr show 2>/dev/null)',
    '  fi',
    // every address, as `ip -o addr show` prints them: the route device's for the route, the global ones
    // for Caddy's domain check (domainResolution), which so runs no ip of its own
    `  printf '${IP}\\n%s\\n' "$o"`,
    'fi',
  ].join('\n'),
  (out) => {
    const at = out.indexOf(`\n${IP}\n`);
    const lines = (at < 0 ? out : out.slice(0, at)).split('\n').filter((l) => l.includes('='));
    const kv = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const route = kv.route ? parseClientRoute(kv.route, deviceLines(addressLines(out), routeDevice(kv.route))) : undefined;
    return {
      container: kv.container || 'none',
      osId: osValue(kv['os-ID']),
      osVersion: osValue(kv['os-VERSION_ID']),
      osCodename: osValue(kv['os-VERSION_CODENAME']),
      arch: kv.arch ?? '',
      ...(kv.client ? { client: kv.client } : {}),
      ...(kv.server ? { server: kv.server } : {}),
      ...(route ? { clientRoute: route } : {}),
    };
  },
  // in the batch's own shell: it never exits or cds, and sets each of its variables before it reads it
  { inline: true },
);

/**
 * An os-release value as the shell that sources the file reads it (os-release(5): shell-compatible quoting, no
 * expansions): "double quoted" with \\ \" \$ \` escapes, 'single quoted', or a plain word.
 */
export function osValue(raw: string | undefined): string {
  if (raw === undefined) return '';
  const v = raw.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\([\\"$`])/g, '$1');
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  return v.replace(/\\(.)/g, '$1');
}

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

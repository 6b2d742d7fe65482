import type { HostInfo } from '../core/module.js';
import { probe } from '../core/probe.js';

/** What kind of host this is; gathered once per host with the first batch of a run. */
export const hostInfo = probe<HostInfo>(
  'host:info',
  [
    'v=$(systemd-detect-virt --container 2>/dev/null) || v=none',
    'echo "container=$v"',
    '. /etc/os-release 2>/dev/null',
    'echo "id=$ID"; echo "version=$VERSION_ID"; echo "codename=$VERSION_CODENAME"',
    'echo "arch=$(dpkg --print-architecture 2>/dev/null || uname -m)"',
    // set by sshd for the login shell; the transport carries it through sudo
    'echo "client=${SSH_CONNECTION%% *}"',
  ].join('\n'),
  (out) => {
    const kv = Object.fromEntries(
      out
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return {
      container: kv.container || 'none',
      osId: kv.id ?? '',
      osVersion: kv.version ?? '',
      osCodename: kv.codename ?? '',
      arch: kv.arch ?? '',
      ...(kv.client ? { client: kv.client } : {}),
    };
  },
);

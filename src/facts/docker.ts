import { probe } from '../core/probe.js';
import { fileDump, parseSizedDump } from './dump.js';
import { iptablesDump } from './iptables.js';

/**
 * The live rules of one filter chain, IPv4 and IPv6, as `iptables -S` prints them (`-A CHAIN ...`
 * lines; the `-N` line dropped). undefined: the chain does not exist, or that iptables is missing.
 * The whole table is listed and filtered, because iptables-nft answers a missing chain with a
 * misleading "chain ... is incompatible, use 'nft' tool".
 */
export interface ChainRules {
  v4?: string[];
  v6?: string[];
}

export function chainRules(chain: string) {
  if (!/^[A-Za-z0-9_-]+$/.test(chain)) throw new Error(`not an iptables chain name: ${chain}`);
  // the whole table, filtered by the parser: no grep process per family
  const list = (cmd: string, tag: string) => `if command -v ${cmd} >/dev/null && __ss_s=$(${cmd} -w -S 2>/dev/null); then echo '${tag}'; printf '%s\\n' "$__ss_s"; fi`;
  const family = (a: { stdout: string; code: number }, tag: string) => (a.code === 0 ? `${tag}\n${a.stdout.replace(/\n+$/, '')}\n` : '');
  return probe<ChainRules>(`iptables-chain:${chain}`, [list('iptables', '--ipv4--'), list('ip6tables', '--ipv6--')].join('\n'), (out) => parseChainRules(out, chain), {
    inline: true,
    compose: {
      parts: [iptablesDump('iptables'), iptablesDump('ip6tables')],
      join: ([v4, v6]) => ({ stdout: family(v4, '--ipv4--') + family(v6, '--ipv6--'), code: 0 }),
    },
  });
}

export function parseChainRules(out: string, chain: string): ChainRules {
  const result: ChainRules = {};
  let family: 'v4' | 'v6' | undefined;
  for (const line of out.split('\n')) {
    if (line === '--ipv4--' || line === '--ipv6--') {
      family = line === '--ipv4--' ? 'v4' : 'v6';
      continue;
    }
    if (!family) continue;
    if (line === `-N ${chain}`) result[family] = result[family] ?? [];
    else if (line.startsWith(`-A ${chain} `)) (result[family] = result[family] ?? []).push(line.trimEnd());
  }
  return result;
}

/** What the running Docker daemon uses (docker info), beside the daemon.json on disk. */
export interface DockerDaemon {
  /** the daemon answered */
  running: boolean;
  /** docker info fields: LoggingDriver, Driver (storage), LiveRestoreEnabled, Debug */
  info: Record<string, string>;
  /** daemon.json as it is on disk; undefined when missing */
  file?: string;
}

const INFO_FIELDS = ['LoggingDriver', 'Driver', 'LiveRestoreEnabled', 'Debug'];
const FILE_MARK = '==daemon.json==';

/** dockerd's /info, from its socket or the docker CLI */
const INFO = `if [ -S /run/docker.sock ] && command -v curl >/dev/null; then curl -sf --max-time 10 --unix-socket /run/docker.sock http://127.0.0.1/info; elif command -v docker >/dev/null; then docker info --format '{{json .}}' 2>/dev/null; fi`;

/**
 * The daemon's own answer (GET /info): straight from its socket with curl (one process; the docker CLI
 * starts a dozen threads), through the docker CLI where curl or the socket is missing. Both give the
 * daemon's fields at the top level.
 */
export const dockerDaemon = probe<DockerDaemon>(
  'docker:daemon',
  [INFO, 'echo', `if [ -f /etc/docker/daemon.json ]; then echo '${FILE_MARK}'; cat /etc/docker/daemon.json; fi`].join('\n'),
  parseDockerDaemon,
  {
    inline: true,
    compose: {
      // dockerd's /info waits on the daemon (about 10 ms); daemon.json from the play's one file dump
      parts: [probe('docker:info', INFO, (out) => out, { inline: true, cost: 10 }), fileDump(['/etc/docker/daemon.json'])],
      join: ([info, dump]) => {
        const [file] = parseSizedDump(dump.stdout);
        return { stdout: `${info.stdout}\n${file ? `${FILE_MARK}\n${file.content}` : ''}`, code: 0 };
      },
    },
  },
);

export function parseDockerDaemon(out: string): DockerDaemon {
  const at = out.indexOf(FILE_MARK);
  const head = (at < 0 ? out : out.slice(0, at)).trim();
  const info: Record<string, string> = {};
  let parsed: Record<string, unknown> = {};
  try {
    parsed = head ? JSON.parse(head) : {};
  } catch {
    parsed = {};
  }
  for (const f of INFO_FIELDS) if (parsed[f] !== undefined && parsed[f] !== null) info[f] = String(parsed[f]);
  return { running: Object.keys(info).length > 0, info, ...(at < 0 ? {} : { file: out.slice(at + FILE_MARK.length + 1) }) };
}

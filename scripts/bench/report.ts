// The bench's output: one markdown table per host count, shipshape beside Ansible, and verdict lines.
import type { Summary } from './measure.js';
import type { ToolResult } from './tools.js';

export interface Reference {
  /** `shipshape --version`: Node start and loading the CLI, no host contacted */
  cliStartS: number;
  /** one OpenSSH login as deploy running `sudo -n true` (no connection sharing) */
  sshLoginSudoS: number;
}

export interface Round {
  hosts: string[];
  loadavgBefore: number[];
  shipshape: ToolResult;
  ansible?: ToolResult;
  reference?: Reference;
}

const secs = (s: number) => (Number.isNaN(s) ? '–' : s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`);
const mb = (kb: number) => (Number.isNaN(kb) || kb === 0 ? '–' : `${Math.round(kb / 1024)} MB`);
const ratio = (a: number, b: number) => (a > 0 && b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(a / b < 10 ? 2 : 1)}×` : '–');

export function roundTable(r: Round, repeat: number): string {
  const s = r.shipshape.summary;
  const a = r.ansible?.summary;
  const rows: [string, (x: Summary) => number, (n: number) => string][] = [
    ['wall', (x) => x.wallS, secs],
    ['controller CPU', (x) => x.cpuS, secs],
    ['peak RSS, largest process', (x) => x.maxRssKb, mb],
    ['peak RSS, all controller processes summed', (x) => x.peakRssSumKb, mb],
  ];
  const phases: [string, keyof ToolResult['summary']][] = [
    ['first run', 'first'],
    [`no-op re-run (median of ${repeat})`, 'noop'],
    [`check (median of ${repeat})`, 'check'],
  ];
  const lines = [
    `| ${r.hosts.length} host${r.hosts.length > 1 ? 's' : ''} (${r.hosts[0]}${r.hosts.length > 1 ? `..${r.hosts.at(-1)}` : ''}) | shipshape |${a ? ' Ansible | Ansible ÷ shipshape |' : ''}`,
    `| --- | ---: |${a ? ' ---: | ---: |' : ''}`,
  ];
  for (const [phase, key] of phases) {
    for (const [metric, get, fmt] of rows) {
      const sv = get(s[key]);
      const cells = a ? ` ${fmt(get(a[key]))} | ${ratio(get(a[key]), sv)} |` : '';
      lines.push(`| ${phase}: ${metric} | ${fmt(sv)} |${cells}`);
    }
  }
  return lines.join('\n');
}

export function verdictLines(r: Round): string[] {
  const n = `${r.hosts.length} host${r.hosts.length > 1 ? 's' : ''}`;
  const s = r.shipshape.summary;
  const a = r.ansible?.summary;
  const out: string[] = [];
  if (a) {
    out.push(`${n}: no-op re-run ${secs(s.noop.wallS)} vs Ansible ${secs(a.noop.wallS)}: shipshape ${ratio(a.noop.wallS, s.noop.wallS)} faster`);
    out.push(
      `${n}: first run ${secs(s.first.wallS)} vs Ansible ${secs(a.first.wallS)}: ratio ${(s.first.wallS / a.first.wallS).toFixed(2)} (shipshape ${ratio(a.first.wallS, s.first.wallS)} faster)`,
    );
    out.push(
      `${n}: peak RSS (first run) ${mb(s.first.maxRssKb)} vs Ansible ${mb(a.first.maxRssKb)} for the largest process; ` +
        `${mb(s.first.peakRssSumKb)} vs ${mb(a.first.peakRssSumKb)} for all controller processes summed`,
    );
  } else {
    out.push(`${n}: shipshape first run ${secs(s.first.wallS)}, no-op ${secs(s.noop.wallS)}, check ${secs(s.check.wallS)}, peak RSS ${mb(s.first.maxRssKb)} (Ansible skipped)`);
  }
  if (r.reference && r.hosts.length === 1) {
    const rest = s.noop.wallS - r.reference.cliStartS - r.reference.sshLoginSudoS;
    out.push(
      `${n}: shipshape no-op ${secs(s.noop.wallS)} ≈ CLI start ${secs(r.reference.cliStartS)} + one OpenSSH login with sudo ${secs(r.reference.sshLoginSudoS)}` +
        ` + ${secs(Math.max(0, rest))} for reading the facts and everything else`,
    );
  }
  return out;
}

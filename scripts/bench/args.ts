// Command line of `npm run bench`. The bench owns lab hosts h30..h49 only: other lab users (the e2e
// tests, the demo) work on lower numbers at the same time, and the bench must never touch their hosts.

export const FIRST_HOST = 30;
export const LAST_HOST = 49;
export const MAX_HOSTS = LAST_HOST - FIRST_HOST + 1;

export interface BenchArgs {
  /** one round per count: 1 means h30, 5 means h30..h34 */
  hostCounts: number[];
  skipAnsible: boolean;
  /** runs of each no-op and check measurement; the median is reported */
  repeat: number;
  /** leave the bench's hosts running afterwards (for a look at them) */
  keepHosts: boolean;
}

export const USAGE = `usage: npm run bench -- [--hosts 1,5] [--skip-ansible] [--repeat 3] [--keep-hosts]

Side-by-side benchmark of shipshape and Ansible doing playbooks/site.yml's work on fresh lab hosts
h${FIRST_HOST}..h${LAST_HOST}: first run, no-op re-run and check (medians of --repeat runs), wall time,
controller CPU time and memory. Results: a markdown table on stdout, JSON under <lab dir>/bench/.

  --hosts LIST     host counts, one round each (default 1,5; at most ${MAX_HOSTS})
  --skip-ansible   shipshape only
  --repeat N       runs per no-op and check measurement (default 3)
  --keep-hosts     leave the hosts running at the end (default: stop them)`;

export class UsageError extends Error {}

export function parseArgs(argv: string[]): BenchArgs | 'help' {
  const args: BenchArgs = { hostCounts: [1, 5], skipAnsible: false, repeat: 3, keepHosts: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--hosts':
        args.hostCounts = parseCounts(value());
        break;
      case '--skip-ansible':
        args.skipAnsible = true;
        break;
      case '--repeat': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 9) throw new UsageError('--repeat: a whole number from 1 to 9');
        args.repeat = n;
        break;
      }
      case '--keep-hosts':
        args.keepHosts = true;
        break;
      default:
        throw new UsageError(`unknown argument "${argv[i]}"`);
    }
  }
  return args;
}

function parseCounts(s: string): number[] {
  const counts = s.split(',').map((p) => p.trim()).filter(Boolean).map(Number);
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_HOSTS)) {
    throw new UsageError(`--hosts: comma-separated host counts from 1 to ${MAX_HOSTS} (the bench owns h${FIRST_HOST}..h${LAST_HOST}), got "${s}"`);
  }
  return [...new Set(counts)];
}

export function benchHostNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `h${FIRST_HOST + i}`);
}

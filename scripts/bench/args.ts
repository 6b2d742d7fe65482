// Command line of `npm run bench`. The bench owns lab hosts h200..h219 only: other lab users (the e2e
// tests, the demo, other engineers' hosts) work on lower numbers at the same time, and the bench must
// never touch their hosts. The same names serve either Debian release (re-created fresh for each).
import { DISTS, type Dist } from '../lab/dists.js';

export const FIRST_HOST = 200;
export const LAST_HOST = 219;
export const MAX_HOSTS = LAST_HOST - FIRST_HOST + 1;
/**
 * Inventory entries per lab host in the simulation. sshd's MaxStartups (10:30:100 by default) starts
 * dropping unauthenticated connections beyond 10 at once per host: stay well below it, or the
 * simulation measures sshd's refusals instead of the controller.
 */
export const MAX_ENTRIES_PER_HOST = 5;

export interface BenchArgs {
  /** one round per count: 1 means h200, 10 means h200..h209 */
  hostCounts: number[];
  /** one set of rounds per release, in this order */
  dists: Dist[];
  skipAnsible: boolean;
  /** runs of each no-op and check measurement (the median is reported); undefined: see repeatFor */
  repeat?: number;
  /** inventory entry counts for the controller simulation (over the largest round's hosts); [] = none */
  simulate: number[];
  /** leave the bench's hosts running afterwards (for a look at them) */
  keepHosts: boolean;
}

export const USAGE = `usage: npm run bench -- [--hosts 1,10,20] [--dist bookworm|trixie|both] [--repeat N]
                        [--simulate 1,20,100] [--skip-ansible] [--keep-hosts]

Side-by-side benchmark of shipshape and Ansible doing playbooks/site.yml's work on fresh lab hosts
h${FIRST_HOST}..h${LAST_HOST}: first run, no-op re-run and check (medians of repeated runs), wall time,
controller CPU time and memory, and what a shipshape no-op is made of (from its --json stats).
Results: markdown tables on stdout, JSON under <lab dir>/bench/.

  --hosts LIST      host counts, one round each (default 1,10,20; at most ${MAX_HOSTS})
  --dist D          Debian release of the hosts: bookworm (default), trixie, or both (all rounds on each)
  --repeat N        runs per no-op and check measurement (default: 3 at 1 host, 1 at more hosts for
                    Ansible; shipshape always at least 3, its runs take seconds)
  --simulate LIST   the controller at many hosts: check runs with LIST inventory entries spread over the
                    largest round's hosts (at most ${MAX_ENTRIES_PER_HOST} per host), each entry its own connection
                    (e.g. 1,20,100 with --hosts 20); shipshape only (Ansible needs about 5 s per entry)
  --skip-ansible    shipshape only
  --keep-hosts      leave the hosts running at the end (default: stop them)`;

export class UsageError extends Error {}

export function parseArgs(argv: string[]): BenchArgs | 'help' {
  const args: BenchArgs = { hostCounts: [1, 10, 20], dists: ['bookworm'], skipAnsible: false, simulate: [], keepHosts: false };
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
        args.hostCounts = parseCounts(value(), '--hosts', MAX_HOSTS);
        break;
      case '--dist': {
        const v = value();
        if (v === 'both') args.dists = [...DISTS];
        else if ((DISTS as readonly string[]).includes(v)) args.dists = [v as Dist];
        else throw new UsageError(`--dist: one of ${DISTS.join(', ')}, both; got "${v}"`);
        break;
      }
      case '--skip-ansible':
        args.skipAnsible = true;
        break;
      case '--repeat': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 9) throw new UsageError('--repeat: a whole number from 1 to 9');
        args.repeat = n;
        break;
      }
      case '--simulate':
        args.simulate = parseCounts(value(), '--simulate', MAX_HOSTS * MAX_ENTRIES_PER_HOST);
        break;
      case '--keep-hosts':
        args.keepHosts = true;
        break;
      default:
        throw new UsageError(`unknown argument "${argv[i]}"`);
    }
  }
  const most = Math.max(...args.hostCounts);
  const over = args.simulate.filter((n) => n > most * MAX_ENTRIES_PER_HOST);
  if (over.length > 0) {
    throw new UsageError(
      `--simulate ${over.join(',')}: at most ${MAX_ENTRIES_PER_HOST} entries per lab host, and the largest round has ${most} host(s) ` +
        `(at most ${most * MAX_ENTRIES_PER_HOST} entries; e.g. --hosts 1,10,20 --simulate 1,20,100)`,
    );
  }
  return args;
}

function parseCounts(s: string, flag: string, max: number): number[] {
  const counts = s.split(',').map((p) => p.trim()).filter(Boolean).map(Number);
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > max)) {
    const why = flag === '--hosts' ? ` (the bench owns h${FIRST_HOST}..h${LAST_HOST})` : '';
    throw new UsageError(`${flag}: comma-separated counts from 1 to ${max}${why}, got "${s}"`);
  }
  return [...new Set(counts)];
}

/**
 * Runs per no-op and check measurement. Ansible's no-op takes 45-100 s at 10-20 hosts (one run each keeps
 * the whole bench inside its time budget); shipshape's take seconds, so it always gets at least 3.
 */
export function repeatFor(args: Pick<BenchArgs, 'repeat'>, hosts: number, tool: 'shipshape' | 'ansible'): number {
  const base = args.repeat ?? (hosts === 1 ? 3 : 1);
  return tool === 'shipshape' ? Math.max(base, 3) : base;
}

export function benchHostNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `h${FIRST_HOST + i}`);
}

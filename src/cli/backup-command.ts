import { InputError } from '../core/input-error.js';
import { shJoin } from '../core/quote.js';
import { loadInventory, selectHosts } from '../inventory/index.js';
import { BecomeError, createTransport, UnreachableError, type ConnectionSpec } from '../transport/index.js';
import { PROGRAM } from '../../roles/backup/config.js';
import { confirm } from './confirm.js';

export type BackupAction = 'run' | 'list' | 'verify' | 'restore' | 'key';

export interface BackupFlags {
  inventory: string;
  limit?: string;
  forks: number;
  json?: boolean;
  yes?: boolean;
  acceptNewHostKeys?: boolean;
  database?: string;
  paths?: string;
  target?: string;
  snapshot?: string;
}

export interface BackupHostResult {
  host: string;
  ok: boolean;
  unreachable: boolean;
  code: number | null;
  output: string;
}

/** exit code of the backup program when the role was never applied to the host */
const NOT_INSTALLED = 3;

/** The program's command line on the host: what each `shipshape backup` action runs there. */
export function programArgv(action: BackupAction, f: BackupFlags): string[] {
  const snap = f.snapshot ? ['--snapshot', f.snapshot] : [];
  switch (action) {
    case 'run':
    case 'list':
    case 'verify':
    case 'key':
      return [PROGRAM, action];
    case 'restore':
      if (f.database) return [PROGRAM, 'restore-db', f.database, '--yes', ...snap];
      return [PROGRAM, 'restore-paths', '--target', f.target!, '--yes', ...snap, ...(f.paths ? f.paths.split(',').map((p) => p.trim()).filter(Boolean) : [])];
  }
}

/** Checked before any host is contacted: what to restore, and where to. */
export function checkRestoreFlags(f: BackupFlags): void {
  if (f.database && (f.paths || f.target)) throw new InputError('restore takes --database NAME, or --target DIR (with --paths), not both');
  if (!f.database && !f.target) throw new InputError('restore needs --database NAME (as in backup_postgres: CONTAINER/DATABASE or DATABASE) or --target DIR for the paths');
  if (f.target && !f.target.startsWith('/')) throw new InputError(`--target must be an absolute directory on the host, not "${f.target}"`);
  if (f.snapshot && !/^[0-9a-f]{8,64}$|^latest$/.test(f.snapshot)) throw new InputError(`--snapshot wants a restic snapshot id (8 hex digits or more) or latest, not "${f.snapshot}"`);
}

/** The script sent to each host: the program, as root, or a clear word when the role never ran there. */
export function hostScript(argv: string[]): string {
  return `if [ ! -x ${PROGRAM} ]; then echo 'the backup role is not applied on this host (no ${PROGRAM}): configure backup_postgres or backup_paths and apply it'; exit ${NOT_INSTALLED}; fi\n${shJoin(argv)} 2>&1\n`;
}

export async function backupCommand(action: BackupAction, flags: BackupFlags): Promise<void> {
  if (action === 'restore') checkRestoreFlags(flags);
  const inventory = await loadInventory(flags.inventory);
  for (const w of inventory.warnings) process.stderr.write(`warning: ${w.format()}\n`);
  const names = selectHosts(inventory, flags.limit ?? 'all', { file: '--limit' });
  if (!names.length) throw new InputError(`no host matches --limit ${flags.limit}`, { hint: `the inventory has: ${[...inventory.hosts.keys()].join(', ')}` });
  const argv = programArgv(action, flags);

  if (action === 'restore' && !flags.yes) {
    const what = flags.database ? `the database ${flags.database}` : `the backed-up paths under ${flags.target}`;
    if (!(process.stdin.isTTY && process.stdout.isTTY)) {
      throw new InputError(`restore overwrites ${what} on ${names.join(', ')}: pass --yes to do it without a question`);
    }
    if (!(await confirm(`Overwrite ${what} on ${names.join(', ')} with ${flags.snapshot ?? 'the newest'} backup?`))) {
      process.stderr.write('Nothing restored.\n');
      return;
    }
  }

  const specs = names.map((n) => ({ ...inventory.hosts.get(n)!.connection, acceptNewHostKeys: !!flags.acceptNewHostKeys }));
  const results = await inParallel(specs, flags.forks, (spec) => onHost(spec, argv, flags.json ? () => undefined : (m) => process.stderr.write(`${m}\n`)));
  if (flags.json) {
    process.stdout.write(JSON.stringify({ action, hosts: Object.fromEntries(results.map((r) => [r.host, { ok: r.ok, unreachable: r.unreachable, exit: r.code, output: r.output }])) }, null, 2) + '\n');
  } else {
    for (const r of results) {
      const status = r.ok ? 'ok' : r.unreachable ? 'UNREACHABLE' : `FAILED (exit ${r.code ?? 'none'})`;
      process.stdout.write(`== ${r.host}: backup ${action} ${status}\n${r.output.trimEnd()}\n`);
    }
  }
  process.exitCode = results.some((r) => !r.ok && !r.unreachable) ? 1 : results.some((r) => r.unreachable) ? 4 : 0;
}

/** One host, through the same transport a playbook run uses: the program runs as root, its output comes back whole. */
async function onHost(spec: ConnectionSpec, argv: string[], log: (m: string) => void): Promise<BackupHostResult> {
  const transport = createTransport(spec, { log });
  try {
    await transport.connect();
    const r = await transport.run(hostScript(argv), { become: true });
    return { host: spec.name, ok: r.code === 0, unreachable: false, code: r.code, output: r.stdout + r.stderr };
  } catch (err) {
    const unreachable = err instanceof UnreachableError;
    const why = err instanceof UnreachableError || err instanceof BecomeError ? `${err.message}${err.hint ? `\n${err.hint}` : ''}` : (err as Error).message;
    return { host: spec.name, ok: false, unreachable, code: null, output: why + '\n' };
  } finally {
    await transport.close().catch(() => undefined);
  }
}

async function inParallel<T, R>(items: T[], forks: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(forks, items.length)) }, worker));
  return out;
}

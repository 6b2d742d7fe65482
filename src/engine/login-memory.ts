/**
 * Which hosts needed bootstrap_user on the last run. A login as a user the host does not have yet
 * costs an "Invalid user" line in sshd's log on every run, and fail2ban counts those: once a run had
 * to fall back to bootstrap_user, the next one logs in as bootstrap_user directly, and goes back to
 * the inventory's user as soon as that user exists on the host (or a run confirmed a login as it).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConnectionSpec } from '../transport/types.js';

export interface LoginMemory {
  /** did the last run reach this host only as its bootstrap_user? */
  needsBootstrap(spec: ConnectionSpec): Promise<boolean>;
  remember(spec: ConnectionSpec): Promise<void>;
  forget(spec: ConnectionSpec): Promise<void>;
}

const keyOf = (s: ConnectionSpec) => `${s.user}@${s.host}:${s.port}>${s.bootstrapUser ?? ''}`;

/** In a file of the controller user's state directory ($XDG_STATE_HOME, else ~/.local/state). */
export function fileLoginMemory(file = join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'shipshape', 'bootstrap-logins.json')): LoginMemory {
  // hosts run in parallel: one read-modify-write at a time
  let queue: Promise<unknown> = Promise.resolve();
  const read = async (): Promise<Record<string, string>> => {
    try {
      const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
    } catch {
      return {};
    }
  };
  const update = (change: (m: Record<string, string>) => boolean): Promise<void> => {
    const next = queue.then(async () => {
      const m = await read();
      if (!change(m)) return;
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(m, null, 2) + '\n', { mode: 0o600 });
      await rename(tmp, file);
    });
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    needsBootstrap: async (spec) => keyOf(spec) in (await read()),
    remember: (spec) =>
      update((m) => {
        if (keyOf(spec) in m) return false;
        m[keyOf(spec)] = new Date().toISOString();
        return true;
      }),
    forget: (spec) => update((m) => delete m[keyOf(spec)]),
  };
}

/** For tests and library use: remembers within the process only. */
export function memoryLoginMemory(): LoginMemory & { keys: Set<string> } {
  const keys = new Set<string>();
  return {
    keys,
    needsBootstrap: async (spec) => keys.has(keyOf(spec)),
    remember: async (spec) => void keys.add(keyOf(spec)),
    forget: async (spec) => void keys.delete(keyOf(spec)),
  };
}

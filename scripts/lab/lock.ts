// One lab per machine, driven by several processes (the CLI, vitest workers, the demo): changes to shared
// state (bridge, services, base image, inventory) are serialized by an flock on <dir>/lock.
// The lock lives in a helper process whose stdin is our pipe: if we die, the pipe closes, `cat` ends and
// the kernel drops the lock, so a crashed run can never leave the lab locked.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { labPaths } from './paths.js';
import { log } from './shell.js';

export async function withLabLock<T>(fn: () => Promise<T>): Promise<T> {
  const { dir, lock } = labPaths();
  fs.mkdirSync(dir, { recursive: true });
  const holder = spawn('flock', ['--exclusive', lock, 'sh', '-c', 'echo locked; exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = setTimeout(() => log(`waiting for the lab lock (${lock}): another lab command is running`), 2_000);
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('error', reject);
      holder.once('exit', (code) => reject(new Error(`flock exited (${code}) before taking ${lock}`)));
    });
  } finally {
    clearTimeout(waiting);
  }
  try {
    return await fn();
  } finally {
    holder.stdin.end();
  }
}

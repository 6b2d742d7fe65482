/**
 * Writing the project folder: each file goes to a temporary name beside it and is renamed into
 * place, so an interrupted run (Ctrl-C, a lost terminal) leaves either the old file or the new one,
 * never half of one. A file that exists with other content is replaced only with consent (--force,
 * or a yes on the terminal); one with the same content is not touched at all.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FILES, type ProjectFile, type ProjectTexts } from './project.js';

const TEMP = /^\.(.+)\.init-[0-9a-f]{8}\.tmp$/;

export interface FileChange extends ProjectFile {
  state: 'new' | 'same' | 'changed';
  /** what is there now, for changed files */
  before?: string;
}

export async function readProject(dir: string): Promise<ProjectTexts> {
  const out: ProjectTexts = {};
  for (const rel of Object.values(FILES)) {
    const text = await readFile(join(dir, rel), 'utf8').catch(() => undefined);
    if (text !== undefined) out[rel] = text;
  }
  return out;
}

export async function compareFiles(dir: string, files: ProjectFile[]): Promise<FileChange[]> {
  return Promise.all(
    files.map(async (f) => {
      const before = await readFile(join(dir, f.path), 'utf8').catch(() => undefined);
      const state = before === undefined ? 'new' : before === f.text ? 'same' : 'changed';
      return { ...f, state, ...(state === 'changed' ? { before } : {}) };
    }),
  );
}

/** Temp name + fsync + rename; the mode is set before the content is written (a secret is never world-readable). */
export async function writeAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.init-${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // an existing file keeps its inode's mode through rename of a new inode: set it anyway for clarity
  await chmod(path, mode);
}

export async function writeChanges(dir: string, changes: FileChange[]): Promise<void> {
  for (const c of changes) if (c.state !== 'same') await writeAtomic(join(dir, c.path), c.text, c.mode);
}

/** Temp files of a run killed between write and rename: never the real file, safe to drop. */
export async function removeStaleTemps(dir: string): Promise<void> {
  const dirs = new Set(Object.values(FILES).map((f) => dirname(join(dir, f))));
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const n of await readdir(d)) if (TEMP.test(n)) await unlink(join(d, n)).catch(() => undefined);
  }
}

/**
 * Finds roles: every subdirectory NAME of a roles directory is a role whose module is
 * NAME/index.js (compiled) or NAME/index.ts (loaded through tsx, so a project's own roles need no
 * build step). The first directory holding a name wins, like Ansible's roles_path: list the
 * project's directories before builtinRolesDir() to replace a built-in role.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAnsibleRoleFolder, loadAnsibleRole } from '../ansible/role-folder.js';
import { InputError } from '../core/input-error.js';
import type { RoleDef } from './role.js';

/**
 * `<repo>/roles` from src/playbook (tsx) and `dist/roles` from dist/src/playbook (tsc keeps the
 * tree under rootDir "."): the same relative step from this file either way.
 */
export function builtinRolesDir(): string {
  return fileURLToPath(new URL('../../roles/', import.meta.url));
}

/** Missing directories are skipped (the built-in one may be absent from a trimmed install). */
export async function loadRoles(dirs: string[]): Promise<Record<string, RoleDef>> {
  const roles: Record<string, RoleDef> = {};
  const problems: InputError[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !/^[._]/.test(e.name));
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (Object.hasOwn(roles, e.name)) continue;
      // a folder without an entry point or Ansible role parts is not a role (yet): naming it in a playbook says "unknown role"
      const code = ['index.js', 'index.ts'].some((f) => existsSync(join(dir, e.name, f)));
      if (!code && !isAnsibleRoleFolder(join(dir, e.name))) continue;
      try {
        roles[e.name] = code ? await loadRole(join(dir, e.name), e.name) : await loadAnsibleRole(join(dir, e.name), e.name);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        problems.push(err);
      }
    }
  }
  const err = InputError.combine(problems);
  if (err) throw err;
  return roles;
}

async function loadRole(dir: string, name: string): Promise<RoleDef> {
  const js = join(dir, 'index.js');
  const ts = join(dir, 'index.ts');
  const file = existsSync(js) ? js : existsSync(ts) ? ts : undefined;
  if (!file) throw new InputError(`role \`${name}\` has no index.ts or index.js`, { file: dir });
  let mod: Record<string, unknown>;
  try {
    mod = file === js ? await import(pathToFileURL(js).href) : await importTs(ts);
  } catch (e) {
    if (e instanceof InputError) throw e;
    // a role is code: its own error (syntax, a throw at load) is the operator's to fix, so say where
    throw new InputError(`cannot load role \`${name}\`: ${(e as Error).message}`, { file });
  }
  const def = (mod.default ?? mod.role) as Partial<RoleDef> | undefined;
  if (!def || typeof def !== 'object' || typeof def.tasks !== 'function' || typeof (def.vars as { safeParse?: unknown })?.safeParse !== 'function') {
    throw new InputError('a role module must `export default defineRole({ name, summary, vars, tasks })`', { file });
  }
  if (def.name !== name) {
    throw new InputError(`role is named \`${String(def.name)}\` but lives in directory \`${name}\`; playbooks name roles by directory`, { file });
  }
  return { ...(def as RoleDef), dir: def.dir ?? sourceDir(dir), file };
}

/** tsc compiles a built-in role to dist/roles/NAME but copies none of its templates/ or files/: those stay in roles/NAME. */
function sourceDir(dir: string): string {
  const m = /^(.*)[\\/]dist[\\/](roles[\\/][^\\/]+)$/.exec(dir);
  return m && existsSync(join(m[1], m[2])) ? join(m[1], m[2]) : dir;
}

export async function importTs(path: string): Promise<Record<string, unknown>> {
  // under tsx or vitest a .ts file imports natively: keep one module graph (one zod, one role.ts)
  try {
    return await import(pathToFileURL(path).href);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw e;
  }
  let api: { tsImport(specifier: string, parent: string): Promise<Record<string, unknown>> };
  try {
    api = await import('tsx/esm/api');
  } catch {
    throw new InputError('this role is TypeScript and tsx is not installed; install tsx or compile the role to index.js', { file: path });
  }
  return api.tsImport(pathToFileURL(path).href, import.meta.url);
}

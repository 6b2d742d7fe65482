/**
 * A project's own modules: every `NAME.ts` or `NAME.js` in a `modules/` directory beside the playbook
 * (or one level up, like roles) is the module NAME, `export default defineModule({...})`. TypeScript
 * loads through tsx, so a project needs no build step.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../core/input-error.js';
import type { ModuleDef } from '../core/module.js';
import { importTs } from './roles-loader.js';

export interface ProjectModule extends ModuleDef {
  /** the file it was loaded from, for listings and errors */
  file: string;
}

/** The first directory holding a name wins; a built-in module's name cannot be taken. */
export async function loadProjectModules(dirs: string[], builtin: Record<string, ModuleDef>): Promise<Record<string, ProjectModule>> {
  const found: Record<string, ProjectModule> = {};
  const problems: InputError[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const files = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && /^[A-Za-z][A-Za-z0-9_]*\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') && !/\.test\.[jt]s$/.test(e.name))
      .map((e) => e.name)
      .sort();
    for (const f of files) {
      const name = f.replace(/\.(ts|js|mjs)$/, '');
      if (Object.hasOwn(found, name)) continue;
      const file = join(dir, f);
      try {
        found[name] = await loadOne(file, name, builtin);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        problems.push(err);
      }
    }
  }
  const err = InputError.combine(problems);
  if (err) throw err;
  return found;
}

async function loadOne(file: string, name: string, builtin: Record<string, ModuleDef>): Promise<ProjectModule> {
  if (Object.hasOwn(builtin, name)) {
    throw new InputError(`module \`${name}\` is built into shipshape; a project module cannot replace it`, { file, hint: `rename the file, e.g. modules/my_${name}.ts` });
  }
  let mod: Record<string, unknown>;
  try {
    mod = file.endsWith('.ts') ? await importTs(file) : await import(pathToFileURL(file).href);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot load module \`${name}\`: ${(e as Error).message}`, { file });
  }
  const def = (mod.default ?? mod.module) as Partial<ModuleDef> | undefined;
  const ok =
    def &&
    typeof def === 'object' &&
    typeof def.plan === 'function' &&
    typeof def.facts === 'function' &&
    typeof (def.schema as { safeParse?: unknown } | undefined)?.safeParse === 'function';
  if (!ok) throw new InputError('a module file must `export default defineModule({ name, summary, schema, facts, plan })`', { file });
  if (def.name !== name) {
    throw new InputError(`module is named \`${String(def.name)}\` but its file is \`${name}\`; playbooks name modules by file`, { file });
  }
  return { ...(def as ModuleDef), file };
}

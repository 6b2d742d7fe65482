/** `shipshape schema`: the JSON Schemas editors use to complete and check inventories, vars files and playbooks. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../core/input-error.js';
import { SCHEMA_DIR, SCHEMA_FILES } from '../schema/files.js';
import { buildSchemas, type SchemaSet } from '../schema/json-schemas.js';
import { loadProjectCode } from './project-code.js';

export { SCHEMA_FILES };

/** The schemas as files of a project folder (what `shipshape init` writes beside the inventory). */
export function schemaFiles(schemas: SchemaSet): { path: string; text: string; mode: number }[] {
  return (Object.keys(SCHEMA_FILES) as (keyof SchemaSet)[]).map((k) => ({
    path: `${SCHEMA_DIR}/${SCHEMA_FILES[k]}`,
    text: `${JSON.stringify(schemas[k], null, 2)}\n`,
    mode: 0o644,
  }));
}

export async function projectSchemas(project: string): Promise<SchemaSet> {
  const code = await loadProjectCode([join(resolve(project), 'playbooks')]);
  return buildSchemas(code.modules, code.roles);
}

/** Writes the three schemas into dir (atomically each); returns the paths. */
export function writeSchemas(schemas: SchemaSet, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return (Object.keys(SCHEMA_FILES) as (keyof SchemaSet)[]).map((k) => {
    const path = join(dir, SCHEMA_FILES[k]);
    writeFileSync(`${path}.tmp`, `${JSON.stringify(schemas[k], null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
    return path;
  });
}

export async function schemaCommand(which: string | undefined, o: { write?: string; project: string }): Promise<void> {
  const schemas = await projectSchemas(o.project);
  if (which !== undefined && !Object.hasOwn(SCHEMA_FILES, which)) {
    throw new InputError(`no schema named ${which}`, { hint: `one of: ${Object.keys(SCHEMA_FILES).join(', ')}` });
  }
  if (o.write) {
    for (const p of writeSchemas(schemas, o.write)) process.stdout.write(`wrote ${p}\n`);
    process.stdout.write(
      `\nPoint a YAML file at its schema with a first line like\n  # yaml-language-server: $schema=${join(o.write, SCHEMA_FILES.playbook)}\n`,
    );
    return;
  }
  process.stdout.write(`${JSON.stringify(which ? schemas[which as keyof SchemaSet] : schemas, null, 2)}\n`);
}

/**
 * An Ansible role folder (`tasks/main.yml`, `handlers/main.yml`, `defaults/main.yml`, `vars/main.yml`,
 * `meta/main.yml`, `templates/`, `files/`) loaded as a role of the same shape as a TypeScript role:
 * its variables are read here; its task files are parsed by the playbook loader the first time a
 * playbook names the role, with positions in the role's own files.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../core/input-error.js';
import { YamlFile, describeNode } from '../inventory/yaml-doc.js';
import type { AnsibleRoleParts, RoleDef } from '../playbook/role.js';

const PARTS = ['tasks', 'handlers', 'defaults', 'vars', 'meta', 'templates', 'files'];

/** Whether a folder is an Ansible role (and not a TypeScript one). */
export function isAnsibleRoleFolder(dir: string): boolean {
  return PARTS.some((p) => existsSync(join(dir, p)) && statSync(join(dir, p)).isDirectory());
}

/** `main.yml`, `main.yaml`, `main` or `main.json` of a part, as Ansible looks them up */
function mainFile(dir: string, part: string): string | undefined {
  for (const f of ['main.yml', 'main.yaml', 'main', 'main.json']) {
    const p = join(dir, part, f);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return undefined;
}

/** defaults/main.yml, or every file of defaults/main/ in name order (Ansible 2.11+) */
async function varsPart(dir: string, part: string, errors: InputError[]): Promise<Record<string, unknown>> {
  const files: string[] = [];
  const main = mainFile(dir, part);
  if (main) files.push(main);
  else if (existsSync(join(dir, part, 'main')) && statSync(join(dir, part, 'main')).isDirectory()) {
    files.push(...readdirSync(join(dir, part, 'main')).filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => join(dir, part, 'main', f)));
  }
  const out: Record<string, unknown> = {};
  for (const f of files) {
    try {
      const y = await YamlFile.read(f);
      if (y.root === null || y.scalar(y.root) === null) continue;
      if (!y.isMap(y.root)) {
        errors.push(y.error(y.root, `${part}/main.yml must be a mapping of variable names to values, not ${describeNode(y, y.root)}`));
        continue;
      }
      Object.assign(out, y.js(y.root) as Record<string, unknown>);
    } catch (e) {
      if (e instanceof InputError) errors.push(e, ...e.others);
      else throw e;
    }
  }
  return out;
}

export async function loadAnsibleRole(dir: string, name: string): Promise<RoleDef> {
  const errors: InputError[] = [];
  const parts: AnsibleRoleParts = {
    defaults: await varsPart(dir, 'defaults', errors),
    vars: await varsPart(dir, 'vars', errors),
    dependencies: [],
  };
  const tasks = mainFile(dir, 'tasks');
  const handlers = mainFile(dir, 'handlers');
  if (tasks) parts.tasksFile = tasks;
  if (handlers) parts.handlersFile = handlers;
  const meta = mainFile(dir, 'meta');
  if (meta) {
    try {
      const y = await YamlFile.read(meta);
      const deps = y.entries(y.root).find((e) => e.key === 'dependencies')?.value ?? null;
      for (const d of y.items(deps)) {
        const s = y.scalar(d);
        if (typeof s === 'string') {
          parts.dependencies.push({ role: s, params: {}, source: y.source(d) });
          continue;
        }
        const entries = y.entries(d);
        const roleName = entries.find((e) => e.key === 'role' || e.key === 'name')?.value ?? null;
        const rn = y.scalar(roleName);
        if (typeof rn !== 'string') {
          errors.push(y.error(d, 'a dependency is a role name or a mapping with `role:`'));
          continue;
        }
        const params: Record<string, unknown> = {};
        for (const e of entries) {
          if (e.key === 'role' || e.key === 'name') continue;
          if (e.key === 'vars' && e.value && y.isMap(e.value)) Object.assign(params, y.js(e.value));
          else if (['when', 'tags', 'become'].includes(e.key)) errors.push(y.error(e.keyNode, `\`${e.key}\` on a role dependency is not supported`, 'put it on the tasks of the dependency'));
          else params[e.key] = y.js(e.value);
        }
        parts.dependencies.push({ role: rn, params, source: y.source(d) });
      }
      for (const e of y.entries(y.root)) {
        if (e.key === 'allow_duplicates' && y.scalar(e.value) === true) errors.push(y.error(e.keyNode, '`allow_duplicates: true` is not supported', 'a role runs once per play; use include_role to run it again'));
      }
    } catch (e) {
      if (e instanceof InputError) errors.push(e, ...e.others);
      else throw e;
    }
  }
  const err = InputError.combine(errors);
  if (err) throw err;
  return {
    name,
    summary: `Ansible role (${dir})`,
    // any variable: an Ansible role declares none (defaults/main.yml gives values, not a schema)
    vars: z.looseObject({}),
    tasks: () => [],
    dir,
    file: tasks ?? dir,
    ansible: parts,
  };
}

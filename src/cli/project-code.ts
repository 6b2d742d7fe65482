/**
 * A project's own roles and modules beside the built-in ones. For a playbook they are looked up in
 * `roles/` and `modules/` beside it, then one level up (a playbooks/ folder in a project); the
 * project's roles win over built-in roles of the same name, like Ansible's roles_path.
 */
import { dirname, join, resolve } from 'node:path';
import type { ModuleDef } from '../core/module.js';
import { modules as builtinModules } from '../modules/index.js';
import { builtinRolesDir, loadRoles } from '../playbook/index.js';
import { loadProjectModules, type ProjectModule } from '../playbook/modules-loader.js';
import type { RoleDef } from '../playbook/role.js';

export interface ProjectCode {
  roles: Record<string, RoleDef>;
  modules: Record<string, ModuleDef>;
  /** the names that came from the project, for listings */
  ownRoles: Set<string>;
  ownModules: Record<string, ProjectModule>;
}

/** The directories a project's code is looked for in, for a playbook's directory. */
export function projectDirs(base: string, kind: 'roles' | 'modules'): string[] {
  return [join(base, kind), join(base, '..', kind)].map((d) => resolve(d));
}

export async function loadProjectCode(bases: string[]): Promise<ProjectCode> {
  const builtin = builtinRolesDir();
  // the built-in sources themselves (a checkout) are not "the project's" roles
  const builtinSource = resolve(builtin.replace(/[\\/]dist[\\/]roles[\\/]?$/, '/roles'));
  const roleDirs = [...new Set(bases.flatMap((b) => projectDirs(b, 'roles')))].filter((d) => d !== builtinSource && d !== resolve(builtin));
  const moduleDirs = [...new Set(bases.flatMap((b) => projectDirs(b, 'modules')))];
  const [allRoles, ownModules] = await Promise.all([
    loadRoles([...roleDirs, builtin]),
    loadProjectModules(moduleDirs, builtinModules),
  ]);
  return {
    roles: allRoles,
    modules: { ...builtinModules, ...ownModules },
    // a role is the project's when it came from one of the project's folders (every loader sets dir)
    ownRoles: new Set(Object.keys(allRoles).filter((k) => roleDirs.some((d) => allRoles[k].dir?.startsWith(`${d}/`)))),
    ownModules,
  };
}

/** For a run: the playbook's directory is the project's. */
export function playbookBase(playbookPath: string): string {
  return dirname(resolve(playbookPath));
}

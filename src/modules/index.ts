import type { ModuleDef } from '../core/module.js';
import file from './file.js';

/** Every module by its playbook name. Add new modules here. */
export const modules: Record<string, ModuleDef> = {
  file,
};

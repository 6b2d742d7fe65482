import type { ModuleDef } from '../core/module.js';
import file from './file.js';
import sshdConfig from './sshd_config.js';
import ufw from './ufw.js';

/** Every module by its playbook name. Add new modules here. */
export const modules: Record<string, ModuleDef> = {
  file,
  sshd_config: sshdConfig,
  ufw,
};

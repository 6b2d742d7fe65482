import type { ModuleDef } from '../core/module.js';
import apt from './apt.js';
import authorizedKey from './authorized_key.js';
import cron from './cron.js';
import group from './group.js';
import service from './service.js';
import user from './user.js';
import command from './command.js';
import copy from './copy.js';
import file from './file.js';
import lineinfile from './lineinfile.js';
import sysctl from './sysctl.js';
import template from './template.js';
import sshdConfig from './sshd_config.js';
import ufw from './ufw.js';
import sudoPolicy from './sudo_policy.js';
import aptConfig from './apt_config.js';
import aptRepository from './apt_repository.js';
import { setFact } from '../ansible/control-modules.js';
import shell from './shell.js';
import raw from './raw.js';
import debug from './debug.js';
import assert from './assert.js';
import stat from './stat.js';
import replace from './replace.js';
import blockinfile from './blockinfile.js';
import packageModule from './package.js';
import timezone from './timezone.js';
import reboot from './reboot.js';
import getUrl from './get_url.js';
import unarchive from './unarchive.js';
import { aptKey, git } from './refused.js';

/** Every module by its playbook name. Add new modules here. */
const builtin = {
  apt,
  authorized_key: authorizedKey,
  cron,
  group,
  service,
  user,
  command,
  copy,
  file,
  lineinfile,
  sysctl,
  template,
  sshd_config: sshdConfig,
  ufw,
  sudo_policy: sudoPolicy,
  apt_config: aptConfig,
  apt_repository: aptRepository,
  set_fact: setFact,
  shell,
  raw,
  debug,
  assert,
  stat,
  replace,
  blockinfile,
  package: packageModule,
  timezone,
  reboot,
  get_url: getUrl,
  unarchive,
  apt_key: aptKey,
  git,
} satisfies Record<string, ModuleDef>;

/** The built-in modules with their argument types: what a role's tasks are checked against. */
export type BuiltinModules = typeof builtin;

export const modules: Record<string, ModuleDef> = builtin;

import type { SourcePos } from '../core/input-error.js';
import type { Vars } from '../inventory/vars.js';

/** Where a module argument was written: its key and its value (path `a.b.0`, '' for the module key). */
export interface ArgSource {
  key?: SourcePos;
  value: SourcePos;
  /** the value's text as written (`0644`), for hints such as "quote it" */
  raw?: string;
}

/** Pre-tasks, then roles and tasks, then post-tasks: handlers are flushed after each phase, as in Ansible. */
export type Phase = 'pre_tasks' | 'main' | 'post_tasks';

export interface TaskSpec {
  kind: 'task';
  name: string;
  /** canonical module name (`ansible.builtin.file` is stored as `file`) */
  module: string;
  /** as written: templates are rendered, and templated arguments validated, per host by the engine */
  args: Record<string, unknown>;
  tags: string[];
  notify: string[];
  /** handlers only: extra names this handler answers to (Ansible's `listen`) */
  listen?: string[];
  /** a Jinja expression without braces, or a literal boolean */
  when?: string | boolean;
  /** undefined: inherit from the role entry / play / inventory */
  become?: boolean;
  no_log: boolean;
  /** set on tasks the engine expanded from a role */
  role?: string;
  roleVars?: Vars;
  phase: Phase;
  source: SourcePos;
  /** positions of the module arguments by path, so errors found after rendering still point at the YAML */
  argSources: Record<string, ArgSource>;
}

export interface RoleItem {
  kind: 'role';
  role: string;
  /** role params (`{role: x, vars: {...}}`), highest variable precedence below -e */
  params: Vars;
  tags: string[];
  when?: string | boolean;
  become?: boolean;
  phase: Phase;
  source: SourcePos;
}

export type PlayItem = TaskSpec | RoleItem;

export interface Play {
  name: string;
  /** host pattern (a list in YAML is joined with `,`); select with selectHosts(inv, hosts, hostsSource) */
  hosts: string;
  hostsSource: SourcePos;
  /** play vars, then vars_files in order (later wins) */
  vars: Vars;
  become?: boolean;
  tags: string[];
  /** in run order: pre_tasks, roles, tasks, post_tasks */
  items: PlayItem[];
  handlers: TaskSpec[];
  source: SourcePos;
}

export interface Playbook {
  path: string;
  plays: Play[];
}

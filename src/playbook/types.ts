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
  /** task `vars:`, above play vars for this task only */
  vars?: Vars;
  /** `loop:` / `with_*:`: one task per item, expanded per host */
  loop?: LoopSpec;
  /** Ansible's `register`: the task's result under this variable name for later tasks */
  register?: string;
  changedWhen?: string | boolean;
  failedWhen?: string | boolean;
  ignoreErrors?: boolean;
  /** `check_mode: false` on a command declared read-only (`changed_when: false`): it runs in check too */
  runInCheck?: boolean;
  /** the directory its template/ and files/ are looked up in (a role's or an included file's), when not the playbook's */
  dir?: string;
}

export interface LoopSpec {
  /** `loop`, `with_items`, `with_dict`, ... */
  kind: string;
  /** as written: a list, a mapping, or a template string */
  value: unknown;
  loopVar: string;
  indexVar?: string;
  /** a template naming each item in output */
  label?: string;
  source: SourcePos;
}

/** Ansible's `block` with its `rescue` and `always` sections; the keywords on it apply to every task inside. */
export interface BlockItem {
  kind: 'block';
  name?: string;
  block: PlayItem[];
  rescue: PlayItem[];
  always: PlayItem[];
  when?: string | boolean;
  become?: boolean;
  tags: string[];
  vars?: Vars;
  ignoreErrors?: boolean;
  /** `meta: flush_handlers`: run the handlers notified so far, here */
  flush?: boolean;
  /** `include_tasks` with `loop:`: the included tasks once per item, the item under loop_var */
  loop?: LoopSpec;
  phase: Phase;
  source: SourcePos;
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
  /** `include_role` / `import_role` inside a task list: the task's own name */
  name?: string;
  /** from include_role / import_role: runs every time it is reached (a `roles:` entry runs once per play) */
  included?: boolean;
  /** import_role (not include_role): its variables are the play's from the start, as Ansible parses it */
  imported?: boolean;
  /** include_role `public: true`: its defaults and vars stay visible to the play's later tasks */
  public?: boolean;
  /** `tasks_from`: a file of the role's tasks/ run instead of main */
  tasksFrom?: string;
  /** `include_role` with `loop:`: the role once per item */
  loop?: LoopSpec;
}

export type PlayItem = TaskSpec | RoleItem | BlockItem;

export interface Play {
  name: string;
  /** host pattern (a list in YAML is joined with `,`); select with selectHosts(inv, hosts, hostsSource) */
  hosts: string;
  hostsSource: SourcePos;
  /** play vars, then vars_files in order (later wins) */
  vars: Vars;
  become?: boolean;
  tags: string[];
  /** Ansible's `gather_facts` (default true): facts are read with the first probes when a task uses them */
  gatherFacts?: boolean;
  /** in run order: pre_tasks, roles, tasks, post_tasks */
  items: PlayItem[];
  handlers: TaskSpec[];
  source: SourcePos;
}

export interface Playbook {
  path: string;
  plays: Play[];
}

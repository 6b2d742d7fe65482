import type { LoginMemory } from './login-memory.js';
import type { ModuleDef } from '../core/module.js';
import type { HostReport, TaskResult } from '../core/result.js';

/** A task fully resolved for one host: module chosen, arguments rendered and validated. */
export interface TaskInstance {
  name: string;
  role?: string;
  module: ModuleDef;
  args: unknown;
  tags: string[];
  notify: string[];
  /** handlers only: the other names it answers to (Ansible's `listen`) */
  listen?: string[];
  become: boolean;
  noLog: boolean;
}

/** A play as it will run on one host. */
export interface PlayInstance {
  name: string;
  become: boolean;
  tasks: TaskInstance[];
  /** handlers by the name tasks notify */
  handlers: TaskInstance[];
}

export interface EngineOptions {
  check: boolean;
  forks: number;
  /** seconds after which an unconfirmed access-critical change reverts itself on the host */
  guardTimeoutSec: number;
  /** hosts that needed bootstrap_user last time, so they are not sent a refused login on every run */
  loginMemory?: LoginMemory;
}

export type EngineEvent =
  | { type: 'host-start'; host: string }
  | { type: 'task-start'; host: string; task: string; role?: string }
  | { type: 'task-done'; host: string; result: TaskResult }
  | { type: 'host-done'; host: string; report: HostReport };

export type EventSink = (e: EngineEvent) => void;

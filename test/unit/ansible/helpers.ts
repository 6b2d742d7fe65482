import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expandForHost } from '../../../src/engine/expand.js';
import type { PlayInstance } from '../../../src/engine/types.js';
import { loadInventory } from '../../../src/inventory/index.js';
import { modules } from '../../../src/modules/index.js';
import { loadPlaybook, loadRoles } from '../../../src/playbook/index.js';
import type { Playbook } from '../../../src/playbook/types.js';

/** Writes files (path -> text) into a fresh directory and returns it. */
export function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-ansible-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

const HOSTS = 'all:\n  hosts:\n    web1: { ansible_host: 10.0.0.1 }\n';

/** Loads `site.yml` of a project (inventory `hosts.yml`, default one host web1) and expands every play for `host`. */
export async function expand(files: Record<string, string>, host = 'web1', extraVars = {}): Promise<{ playbook: Playbook; plays: PlayInstance[]; dir: string }> {
  const dir = project({ 'hosts.yml': HOSTS, ...files });
  const inventory = await loadInventory(join(dir, 'hosts.yml'));
  const roles = await loadRoles([join(dir, 'roles')]);
  const playbook = await loadPlaybook(join(dir, 'site.yml'), { modules, roles });
  const opts = { playbook, inventory, roles, modules, extraVars, tags: [], skipTags: [] };
  return { playbook, plays: playbook.plays.map((p) => expandForHost(opts, p, host)), dir };
}

/** `name: args` of every task, for compact assertions. */
export function tasksOf(play: PlayInstance): [string, unknown][] {
  return play.tasks.map((t) => [t.name, t.args]);
}

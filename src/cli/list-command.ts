import { z } from 'zod';
import { join, resolve } from 'node:path';
import { loadProjectCode } from './project-code.js';
import { InputError } from '../core/input-error.js';
import { nearest } from '../core/suggest.js';

/** `shipshape modules` / `shipshape roles`: what can be written in a playbook, from the schemas themselves. */
export async function listCommand(what: 'modules' | 'roles', name?: string, project = '.'): Promise<void> {
  // a project keeps playbooks/ beside roles/ and modules/: the same lookup a run of playbooks/*.yml makes
  const code = await loadProjectCode([join(resolve(project), 'playbooks')]);
  const own = (k: string) => (what === 'modules' ? Object.hasOwn(code.ownModules, k) : code.ownRoles.has(k));
  const entries: Record<string, { summary: string; schema: z.ZodType }> =
    what === 'modules'
      ? Object.fromEntries(Object.entries(code.modules).map(([k, m]) => [k, { summary: m.summary, schema: m.schema }]))
      : Object.fromEntries(Object.entries(code.roles).map(([k, r]) => [k, { summary: r.summary, schema: r.vars }]));
  if (!name) {
    const width = Math.max(...Object.keys(entries).map((k) => k.length));
    // the project's own first, marked: they are what this repository adds to shipshape
    const names = Object.keys(entries).sort((a, b) => Number(own(b)) - Number(own(a)));
    for (const k of names) process.stdout.write(`${k.padEnd(width)}  ${own(k) ? '(project) ' : ''}${entries[k].summary}\n`);
    process.stdout.write(`\nshipshape ${what} NAME shows its ${what === 'modules' ? 'arguments' : 'variables and defaults'}.\n`);
    return;
  }
  const e = entries[name];
  if (!e) {
    const near = nearest(name, Object.keys(entries));
    throw new InputError(`no ${what === 'modules' ? 'module' : 'role'} named ${name}`, near ? { hint: `did you mean ${near}?` } : {});
  }
  process.stdout.write(`${name}: ${e.summary}\n\n`);
  const json = z.toJSONSchema(e.schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, { type?: unknown; default?: unknown; enum?: unknown[] }>; required?: string[] };
  for (const [k, p] of Object.entries(json.properties ?? {})) {
    const type = p.enum ? p.enum.join('|') : Array.isArray(p.type) ? p.type.join('|') : (p.type ?? 'any');
    const req = json.required?.includes(k) && p.default === undefined ? ' (required)' : '';
    const shown = p.default !== undefined ? JSON.stringify(p.default) : undefined;
    // a key block or a long list would drown the table: say what it is instead
    const def = shown === undefined ? '' : ` [default: ${shown.length > 100 ? `${shown.slice(0, 60)}... (${shown.length} characters)` : shown}]`;
    process.stdout.write(`  ${k}: ${type}${req}${def}\n`);
  }
}

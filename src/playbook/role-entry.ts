/**
 * A play's `roles:` entries: a role name, or `{role: name, vars: {...}, tags, when, become}` with
 * Ansible's alternative of params written beside `role:`. Params are checked against the role's
 * vars schema for unknown names and wrong values; a missing one is fine (inventory may supply it).
 */
import { nearest } from '../core/suggest.js';
import { describeNode, type YNode } from '../inventory/yaml-doc.js';
import { keysAt, validateAgainst } from './args.js';
import { bool, stringList, text, when, type FieldContext } from './fields.js';
import type { RoleDef } from './role.js';
import { recordSources } from './task.js';
import type { ArgSource, RoleItem } from './types.js';

const ROLE_ENTRY_KEYS = ['role', 'vars', 'tags', 'when', 'become'];

export interface RoleContext extends FieldContext {
  roles: Record<string, RoleDef>;
}

export function roleList(c: RoleContext, node: YNode | null): RoleItem[] {
  const { file } = c;
  if (node === null || file.scalar(node) === null) return [];
  if (!file.isSeq(node)) {
    c.errors.push(file.error(node, `\`roles\` must be a list of role names or \`{role: name, vars: {...}}\`, not ${describeNode(file, node)}`));
    return [];
  }
  return file.items(node).flatMap((n) => roleEntry(c, n) ?? []);
}

function roleEntry(c: RoleContext, node: YNode): RoleItem | undefined {
  const { file, errors, roles } = c;
  const source = file.source(node);
  const scalar = file.scalar(node);
  const nameNode = typeof scalar === 'string' ? node : file.entries(node).find((e) => e.key === 'role' || e.key === 'name')?.value ?? null;
  if (!nameNode || (!file.isMap(node) && typeof scalar !== 'string')) {
    errors.push(file.error(node, 'a role entry is a role name or a mapping with `role:`'));
    return undefined;
  }
  const name = text(c, 'role', nameNode);
  if (name === undefined) return undefined;
  const role = roles[name];
  if (!role) {
    const near = nearest(name, Object.keys(roles));
    errors.push(file.error(nameNode, `unknown role \`${name}\``, near ? `did you mean \`${near}\`?` : `known roles: ${Object.keys(roles).join(', ') || 'none'}`));
    return undefined;
  }
  const item: RoleItem = { kind: 'role', role: name, params: {}, tags: [], phase: 'main', source };
  if (typeof scalar === 'string') return item;

  const known = keysAt(role.vars, []);
  const sources: Record<string, ArgSource> = {};
  let inlineParams = false;
  const param = (key: string, keyNode: YNode, value: YNode | null, inline: boolean) => {
    if (known.length && !known.includes(key)) {
      const near = nearest(key, inline ? [...known, ...ROLE_ENTRY_KEYS] : known);
      errors.push(file.error(keyNode, `unknown variable \`${key}\` for role \`${name}\``, near ? `did you mean \`${near}\`?` : undefined));
    }
    item.params[key] = file.js(value);
  };
  for (const e of file.entries(node)) {
    if (e.key === 'role' || e.key === 'name') continue;
    if (e.key === 'tags') item.tags = stringList(c, 'tags', e.value);
    else if (e.key === 'when') {
      const w = when(c, e.value);
      if (w !== undefined) item.when = w;
    } else if (e.key === 'become') {
      const b = bool(c, 'become', e.value);
      if (b !== undefined) item.become = b;
    } else if (e.key === 'vars') {
      if (e.value === null || !file.isMap(e.value)) {
        if (e.value !== null) errors.push(file.error(e.value, `role \`vars\` must be a mapping, not ${describeNode(file, e.value)}`));
        continue;
      }
      for (const v of file.entries(e.value)) param(v.key, v.keyNode, v.value, false);
      recordSources(c, e.value, '', sources);
    } else {
      // Ansible also accepts role params written beside `role:`
      param(e.key, e.keyNode, e.value, true);
      inlineParams = true;
    }
  }
  if (inlineParams) recordSources(c, node, '', sources);
  const r = validateAgainst(role.vars, item.params, {
    module: name,
    subject: `role \`${name}\``,
    at: source,
    argSources: sources,
    frame: (line) => file.lineText(line),
    skipTemplated: true,
    partial: true,
    noun: 'variable',
  });
  // unknown keys were reported above, with role-entry keywords among the suggestions
  if (!r.ok) errors.push(...r.errors.filter((e) => !e.message.startsWith('unknown variable')));
  return item;
}

import { InputError } from '../core/input-error.js';
import type { Vars } from '../inventory/index.js';
import { CONNECTION_KEY_NAMES, SECRET_KEYS, splitVars, type ConnLayer } from '../inventory/connection.js';
import { YamlFile } from '../inventory/yaml-doc.js';

/** `-e key=value` (value parsed as JSON when it is JSON: numbers, lists, booleans) or `-e '{"k": 1}'`. */
export function parseExtraVars(items: string[]): Vars {
  const vars: Vars = {};
  for (const [i, item] of items.entries()) {
    const n = i + 1;
    if (item.trim().startsWith('{')) {
      try {
        Object.assign(vars, JSON.parse(item));
      } catch (err) {
        // never echo the text: it may hold a secret the run has not been told about yet
        const at = /position (\d+)/.exec((err as Error).message)?.[1];
        throw new InputError(`-e number ${n}: a value starting with { must be a JSON object, and this one is not valid JSON${at ? ` (at character ${Number(at) + 1})` : ''}`, {
          file: '--extra-vars',
          hint: 'check quotes and commas, or pass key=value instead',
        });
      }
      continue;
    }
    const eq = item.indexOf('=');
    // the text is not echoed: a value pasted without its key may well be a password
    if (eq < 1) throw new InputError(`-e number ${n}: expected key=value or a JSON object${eq === 0 ? ' (the key before = is missing)' : ' (there is no =)'}`, { file: '--extra-vars' });
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    vars[item.slice(0, eq)] = value;
  }
  return vars;
}

/**
 * Connection keys given with -e (`-e ansible_user=admin`, `-e port=2222`) win over the inventory,
 * as in Ansible, so they are taken out of the variables and handed to the inventory loader as its
 * last layer. They are checked there like any inventory value; mistakes point at `--extra-vars`,
 * one line per key, with secret values masked.
 */
export function splitExtraVars(vars: Vars): { vars: Vars; conn?: ConnLayer } {
  const connKeys = Object.keys(vars).filter((k) => CONNECTION_KEY_NAMES.has(k));
  if (connKeys.length === 0) return { vars };
  const rest = Object.fromEntries(Object.entries(vars).filter(([k]) => !connKeys.includes(k)));
  const text = connKeys.map((k) => `${k}: ${JSON.stringify(vars[k])}`).join('\n') + '\n';
  const f = YamlFile.parse('--extra-vars', text, { secretKeys: SECRET_KEYS });
  const errors: InputError[] = [];
  const layer = splitVars(f, f.root, errors, []);
  const err = InputError.combine(errors);
  if (err) throw err;
  return { vars: rest, conn: layer.conn };
}

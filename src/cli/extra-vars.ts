import { InputError } from '../core/input-error.js';
import type { Vars } from '../inventory/index.js';

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

import { InputError } from '../core/input-error.js';
import type { Vars } from '../inventory/index.js';

/** `-e key=value` (value parsed as JSON when it is JSON: numbers, lists, booleans) or `-e '{"k": 1}'`. */
export function parseExtraVars(items: string[]): Vars {
  const vars: Vars = {};
  for (const item of items) {
    if (item.trim().startsWith('{')) {
      try {
        Object.assign(vars, JSON.parse(item));
      } catch (err) {
        throw new InputError(`-e ${item}: not valid JSON (${(err as Error).message})`, { file: '--extra-vars' });
      }
      continue;
    }
    const eq = item.indexOf('=');
    if (eq < 1) throw new InputError(`-e ${item}: expected key=value or a JSON object`, { file: '--extra-vars' });
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

import { z } from 'zod';

/**
 * File modes must be quoted strings ("0644"): YAML 1.2 reads an unquoted 0644 as the decimal 644,
 * which would silently become a wrong mode. A number is refused with that explanation.
 */
export const modeSchema = z.string({
  error: (iss) =>
    typeof iss.input === 'number'
      ? `mode must be a quoted octal string like "0644" (an unquoted ${iss.input} is read by YAML as a decimal number)`
      : 'mode must be an octal string like "0644"',
}).regex(/^0?[0-7]{3,4}$/, 'mode must be an octal string like "0644"');

/** "0644" -> "644", as `stat -c %a` prints it. */
export function normalizeMode(mode: string | undefined): string | undefined {
  if (mode === undefined) return undefined;
  const n = mode.replace(/^0+(?=[0-7]{3})/, '');
  return n.length === 4 && n.startsWith('0') ? n.slice(1) : n;
}

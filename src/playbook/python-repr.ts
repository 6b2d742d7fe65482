/**
 * Values printed the way Ansible prints them: Jinja runs on Python, so a list or dict inside a
 * string is its Python repr (`['a', 'b']`, `{'k': True}`), never `a,b` or `[object Object]`.
 */
const TUPLE = Symbol('tuple');

/** An array Python would hold as a tuple (zip, splitext): printed `('a', 1)`. */
export function tuple<T extends unknown[]>(xs: T): T {
  Object.defineProperty(xs, TUPLE, { value: true });
  return xs;
}

export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return pyNumber(v);
  if (typeof v === 'string') return pyStr(v);
  if (Array.isArray(v)) {
    if ((v as unknown as Record<symbol, boolean>)[TUPLE]) return `(${v.map(pyRepr).join(', ')}${v.length === 1 ? ',' : ''})`;
    return `[${v.map(pyRepr).join(', ')}]`;
  }
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyStr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}

/** What `{{ v }}` prints: strings as they are, everything else as Python's str() would. */
export function pyPrint(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return v === null ? 'None' : '';
  return pyRepr(v);
}

function pyNumber(n: number): string {
  if (Number.isInteger(n) || !Number.isFinite(n)) return Number.isFinite(n) ? String(n) : n > 0 ? 'inf' : n < 0 ? '-inf' : 'nan';
  return String(n);
}

/** Python's repr of a str: single quotes unless the text has one and no double quote. */
function pyStr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}

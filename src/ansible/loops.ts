/**
 * The items of Ansible's loops, from the loop's value once its templates are rendered:
 * `loop`/`with_list` (the list as is), `with_items` (one level flattened), `with_dict`
 * ({key, value} per entry), `with_sequence` (`start=1 end=5 stride=1 format=web%02d` or `count=3`),
 * `with_indexed_items` ([index, item]) and `with_subelements` ([parent, child] per child).
 * Errors are plain messages; the caller positions them at the loop keyword.
 */
import { parseKeyValue } from './kv-args.js';

export function loopItems(kind: string, value: unknown): unknown[] {
  switch (kind) {
    case 'loop':
    case 'with_list':
      if (value === null || value === undefined) return [];
      if (!Array.isArray(value)) throw new Error(`\`${kind}\` needs a list, not ${describe(value)}${typeof value === 'object' ? ' (for a mapping: `loop: "{{ x | dict2items }}"` or `with_dict`)' : ''}`);
      return value;
    case 'with_items':
      if (value === null || value === undefined) return [];
      return (Array.isArray(value) ? value : [value]).flatMap((v) => (Array.isArray(v) ? v : [v]));
    case 'with_indexed_items':
      return loopItems('with_items', value).map((v, i) => [i, v]);
    case 'with_dict':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`\`with_dict\` needs a mapping, not ${describe(value)}`);
      return Object.entries(value).map(([key, v]) => ({ key, value: v }));
    case 'with_sequence':
      return sequence(value);
    case 'with_subelements':
      return subelements(value);
    default:
      throw new Error(`\`${kind}\` is not supported`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : `the ${typeof v} ${JSON.stringify(v)}`;
}

/** Ansible's with_sequence: decimal by default, `format` in printf style (%d, %02d, %x, %o, %s). */
function sequence(value: unknown): string[] {
  let args: Record<string, unknown>;
  if (typeof value === 'string') {
    const shorthand = /^\s*(-?\d+)?\s*-\s*(-?\d+)(?:\/(\d+))?(?::(.+))?\s*$/.exec(value);
    if (shorthand && !value.includes('=')) args = { start: shorthand[1] ?? '1', end: shorthand[2], stride: shorthand[3] ?? '1', ...(shorthand[4] ? { format: shorthand[4] } : {}) };
    else {
      const kv = parseKeyValue(value);
      if (kv.stray.length) throw new Error(`\`with_sequence\`: \`${kv.stray[0]}\` is not start=, end=, count=, stride= or format=`);
      args = kv.args;
    }
  } else if (value && typeof value === 'object' && !Array.isArray(value)) args = value as Record<string, unknown>;
  else throw new Error(`\`with_sequence\` needs \`start=N end=M\` or \`count=N\`, not ${describe(value)}`);
  for (const k of Object.keys(args)) if (!['start', 'end', 'count', 'stride', 'format'].includes(k)) throw new Error(`\`with_sequence\`: unknown option \`${k}\``);
  const int = (k: string, d?: number): number => {
    const v = args[k];
    if (v === undefined) {
      if (d === undefined) throw new Error(`\`with_sequence\` needs \`${k}\``);
      return d;
    }
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`\`with_sequence\`: \`${k}\` must be an integer, not ${JSON.stringify(v)}`);
    return n;
  };
  if (args.count !== undefined && args.end !== undefined) throw new Error('`with_sequence`: give `count` or `end`, not both');
  const start = int('start', 1);
  const stride = int('stride', 1);
  const end = args.count !== undefined ? start + (int('count') - 1) * stride : int('end');
  if (stride === 0) throw new Error('`with_sequence`: stride must not be 0');
  if ((stride > 0 && end < start) || (stride < 0 && end > start)) {
    if (args.count !== undefined && int('count') === 0) return [];
    throw new Error(`\`with_sequence\`: the sequence from ${start} never reaches ${end} with stride ${stride}`);
  }
  const fmt = args.format === undefined ? '%d' : String(args.format);
  const out: string[] = [];
  for (let i = start; stride > 0 ? i <= end : i >= end; i += stride) {
    if (out.length >= 10000) throw new Error('`with_sequence` is longer than 10000 items');
    out.push(printf(fmt, i));
  }
  return out;
}

function printf(fmt: string, n: number): string {
  return fmt.replace(/%(0?)(\d*)([dixXos%])/g, (m, zero: string, width: string, conv: string) => {
    if (conv === '%') return '%';
    const s = conv === 'x' ? n.toString(16) : conv === 'X' ? n.toString(16).toUpperCase() : conv === 'o' ? n.toString(8) : String(n);
    return width ? s.padStart(Number(width), zero ? '0' : ' ') : s;
  });
}

/** [list of dicts, 'key'] (or [list, 'key', {skip_missing: true}]): one [parent, child] per child. */
function subelements(value: unknown): unknown[] {
  if (!Array.isArray(value) || value.length < 2 || typeof value[1] !== 'string') throw new Error('`with_subelements` needs [list, "subkey"]');
  const [list, path, flags] = value as [unknown, string, { skip_missing?: boolean } | undefined];
  const parents = Array.isArray(list) ? list : list && typeof list === 'object' ? Object.values(list) : [];
  const out: unknown[] = [];
  for (const p of parents) {
    let cur: unknown = p;
    for (const seg of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    if (cur === undefined) {
      if (flags?.skip_missing) continue;
      throw new Error(`\`with_subelements\`: an item has no \`${path}\` (add {skip_missing: true} as third element to skip it)`);
    }
    if (!Array.isArray(cur)) throw new Error(`\`with_subelements\`: \`${path}\` must be a list`);
    for (const child of cur) out.push([p, child]);
  }
  return out;
}

/**
 * YAML written the way PyYAML's `yaml.dump` writes it, as Ansible's `to_yaml` / `to_nice_yaml` call
 * it: keys sorted, sequences in a mapping not indented, strings quoted only when YAML 1.1 would read
 * them as something else. `flow` is PyYAML's default_flow_style=None (collections of scalars inline).
 * Not done: PyYAML folds plain strings longer than 80 columns; these stay on one line.
 */

const YAML11_SPECIAL = [
  /^(?:yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:~|null|Null|NULL)$/,
  /^[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?$|^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/,
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/,
  /^(?:<<|=)$/,
];

function plainOk(s: string): boolean {
  if (s === '' || s !== s.trim()) return false;
  if (YAML11_SPECIAL.some((re) => re.test(s))) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s) && !/^[-?:][^\s]/.test(s)) return false;
  if (/^[-?:]$/.test(s)) return false;
  if (/: |:$| #|[\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(s)) return false;
  return true;
}

function scalar(v: unknown, inFlow: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number.isFinite(v) ? String(v) : v > 0 ? '.inf' : v < 0 ? '-.inf' : '.nan';
  const s = String(v);
  if (plainOk(s) && !(inFlow && /[,[\]{}]/.test(s))) return s;
  if (/[\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(s)) return JSON.stringify(s);
  return `'${s.replace(/'/g, "''")}'`;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isColl = (v: unknown) => Array.isArray(v) || isMap(v);
const sortedEntries = (m: Record<string, unknown>) => Object.keys(m).sort().map((k) => [k, m[k]] as const);

function flowOf(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flowOf).join(', ')}]`;
  if (isMap(v)) return `{${sortedEntries(v).map(([k, x]) => `${scalar(k, true)}: ${flowOf(x)}`).join(', ')}}`;
  return scalar(v, true);
}

const leaf = (v: unknown) => (Array.isArray(v) ? v : isMap(v) ? Object.values(v) : []).every((x) => !isColl(x));

export function pyYamlDump(value: unknown, indent: number, flow: boolean): string {
  const inline = (v: unknown) => !isColl(v) || (Array.isArray(v) ? v.length === 0 : Object.keys(v as object).length === 0) || (flow && leaf(v));
  const lines: string[] = [];
  // `first` is the text already on the line (a "- " prefix); `col` where nested lines start
  const node = (v: unknown, col: number, first: string): void => {
    if (inline(v)) {
      lines.push(first + (isColl(v) ? flowOf(v) : scalar(v, false)));
      return;
    }
    const pad = ' '.repeat(col);
    let prefix = first;
    if (Array.isArray(v)) {
      for (const item of v) {
        const dash = `${prefix}-${' '.repeat(indent - 1)}`;
        node(item, col + indent, isColl(item) && !inline(item) ? dash : `${prefix}- `);
        prefix = pad;
      }
      return;
    }
    for (const [k, x] of sortedEntries(v as Record<string, unknown>)) {
      const key = `${prefix}${scalar(k, false)}:`;
      if (inline(x)) lines.push(`${key} ${isColl(x) ? flowOf(x) : scalar(x, false)}`);
      else {
        lines.push(key);
        // a sequence under a key is not indented (PyYAML's indentless sequence)
        node(x, Array.isArray(x) ? col : col + indent, Array.isArray(x) ? pad : ' '.repeat(col + indent));
      }
      prefix = pad;
    }
  };
  node(value, 0, '');
  const out = lines.join('\n') + '\n';
  return isColl(value) ? out : `${out}...\n`;
}

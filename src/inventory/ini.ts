/**
 * Ansible's INI inventory format, read into the same node shape as a YAML inventory (groups with
 * `hosts`, `vars`, `children`), every node positioned in the INI text, so the one inventory loader
 * checks both and reports `file:line:column` alike.
 *
 *   host1 ansible_host=10.0.0.1          hosts before any section are in `ungrouped`
 *   [web]                                 a group; `web[1:3]` and `db1:2222` (a port) as in Ansible
 *   web1 http_port=8080
 *   [web:vars]                            the group's variables
 *   [app:children]                        its child groups
 *
 * Values are read as Ansible reads them (Python literals: `8080` is a number, `True` a boolean,
 * `'x'` a string, `0644` stays the string "0644"); anything else is a plain string.
 */
import { Pair, Scalar, YAMLMap, type Node } from 'yaml';
import { InputError } from '../core/input-error.js';
import { YamlFile } from './yaml-doc.js';

interface Word {
  text: string;
  start: number;
  end: number;
}

interface GroupNodes {
  map: YAMLMap;
  hosts?: YAMLMap;
  vars?: YAMLMap;
  children?: YAMLMap;
}

/** Whether a text reads as an INI inventory rather than YAML (a `[section]` line). */
export function looksLikeIni(text: string): boolean {
  return /^\s*\[[^\]\s]+\]\s*(?:[#;].*)?$/m.test(text);
}

export function parseIniInventory(path: string, text: string): YamlFile {
  const root = new YAMLMap();
  const groups = new Map<string, GroupNodes>();
  const errors: { start: number; message: string; hint?: string }[] = [];
  const scalar = (value: unknown, start: number, end: number) => {
    const s = new Scalar(value);
    s.range = [start, end, end];
    return s;
  };
  const group = (name: string, start: number, end: number): GroupNodes => {
    let g = groups.get(name);
    if (!g) {
      g = { map: new YAMLMap() };
      g.map.range = [start, end, end];
      groups.set(name, g);
      root.items.push(new Pair(scalar(name, start, end), g.map));
    }
    return g;
  };
  const part = (g: GroupNodes, key: 'hosts' | 'vars' | 'children', at: number): YAMLMap => {
    let m = g[key];
    if (!m) {
      m = g[key] = new YAMLMap();
      m.range = [at, at, at];
      g.map.items.push(new Pair(scalar(key, at, at), m));
    }
    return m;
  };
  const keyValue = (w: Word): Pair | undefined => {
    const eq = w.text.indexOf('=');
    if (eq <= 0) {
      errors.push({ start: w.start, message: `expected key=value, not \`${w.text}\``, hint: 'an INI host line is a host name, then variables as key=value' });
      return undefined;
    }
    return new Pair(scalar(w.text.slice(0, eq).trim(), w.start, w.start + eq), scalar(pythonLiteral(w.text.slice(eq + 1).trim()), w.start + eq + 1, w.end));
  };

  let section: { name: string; kind: 'hosts' | 'vars' | 'children' } = { name: 'ungrouped', kind: 'hosts' };
  let offset = 0;
  for (const line of text.split('\n')) {
    const lineStart = offset;
    offset += line.length + 1;
    const body = line.replace(/\r$/, '');
    const trimmed = body.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const indent = body.length - body.trimStart().length;
    const head = /^\[([^\]]+)\]\s*(?:[#;].*)?$/.exec(trimmed);
    if (head) {
      const [name, kind = 'hosts'] = head[1].split(':');
      const at = lineStart + indent + 1;
      if (!['hosts', 'vars', 'children'].includes(kind) || !name) {
        errors.push({ start: at, message: `\`[${head[1]}]\` is not a section Ansible knows`, hint: 'write [GROUP], [GROUP:vars] or [GROUP:children]' });
        section = { name: '', kind: 'hosts' };
        continue;
      }
      section = { name, kind: kind as 'hosts' | 'vars' | 'children' };
      const g = group(name, at, at + name.length);
      if (kind !== 'hosts') part(g, kind as 'vars' | 'children', at);
      continue;
    }
    // `[web` without its `]`: Ansible refuses it (a host name cannot start a range with `[`); read as a host, the
    // group's hosts would land in `ungrouped` and the error would name the playbook's `hosts: web` instead
    if (trimmed.startsWith('[') && !trimmed.includes(']')) {
      errors.push({ start: lineStart + indent, message: `\`${trimmed}\` has no closing \`]\``, hint: 'a section header is [GROUP], [GROUP:vars] or [GROUP:children]' });
      section = { name: '', kind: 'hosts' };
      continue;
    }
    if (!section.name) continue;
    if (section.kind === 'vars') {
      const eq = body.indexOf('=');
      const kv = keyValue({ text: trimmed, start: lineStart + indent, end: lineStart + body.trimEnd().length });
      if (kv && eq > 0) part(group(section.name, lineStart, lineStart), 'vars', lineStart).items.push(kv);
      continue;
    }
    const words = splitWords(body, lineStart);
    if (words.length === 0) continue;
    if (section.kind === 'children') {
      const w = words[0];
      part(group(section.name, lineStart, lineStart), 'children', lineStart).items.push(new Pair(scalar(w.text, w.start, w.end), null));
      // a child named here exists as a group even with no section of its own
      group(w.text, w.start, w.end);
      continue;
    }
    const [first, ...rest] = words;
    let name = first.text;
    const vars = new YAMLMap();
    vars.range = [first.start, first.end, first.end];
    // `host:port` as Ansible reads it (not an IPv6 address, which has more than one colon)
    const port = /^([^:\[\]]+|\[[^\]]*\]):(\d+)$/.exec(name);
    if (port) {
      name = port[1];
      vars.items.push(new Pair(scalar('ansible_port', first.start, first.end), scalar(Number(port[2]), first.start + port[1].length + 1, first.end)));
    } else if (name.endsWith(':')) {
      errors.push({ start: first.start, message: `host \`${name}\` ends in \`:\``, hint: 'a `:` after a host name gives its port (host:2222)' });
      continue;
    }
    for (const w of rest) {
      const kv = keyValue(w);
      if (kv) vars.items.push(kv);
    }
    part(group(section.name, lineStart, lineStart), 'hosts', lineStart).items.push(new Pair(scalar(name, first.start, first.start + name.length), vars.items.length ? vars : null));
  }
  const file = YamlFile.fromNodes(path, text, root);
  const all = errors.map((e) => {
    const pos = file.pos({ range: [e.start, e.start, e.start] } as unknown as Node);
    return file.errorAt(pos, e.message, e.hint);
  });
  const err = InputError.combine(all);
  if (err) throw err;
  return file;
}

/** Words of a line as Python's shlex.split(comments=True) reads them, with their offsets. */
function splitWords(line: string, base: number): Word[] {
  const out: Word[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length || line[i] === '#') break;
    const start = i;
    let text = '';
    let quote = '';
    for (; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === quote) quote = '';
        else if (c === '\\' && quote === '"' && (line[i + 1] === '"' || line[i + 1] === '\\')) text += line[++i];
        else text += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (/\s/.test(c)) break;
      else if (c === '\\' && i + 1 < line.length) text += line[++i];
      else text += c;
    }
    out.push({ text, start: base + start, end: base + i });
  }
  return out;
}

/**
 * A value as Ansible's INI plugin reads it (Python's ast.literal_eval, else the string itself):
 * integers without a leading zero, floats, True/False/None, quoted strings, JSON-like lists and dicts.
 */
export function pythonLiteral(v: string): unknown {
  if (/^[+-]?(0|[1-9](_?\d)*)$/.test(v)) return Number(v.replace(/_/g, ''));
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v) && /[.eE]/.test(v)) return Number(v);
  if (v === 'True') return true;
  if (v === 'False') return false;
  if (v === 'None') return null;
  const q = /^(['"])(.*)\1$/s.exec(v);
  if (q) return q[2];
  if (/^[[{]/.test(v)) {
    try {
      return JSON.parse(v.replace(/'/g, '"').replace(/\bTrue\b/g, 'true').replace(/\bFalse\b/g, 'false').replace(/\bNone\b/g, 'null'));
    } catch {
      return v;
    }
  }
  return v;
}

/**
 * After a run moved sshd of a host to another port, the inventory must say so or the next run
 * cannot connect. This edits the one place that decides the host's port, as a text splice at the
 * positions the `yaml` Document API reports: comments, quoting and layout stay exactly as written.
 * The inventory is then loaded again; unless it gives this host the new port and every other host
 * the connection it had, the file is put back and the operator is told what to change instead.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { CONNECTION_KEYS, inventoryFile, loadInventory, type LoadInventoryOptions } from '../inventory/index.js';

const PORT_KEYS: readonly string[] = ['port', ...CONNECTION_KEYS.port];

export type PortRecord = { ok: true; note: string } | { ok: false; why: string };

interface Place {
  file: string;
  text: string;
  /** the new text of the file */
  edited: string;
  line: number;
  what: string;
}

export async function recordPortInInventory(inventoryPath: string, host: string, from: number, to: number, opts: LoadInventoryOptions = {}): Promise<PortRecord> {
  const hostsFile = inventoryFile(inventoryPath);
  let place: Place | string;
  try {
    // a folder of Ansible inventory files (no hosts.yml): which file to edit is not ours to guess
    if (statSync(hostsFile).isDirectory()) throw new Error('the inventory is a folder of files without hosts.yml');
    place = portInHostVars(hostsFile, host, to) ?? portInHostsFile(hostsFile, host, from, to);
  } catch (err) {
    place = (err as Error).message;
  }
  if (typeof place === 'string') return { ok: false, why: place };
  const before = await loadInventory(inventoryPath, opts).catch(() => undefined);
  writeFileSync(place.file, place.edited);
  const after = await loadInventory(inventoryPath, opts).catch((err: Error) => err);
  const problem =
    after instanceof Error
      ? `the edited inventory does not load (${after.message})`
      : after.hosts.get(host)?.connection.port !== to
        ? `after the edit ${host} would still not use port ${to}`
        : [...after.hosts.values()].find((h) => h.name !== host && JSON.stringify(h.connection) !== JSON.stringify(before?.hosts.get(h.name)?.connection))
          ? 'the edit would change the connection of other hosts'
          : undefined;
  if (problem) {
    writeFileSync(place.file, place.text);
    return { ok: false, why: `${problem}; the file was left as it was` };
  }
  const rel = relative(process.cwd(), place.file);
  return { ok: true, note: `${place.what} for ${host} in ${rel && !rel.startsWith('..') ? rel : place.file}:${place.line} (comments and layout kept)` };
}

/** host_vars/HOST.yml and host_vars/HOST/*.yml, in the order the loader merges them (the last wins). */
function hostVarsFiles(hostsFile: string, host: string): string[] {
  const dir = join(hostsFile, '..', 'host_vars');
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name === host && statSync(path).isDirectory()) {
      out.push(...readdirSync(path).filter((n) => ['.yml', '.yaml'].includes(extname(n))).sort().map((n) => join(path, n)));
    } else if (['.yml', '.yaml'].includes(extname(name)) && basename(name, extname(name)) === host) out.push(path);
  }
  return out;
}

/** The port set in the host's own vars files wins over everything in hosts.yml: edit it there. */
function portInHostVars(hostsFile: string, host: string, to: number): Place | string | undefined {
  for (const file of hostVarsFiles(hostsFile, host).reverse()) {
    const text = readFileSync(file, 'utf8');
    const { doc, lines } = parse(text, file);
    const pair = portPair(doc.contents);
    if (pair) return replaceValue(file, text, lines, pair, to);
  }
  return undefined;
}

/** The host's entries under `hosts:` of any group, in the order the loader reads them (the last wins). */
function hostEntries(node: unknown, host: string, out: Pair[] = []): Pair[] {
  if (!isMap(node)) return out;
  for (const group of node.items) {
    if (!isMap(group.value)) continue;
    for (const section of group.value.items) {
      const key = isScalar(section.key) ? section.key.value : undefined;
      if (key === 'hosts' && isMap(section.value)) {
        for (const h of section.value.items) if (isScalar(h.key) && String(h.key.value) === host) out.push(h as Pair);
      } else if (key === 'children') hostEntries(section.value, host, out);
    }
  }
  return out;
}

function portInHostsFile(file: string, host: string, from: number, to: number): Place | string {
  const text = readFileSync(file, 'utf8');
  const { doc, lines } = parse(text, file);
  const entries = hostEntries(doc.contents, host);
  if (entries.length === 0) return `${host} is not written by name under a group's hosts in ${file} (a host range?)`;
  const defining = [...entries].reverse().find((e) => portPair(e.value));
  if (defining) return replaceValue(file, text, lines, portPair(defining.value)!, to);
  // no port of its own: the host used a group's port or the default; its own entry wins over both
  const entry = entries[entries.length - 1];
  const keyNode = entry.key as Node;
  const keyPos = lines.linePos(keyNode.range![0]);
  const value = entry.value as Node | null;
  const what = `added \`port: ${to}\` (it had no port of its own, so ${from} came from a group or the default)`;
  if (isMap(value) && value.flow) {
    const at = value.range![0] + 1;
    return { file, text, edited: `${text.slice(0, at)}port: ${to}, ${text.slice(at)}`, line: keyPos.line, what };
  }
  if (isMap(value) && value.items.length > 0) {
    // right under the host's name, indented like its first key (comments above that key stay with it)
    const first = (value.items[0] as Pair).key as Node;
    const indent = ' '.repeat(lines.linePos(first.range![0]).col - 1);
    const at = text.indexOf('\n', keyNode.range![0]) + 1;
    return { file, text, edited: `${text.slice(0, at)}${indent}port: ${to}\n${text.slice(at)}`, line: keyPos.line + 1, what };
  }
  if (value === null || (isScalar(value) && value.value === null)) {
    // `h1:` alone: give it a mapping one level deeper than its name
    const lineEnd = text.indexOf('\n', keyNode.range![0]);
    const end = lineEnd === -1 ? text.length : lineEnd;
    const comment = /\s#.*$/.exec(text.slice(keyNode.range![1], end))?.[0].trim();
    const name = text.slice(keyNode.range![0], keyNode.range![1]);
    const indent = ' '.repeat(keyPos.col - 1 + 2);
    const edited = `${text.slice(0, keyNode.range![0])}${name}:${comment ? ` ${comment}` : ''}\n${indent}port: ${to}${text.slice(end)}`;
    return { file, text, edited, line: keyPos.line + 1, what };
  }
  return `the entry of ${host} in ${file} is not a mapping`;
}

function parse(text: string, file: string) {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true });
  if (doc.errors.length) throw new Error(`${file} does not parse: ${doc.errors[0].message}`);
  return { doc, lines };
}

function portPair(node: unknown): Pair | undefined {
  if (!isMap(node)) return undefined;
  return (node as YAMLMap).items.find((p) => isPair(p) && isScalar(p.key) && PORT_KEYS.includes(String(p.key.value))) as Pair | undefined;
}

function replaceValue(file: string, text: string, lines: LineCounter, pair: Pair, to: number): Place | string {
  const value = pair.value as Node | null;
  const key = String((pair.key as { value: unknown }).value);
  const line = lines.linePos((pair.key as Node).range![0]).line;
  if (!isScalar(value) || !value.range) return `\`${key}\` at ${file}:${line} is not a plain value`;
  const old = text.slice(value.range[0], value.range[1]);
  if (/{{|{%/.test(old)) return `\`${key}\` at ${file}:${line} is a template (${old}); make it give ${to}`;
  return { file, text, edited: `${text.slice(0, value.range[0])}${to}${text.slice(value.range[1])}`, line, what: `updated \`${key}: ${old}\` to \`${key}: ${to}\`` };
}

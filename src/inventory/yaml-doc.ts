/**
 * A parsed YAML file that remembers where every node came from, so the inventory and playbook
 * loaders can report `file:line:column` for any value they reject.
 */
import { readFile } from 'node:fs/promises';
import { Document, LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node, type Tags } from 'yaml';
import { decrypt, isVaulted } from '../ansible/vault.js';
import { ansibleTags } from '../ansible/yaml11.js';
import { InputError, type SourcePos } from '../core/input-error.js';
import { addSecrets } from '../core/redact.js';

export type YNode = Node;

const REDACTED = '<redacted>';

export interface Entry {
  key: string;
  keyNode: YNode;
  /** null for `key:` with nothing after it */
  value: YNode | null;
}

export interface YamlFileOptions {
  /** keys whose values must never be shown in a code frame (e.g. become passwords) */
  secretKeys?: readonly string[];
  /** extra YAML tags (Ansible's `!vault`, `!unsafe`) */
  tags?: Tags;
}

export class YamlFile {
  readonly doc: Document;
  private readonly lines: string[];
  private readonly lineCounter = new LineCounter();
  private readonly secretLine?: RegExp;

  private constructor(
    readonly path: string,
    readonly text: string,
    opts: YamlFileOptions,
    built?: Node,
  ) {
    this.lines = text.split(/\r?\n/);
    if (opts.secretKeys?.length) {
      const keys = opts.secretKeys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
      this.secretLine = new RegExp(`["']?\\b(?:${keys})\\b["']?\\s*:[ \\t]*(?=\\S)`);
    }
    // YAML 1.1 as Ansible (PyYAML) reads it: `yes` is true, an unquoted `0644` is octal; merge keys expand
    if (built) {
      // nodes built from another format (an INI inventory), their ranges pointing into its text
      this.doc = new Document();
      this.doc.contents = built;
      this.lineCounter.addNewLine(0);
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineCounter.addNewLine(i + 1);
      return;
    }
    this.doc = parseDocument(text, { lineCounter: this.lineCounter, prettyErrors: true, uniqueKeys: true, merge: true, version: '1.1', customTags: ansibleTags(opts.tags) });
  }

  /** A file of another format read into the same node shape (ranges are offsets into `text`), so its errors are positioned alike. */
  static fromNodes(path: string, text: string, root: Node, opts: YamlFileOptions = {}): YamlFile {
    return new YamlFile(path, text, opts, root);
  }

  /** Parse, throwing the first syntax error with its position (the ones after it are mostly its echoes). */
  static parse(path: string, text: string, opts: YamlFileOptions = {}): YamlFile {
    // a whole file encrypted with ansible-vault (a task file, vars_files, group_vars): read as Ansible reads it
    if (isVaulted(text)) {
      try {
        text = decrypt(text);
      } catch (e) {
        throw new InputError(`encrypted with Ansible Vault: ${(e as Error).message}`, { file: path });
      }
    }
    const f = new YamlFile(path, text, opts);
    const errors = f.doc.errors.slice(0, 1).map((e) => {
      // prettyErrors appends " at line L, column C:" and its own frame; we print our own
      const message = e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
      const at = e.linePos?.[0];
      return f.errorAt(at ? { line: at.line, column: at.col } : undefined, `invalid YAML: ${lowerFirst(message)}`);
    });
    const combined = InputError.combine(errors);
    if (combined) throw combined;
    return f;
  }

  static async read(path: string, opts: YamlFileOptions = {}): Promise<YamlFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new InputError(`cannot read file: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file: path });
    }
    const f = YamlFile.parse(path, text, opts);
    // a vault-encrypted vars file (group_vars, vars_files, role vars): every value in it is a secret
    // (a task file read with parse() is code, not secrets: its names and arguments print as Ansible prints them)
    if (isVaulted(text)) addSecrets(f.js(f.root));
    return f;
  }

  /** The document's root node (aliases resolved), or null for an empty file. */
  get root(): YNode | null {
    return this.deref(this.doc.contents as YNode | null);
  }

  deref(node: YNode | null | undefined): YNode | null {
    if (node && isAlias(node)) return (node.resolve(this.doc) as YNode | undefined) ?? null;
    return node ?? null;
  }

  pos(node: YNode | null | undefined): { line: number; column: number } {
    const offset = node?.range?.[0] ?? 0;
    const p = this.lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  }

  source(node: YNode | null | undefined): SourcePos {
    return { file: this.path, ...this.pos(node) };
  }

  /** The text a node was written as, e.g. `0644` for a number the author meant as a string. */
  raw(node: YNode | null | undefined): string | undefined {
    if (!node?.range) return undefined;
    return this.text.slice(node.range[0], node.range[1]);
  }

  /** the text of a 1-based line, for code frames */
  lineText(line: number): string | undefined {
    return this.lines[line - 1];
  }

  js(node: YNode | null | undefined): unknown {
    if (!node) return null;
    try {
      return node.toJS(this.doc, { maxAliasCount: 100 });
    } catch (err) {
      // aliases of aliases (a "billion laughs" document) would expand without end: refuse, positioned
      if (err instanceof ReferenceError && /alias/i.test(err.message)) {
        throw this.error(node, 'this value expands too many YAML aliases (*name) of aliases: refused, as it could exhaust memory', 'write the values out, or use fewer nested aliases');
      }
      throw err;
    }
  }

  error(node: YNode | null | undefined, message: string, hint?: string): InputError {
    return this.errorAt(this.pos(node), message, hint);
  }

  errorAt(at: { line: number; column: number } | undefined, message: string, hint?: string): InputError {
    if (!at) return new InputError(message, { file: this.path, hint });
    const { frame, column } = this.redact(this.lines[at.line - 1], at.column);
    return new InputError(message, { file: this.path, line: at.line, column: at.column, hint, frame, frameColumn: column });
  }

  /**
   * Replace secret values on a frame line with <redacted>, moving the caret with the text. In a flow
   * mapping an unquoted value ends at `,` or `}`, as YAML itself reads it; in block style at the end of the line.
   */
  private redact(line: string | undefined, column: number): { frame?: string; column: number } {
    if (line === undefined || !this.secretLine) return { frame: line, column };
    let out = '';
    let rest = line;
    let col = column;
    for (let m = this.secretLine.exec(rest); m; m = this.secretLine.exec(rest)) {
      const start = out.length + m.index + m[0].length;
      const flow = (out + rest.slice(0, m.index)).includes('{');
      const value = /^("(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?)/.exec(rest.slice(m.index + m[0].length))?.[0] ?? (flow ? /^[^,}\]]*/ : /^.*/).exec(rest.slice(m.index + m[0].length))![0].trimEnd();
      const end = start + value.length;
      if (col > end) col -= value.length - REDACTED.length;
      else if (col > start) col = start + 1;
      out += rest.slice(0, m.index + m[0].length) + REDACTED;
      rest = rest.slice(m.index + m[0].length + value.length);
    }
    return { frame: out + rest, column: col };
  }

  isMap(node: YNode | null): boolean {
    return isMap(node);
  }

  isSeq(node: YNode | null): boolean {
    return isSeq(node);
  }

  isScalar(node: YNode | null): boolean {
    return isScalar(node);
  }

  /**
   * The pairs of a mapping with string keys; non-scalar keys are an error. YAML merge keys
   * (`<<: *defaults`) are expanded: keys written in the mapping win, then earlier merged maps.
   */
  entries(node: YNode | null): Entry[] {
    if (!node || !isMap(node)) return [];
    const own: Entry[] = [];
    const merged: Entry[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as YNode;
      const value = this.deref(pair.value as YNode | null);
      // with `merge: true` the parser gives a plain `<<` key a symbol value
      if (isScalar(keyNode) && (typeof keyNode.value === 'symbol' || (keyNode.value === '<<' && keyNode.type === 'PLAIN'))) {
        const sources = value && isSeq(value) ? this.items(value) : [value];
        for (const m of sources) {
          if (m && isMap(m)) merged.push(...this.entries(m));
          else throw this.error(m ?? keyNode, 'a merge key `<<` takes an alias of a mapping, like `<<: *defaults`');
        }
        continue;
      }
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        throw this.error(keyNode, 'a key must be a plain name');
      }
      own.push({ key: String(keyNode.value), keyNode, value });
    }
    const seen = new Set(own.map((e) => e.key));
    for (const e of merged) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      own.push(e);
    }
    return own;
  }

  items(node: YNode | null): YNode[] {
    if (!node || !isSeq(node)) return [];
    return node.items.map((n) => this.deref(n as YNode)).filter((n): n is YNode => n !== null);
  }

  /** A scalar's value (numbers, booleans, strings), or undefined for collections. */
  scalar(node: YNode | null): unknown {
    return node && isScalar(node) ? node.value : undefined;
  }
}

/** A YAML node's kind for messages: "a mapping", "a list", "the number 644". */
export function describeNode(f: YamlFile, node: YNode | null): string {
  if (node === null) return 'nothing';
  if (f.isMap(node)) return 'a mapping';
  if (f.isSeq(node)) return 'a list';
  const v = f.scalar(node);
  if (v === null) return 'nothing';
  if (typeof v === 'string') return 'a string';
  return `the ${typeof v} ${String(v)}`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Readers for the keywords plays, tasks and role entries share; each reports a positioned error. */
import type { InputError } from '../core/input-error.js';
import { parseBool } from '../inventory/connection.js';
import { describeNode, type YNode, type YamlFile } from '../inventory/yaml-doc.js';
import { checkExpression } from './template.js';

export interface FieldContext {
  file: YamlFile;
  errors: InputError[];
}

/** `tags: a`, `tags: "a, b"` or `tags: [a, b]` (Ansible accepts all three) */
export function stringList(c: FieldContext, key: string, node: YNode | null, splitCommas = true): string[] {
  const { file } = c;
  if (node === null || file.scalar(node) === null) return [];
  const one = (n: YNode): string[] => {
    const v = file.scalar(n);
    if (typeof v === 'string' || typeof v === 'number') {
      const s = String(v);
      return splitCommas ? s.split(',').map((x) => x.trim()).filter(Boolean) : [s];
    }
    c.errors.push(file.error(n, `\`${key}\` must be a string or a list of strings, not ${describeNode(file, n)}`));
    return [];
  };
  if (file.isSeq(node)) return file.items(node).flatMap(one);
  return one(node);
}

export function bool(c: FieldContext, key: string, node: YNode | null): boolean | undefined {
  const v = parseBool(c.file.scalar(node));
  if (v === undefined) c.errors.push(c.file.error(node, `\`${key}\` must be true or false, not ${describeNode(c.file, node)}`));
  return v;
}

/**
 * `when:` as a boolean, an expression (its `{{ }}` wrapper, which Ansible warns about, is dropped),
 * or a list of expressions that must all hold. The expression's syntax is checked now.
 */
export function when(c: FieldContext, node: YNode | null, key = 'when'): string | boolean | undefined {
  const { file } = c;
  if (node === null) return undefined;
  const v = file.scalar(node);
  if (typeof v === 'boolean') return v;
  const parts = file.isSeq(node) ? file.items(node) : [node];
  const exprs: string[] = [];
  for (const p of parts) {
    const s = file.scalar(p);
    if (typeof s === 'boolean') {
      exprs.push(s ? 'true' : 'false');
      continue;
    }
    if (typeof s !== 'string' || !s.trim()) {
      c.errors.push(file.error(p, `\`${key}\` must be an expression (like \`x == 'y'\`) or true/false, not ${describeNode(file, p)}`));
      continue;
    }
    const expr = s.trim().replace(/^\{\{([\s\S]*)\}\}$/, '$1').trim();
    const bad = checkExpression(expr);
    if (bad) c.errors.push(file.error(p, `\`${key}\`: ${bad}`));
    exprs.push(expr);
  }
  if (exprs.length === 0) return undefined;
  return exprs.length === 1 ? exprs[0] : exprs.map((e) => `(${e})`).join(' and ');
}

export function text(c: FieldContext, key: string, node: YNode | null): string | undefined {
  const v = c.file.scalar(node);
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  c.errors.push(c.file.error(node, `\`${key}\` must be a string, not ${describeNode(c.file, node)}`));
  return undefined;
}

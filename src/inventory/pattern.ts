/**
 * Host patterns, as in Ansible's `hosts:` and `--limit`: `all` / `*`, host and group names, globs
 * (`web*`), `~regex`, joined by `,` (or `:`), with `&group` (intersection) and `!group` (exclusion).
 * Like Ansible, plain terms are unioned first, then intersections, then exclusions are applied,
 * whatever order they were written in; a pattern with only `&`/`!` terms starts from `all`.
 */
import { InputError, type SourcePos } from '../core/input-error.js';
import { nearest } from '../core/suggest.js';
import type { Inventory } from './types.js';

interface Term {
  op: '' | '&' | '!';
  text: string;
  /** offset of the term in the pattern, for the error column */
  offset: number;
}

function splitPattern(pattern: string, inv: Inventory): Term[] {
  const terms: Term[] = [];
  // `:` separates too (old Ansible syntax), unless the whole pattern is one host name (IPv6)
  const sep = pattern.includes(',') || inv.hosts.has(pattern.replace(/^[!&]/, '')) ? /,/ : /[,:]/;
  let offset = 0;
  for (const part of pattern.split(sep)) {
    const lead = part.length - part.trimStart().length;
    let text = part.trim();
    let at = offset + lead;
    offset += part.length + 1;
    if (!text) continue;
    let op: Term['op'] = '';
    if (text[0] === '!' || text[0] === '&') {
      op = text[0] as Term['op'];
      text = text.slice(1).trim();
      at += 1;
    }
    if (text) terms.push({ op, text, offset: at });
  }
  return terms;
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

/** Hosts a term names, in inventory order; undefined when an exact name matches nothing. */
function matchTerm(inv: Inventory, text: string): Set<string> | undefined {
  const all = [...inv.hosts.keys()];
  const inGroups = (groups: string[]) => new Set(all.filter((h) => inv.hosts.get(h)!.groups.some((g) => groups.includes(g))));
  if (text === 'all' || text === '*') return new Set(all);
  let matchName: ((name: string) => boolean) | undefined;
  if (text.startsWith('~')) {
    // anchored at the start like Python's re.match, which Ansible uses
    const re = new RegExp(`^(?:${text.slice(1)})`);
    matchName = (n) => re.test(n);
  } else if (/[*?]/.test(text)) {
    const re = globToRegExp(text);
    matchName = (n) => re.test(n);
  }
  if (!matchName) {
    // a group wins over a host of the same name, as in Ansible
    if (inv.groups.has(text)) return inGroups([text]);
    if (inv.hosts.has(text)) return new Set([text]);
    return undefined;
  }
  const groups = [...inv.groups.keys()].filter(matchName);
  const out = inGroups(groups);
  for (const h of all) if (matchName(h)) out.add(h);
  return out;
}

/**
 * The hosts a pattern selects, in inventory order. An exact name that is neither a host nor a
 * group is an InputError (with a suggestion); a glob matching nothing simply selects nothing.
 * `origin` positions the error: the playbook's `hosts:` value, or e.g. `{ file: '--limit' }`.
 */
export function selectHosts(inv: Inventory, pattern: string, origin: Partial<SourcePos> & { file: string } = { file: '<pattern>' }): string[] {
  const terms = splitPattern(pattern, inv);
  const problems: InputError[] = [];
  const sets = terms.map((t) => {
    let s: Set<string> | undefined;
    try {
      s = matchTerm(inv, t.text);
    } catch (e) {
      problems.push(termError(origin, t, `bad regular expression \`${t.text}\`: ${(e as Error).message}`));
      return new Set<string>();
    }
    if (!s) {
      const near = nearest(t.text, [...inv.groups.keys(), ...inv.hosts.keys()]);
      problems.push(termError(origin, t, `\`${t.text}\` is neither a host nor a group in the inventory`, near && `did you mean \`${near}\`?`));
      return new Set<string>();
    }
    return s;
  });
  const err = InputError.combine(problems);
  if (err) throw err;

  const plain = terms.flatMap((t, i) => (t.op === '' ? [sets[i]] : []));
  let selected = plain.length ? new Set(plain.flatMap((s) => [...s])) : new Set(inv.hosts.keys());
  terms.forEach((t, i) => {
    if (t.op === '&') selected = new Set([...selected].filter((h) => sets[i].has(h)));
  });
  terms.forEach((t, i) => {
    if (t.op === '!') for (const h of sets[i]) selected.delete(h);
  });
  return [...inv.hosts.keys()].filter((h) => selected.has(h));
}

function termError(origin: Partial<SourcePos> & { file: string }, t: Term, message: string, hint?: string): InputError {
  const column = origin.column === undefined ? undefined : origin.column + t.offset;
  return new InputError(message, { file: origin.file, line: origin.line, column, hint });
}

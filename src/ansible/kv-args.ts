/**
 * Ansible's `key=value` argument strings (`apt: name=nginx state=present`, `command: chdir=/srv make`).
 * Words are split on blanks outside quotes and outside `{{ }}` / `{% %}`; a word `key=value` is an
 * argument (quotes around the value removed), any other word is part of the free-form text, which
 * only free-form modules (command, shell) accept. For those, as in Ansible, only their own option
 * names are taken out of the text: `command: echo a=b` keeps `a=b` in the command.
 */

export interface KeyValueArgs {
  args: Record<string, string>;
  /** the words that are not `key=value`, joined by single spaces as written */
  free: string;
  /** words neither an argument nor allowed free text (non-free-form modules) */
  stray: string[];
}

/** Split like Ansible's split_args: blanks separate words except inside quotes or Jinja blocks. */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const two = s.slice(i, i + 2);
    if (!quote && (two === '{{' || two === '{%' || two === '{#')) {
      depth++;
      cur += two;
      i++;
      continue;
    }
    if (!quote && depth > 0 && (two === '}}' || two === '%}' || two === '#}')) {
      depth--;
      cur += two;
      i++;
      continue;
    }
    if (ch === '\\' && i + 1 < s.length && (s[i + 1] === '"' || s[i + 1] === "'")) {
      cur += ch + s[i + 1];
      i++;
      continue;
    }
    if (quote) {
      if (ch === quote) quote = undefined;
      cur += ch;
      continue;
    }
    if ((ch === '"' || ch === "'") && depth === 0) {
      quote = ch;
      cur += ch;
      continue;
    }
    if (/\s/.test(ch) && depth === 0) {
      if (cur) words.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur) words.push(cur);
  return words;
}

function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

/**
 * @param freeFormKeys for free-form modules, the option names taken out of the text; undefined for
 *   other modules (every word must then be `key=value`)
 */
export function parseKeyValue(s: string, freeFormKeys?: readonly string[]): KeyValueArgs {
  const args: Record<string, string> = {};
  const free: string[] = [];
  const stray: string[] = [];
  for (const w of splitWords(s)) {
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)=([\s\S]*)$/.exec(w);
    if (m && (!freeFormKeys || freeFormKeys.includes(m[1]))) args[m[1]] = unquote(m[2]);
    else if (freeFormKeys) free.push(w);
    else stray.push(w);
  }
  return { args, free: free.join(' '), stray };
}

/** Whether a module's string argument is written as `key=value` words (vs. one free-form value). */
export function looksLikeKeyValue(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_-]*=/.test(s.trim());
}

/**
 * Words of a command line split as Python's `shlex.split` (POSIX mode) splits them, which is what
 * Ansible's `command` does with a free-form string: quotes group, backslashes escape, and nothing
 * else is special. `;`, `|`, `$(...)` and `>` are plain characters here: no shell ever sees them.
 */
export function shlexSplit(s: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      // inside double quotes a backslash escapes only `"` and itself (shlex's escapedquotes)
      else if (c === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) word += s[++i];
      else word += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\') {
      if (i + 1 >= s.length) throw new Error('no escaped character after the final backslash');
      word += s[++i];
    } else word += c;
  }
  if (quote) throw new Error(`no closing quotation (${quote})`);
  if (inWord) words.push(word);
  return words;
}

/**
 * String literals inside templates read as Jinja reads them (Python's unicode-escape): `\1` is the
 * character 1 and `\\1` a backslash and 1 (what regex_replace wants), and an unknown escape such as
 * `\s` or `\d` keeps its backslash. nunjucks would drop that backslash, turning the `'\s+'` an
 * Ansible playbook writes into `'s+'`.
 */
import { nunjucks } from './nunjucks-lib.js';

interface Tokenizer {
  forward(): void;
  current(): string;
  isFinished(): boolean;
  _parseString(delimiter: string): string;
}

const SIMPLE: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };

let patched = false;

export function pythonStringLiterals(): void {
  if (patched) return;
  patched = true;
  const lexer = (nunjucks() as unknown as { lexer: { lex(src: string): Tokenizer } }).lexer;
  const proto = Object.getPrototypeOf(lexer.lex('')) as Tokenizer;
  proto._parseString = function (this: Tokenizer, delimiter: string): string {
    this.forward();
    let str = '';
    const take = (re: RegExp, max: number) => {
      let s = '';
      while (s.length < max && !this.isFinished() && re.test(this.current())) {
        s += this.current();
        this.forward();
      }
      return s;
    };
    while (!this.isFinished() && this.current() !== delimiter) {
      const cur = this.current();
      this.forward();
      if (cur !== '\\') {
        str += cur;
        continue;
      }
      const c = this.current();
      if (c in SIMPLE) {
        str += SIMPLE[c];
        this.forward();
      } else if (/[0-7]/.test(c)) {
        str += String.fromCharCode(parseInt(take(/[0-7]/, 3), 8));
      } else if (c === 'x' || c === 'u' || c === 'U') {
        this.forward();
        const hex = take(/[0-9a-fA-F]/, c === 'x' ? 2 : c === 'u' ? 4 : 8);
        str += hex ? String.fromCodePoint(parseInt(hex, 16)) : `\\${c}`;
      } else {
        // not an escape Python knows: the backslash stays
        str += '\\';
      }
    }
    this.forward();
    return str;
  };
}

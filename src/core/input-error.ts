/**
 * A mistake in what the operator wrote (inventory, playbook, --limit, -e): reported as
 * `FILE:LINE:COL: message` with the offending line and a caret, like a compiler. The CLI exits 64
 * (EX_USAGE) on it before contacting any host, so a typo never half-applies a run.
 */

/** Where something was written; line and column are 1-based. */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export interface InputErrorOptions {
  /** the file (or the flag, e.g. `--limit`) the mistake is in; omitted for a bare command-line mistake */
  file?: string;
  line?: number;
  column?: number;
  /** what to do about it, e.g. "did you mean `identity_file`?" */
  hint?: string;
  /** the text of the offending line, already stripped of secrets; shown under the message */
  frame?: string;
  /** where the caret goes in `frame` when redaction moved the text; defaults to `column` */
  frameColumn?: number;
}

export class InputError extends Error {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly hint?: string;
  readonly frame?: string;
  private readonly frameColumn?: number;
  /** further problems found in the same pass, so one run reports every typo at once */
  others: InputError[] = [];

  constructor(message: string, opts: InputErrorOptions = {}) {
    super(message);
    this.name = 'InputError';
    this.file = opts.file ?? '';
    this.line = opts.line;
    this.column = opts.column;
    this.hint = opts.hint;
    this.frame = opts.frame;
    this.frameColumn = opts.frameColumn;
  }

  /** `FILE:LINE:COL` (as much of it as is known) */
  get location(): string {
    if (this.line === undefined) return this.file;
    return `${this.file}:${this.line}${this.column === undefined ? '' : `:${this.column}`}`;
  }

  /** The report for a terminal: location, message, code frame with a caret, hint; then the others. */
  format(maxOthers = 20): string {
    const all = [this, ...this.others];
    const shown = all.slice(0, maxOthers + 1).map((e) => e.formatOne());
    if (all.length > shown.length) shown.push(`... and ${all.length - shown.length} more problems`);
    return shown.join('\n\n');
  }

  private formatOne(): string {
    const out = [this.location ? `${this.location}: ${this.message}` : this.message];
    if (this.frame !== undefined && this.line !== undefined) {
      const gutter = String(this.line);
      out.push(`  ${gutter} | ${this.frame}`);
      const col = Math.max(1, Math.min(this.frameColumn ?? this.column ?? 1, this.frame.length + 1));
      // keep tabs so the caret lines up under tab-indented text
      const pad = this.frame.slice(0, col - 1).replace(/[^\t]/g, ' ');
      out.push(`  ${' '.repeat(gutter.length)} | ${pad}^${this.hint ? ` ${this.hint}` : ''}`);
    } else if (this.hint) {
      out.push(`  ${this.hint}`);
    }
    return out.join('\n');
  }

  /** One error carrying all of `errors` (the first is the headline); undefined for none. */
  static combine(errors: InputError[]): InputError | undefined {
    if (errors.length === 0) return undefined;
    const [first, ...rest] = errors;
    first.others = [...first.others, ...rest.flatMap((e) => [e, ...e.others])];
    return first;
  }
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}

/** The same bad value inherited by many hosts, or seen twice, is one problem. */
export function uniqueErrors(errors: InputError[]): InputError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.location}\0${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Reading order: by file as first met, then line and column, so the headline is the first mistake in the file. */
export function sortErrors(errors: InputError[]): InputError[] {
  const files = [...new Set(errors.map((e) => e.file))];
  return [...errors].sort(
    (a, b) => files.indexOf(a.file) - files.indexOf(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
}

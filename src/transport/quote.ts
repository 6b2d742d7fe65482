/**
 * POSIX single-quote quoting for the few command lines the transports build themselves. The remote
 * shell is dash, so bash-only forms like $'..' are never an option.
 */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

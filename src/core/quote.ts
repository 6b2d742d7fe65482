/**
 * POSIX sh quoting for the remote shell (dash on Debian). Single quotes protect everything
 * except a single quote itself, which is closed, escaped and reopened: 'it'\''s'.
 * Never use zx's quote() for remote commands: it emits bash-only $'...' strings.
 */
export function shq(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL byte cannot be passed through a POSIX shell');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quote every word of an argv and join them into one shell command. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shq).join(' ');
}

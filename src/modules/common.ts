import { z } from 'zod';

/**
 * A file mode: an octal string ("0644", "644"), or a number as Ansible takes it. YAML 1.1 reads an
 * unquoted `0644` as the octal number 420, and Ansible uses a number as the mode bits themselves, so
 * 420 means 0644. (An unquoted `644` without the zero is the decimal 644 = mode 01204 in Ansible;
 * the playbook loader refuses that spelling, see decimalModeHint.)
 */
export const modeSchema = z.preprocess(
  (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o7777 ? '0' + v.toString(8).padStart(3, '0') : v),
  z.string({ error: () => 'mode must be an octal string like "0644"' }).regex(/^0?[0-7]{3,4}$/, 'mode must be an octal string like "0644"'),
);

/**
 * Why a `mode` written as a bare decimal (`mode: 644`) is refused: Ansible would set mode 01204,
 * which nobody means. Undefined when the text is fine (quoted, or octal with its leading zero).
 */
export function decimalModeHint(raw: string | undefined): string | undefined {
  if (raw === undefined || !/^[1-9][0-9]*$/.test(raw.trim())) return undefined;
  const n = Number(raw);
  return `\`mode: ${raw}\` is the decimal number ${raw} in YAML, which Ansible applies as mode 0${n.toString(8)}; write \`mode: "0${raw}"\` (or \`0${raw}\` with its leading zero)`;
}

/** "0644" -> "644", as `stat -c %a` prints it. */
export function normalizeMode(mode: string | undefined): string | undefined {
  if (mode === undefined) return undefined;
  const n = mode.replace(/^0+(?=[0-7]{3})/, '');
  return n.length === 4 && n.startsWith('0') ? n.slice(1) : n;
}

/**
 * A user or group name (or a numeric id) as chown reads it. A value starting with `-` would be read
 * as an option (`--reference=/etc/shadow`), and spaces, colons or slashes are never part of a name.
 */
export const ownerSchema = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/, 'must be a user or group name (letters, digits, _ . -, not starting with -) or a numeric id');

/**
 * Files whose change decides who may log in or become root: a mistake there locks the operator out
 * (a sudoers drop-in with deploy_sudo none|password, PAM, sshd). Writing or removing one is guarded:
 * the engine snapshots it and a new login with sudo must confirm the change.
 */
export function accessCriticalFile(path: string): string | undefined {
  if (/^\/etc\/sudoers(\.d\/[^/]+)?$/.test(path)) return `changes sudo rules (${path}): confirmed by a new login that uses sudo`;
  if (/^\/etc\/pam\.d\//.test(path)) return `changes PAM (${path}), which decides logins`;
  if (/^\/etc\/ssh\/sshd_config(\.d\/[^/]+)?$/.test(path)) return `changes sshd's configuration (${path})`;
  return undefined;
}

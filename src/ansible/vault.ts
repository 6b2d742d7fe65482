/**
 * Ansible Vault (format 1.1 and 1.2, AES256): `!vault |` values and whole vault-encrypted files.
 * The envelope is `$ANSIBLE_VAULT;1.1;AES256` (1.2 adds `;LABEL`), then hex lines whose bytes are
 * three hex lines: salt, HMAC-SHA256 of the ciphertext, ciphertext. Keys come from
 * PBKDF2-SHA256(password, salt, 10000 iterations, 80 bytes): 32 for AES-256-CTR, 32 for the HMAC,
 * 16 for the counter's initial value. The plaintext is PKCS#7 padded.
 *
 * Passwords are given once by the CLI (--vault-password-file, --ask-vault-pass) before any file is
 * read; every decrypted value is declared secret, so it is masked in every output.
 */
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { addSecret } from '../core/redact.js';

const HEADER = /^\$ANSIBLE_VAULT;(1\.[12]);AES256(?:;([^\s;]+))?\s*$/;

export class VaultError extends Error {}

let passwords: { id?: string; password: string }[] = [];

/** The passwords files may be decrypted with (the CLI sets them; tests too). */
export function setVaultPasswords(list: { id?: string; password: string }[]): void {
  passwords = list;
}

export function hasVaultPasswords(): boolean {
  return passwords.length > 0;
}

export function isVaulted(text: string): boolean {
  return text.trimStart().startsWith('$ANSIBLE_VAULT;');
}

function keys(password: string, salt: Buffer) {
  const k = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, 10000, 80, 'sha256');
  return { cipher: k.subarray(0, 32), hmac: k.subarray(32, 64), iv: k.subarray(64, 80) };
}

/** Decrypt with one password; throws VaultError when it is not the right one. */
export function decryptWith(envelope: string, password: string): string {
  const lines = envelope.trim().split(/\r?\n/).map((l) => l.trim());
  const head = HEADER.exec(lines[0] ?? '');
  if (!head) throw new VaultError('not an Ansible Vault envelope (expected `$ANSIBLE_VAULT;1.1;AES256` on its first line)');
  const body = Buffer.from(lines.slice(1).join(''), 'hex').toString('utf8');
  const [saltHex, hmacHex, dataHex] = body.split('\n');
  if (!saltHex || !hmacHex || !dataHex) throw new VaultError('the vault data is damaged (expected salt, HMAC and ciphertext)');
  const data = Buffer.from(dataHex, 'hex');
  const k = keys(password, Buffer.from(saltHex, 'hex'));
  const mac = createHmac('sha256', k.hmac).update(data).digest();
  const want = Buffer.from(hmacHex, 'hex');
  if (want.length !== mac.length || !timingSafeEqual(mac, want)) throw new VaultError('wrong vault password (the HMAC does not match)');
  const d = createDecipheriv('aes-256-ctr', k.cipher, k.iv);
  const padded = Buffer.concat([d.update(data), d.final()]);
  const pad = padded[padded.length - 1];
  if (pad < 1 || pad > 16) throw new VaultError('the vault data is damaged (bad padding)');
  return padded.subarray(0, padded.length - pad).toString('utf8');
}

/** Decrypt with the configured passwords (a 1.2 label picks its password first). */
export function decrypt(envelope: string): string {
  if (passwords.length === 0) throw new VaultError('this value is encrypted with Ansible Vault: give the password with --vault-password-file FILE or --ask-vault-pass');
  const label = HEADER.exec(envelope.trim().split(/\r?\n/)[0]?.trim() ?? '')?.[2];
  const ordered = [...passwords].sort((a, b) => Number(b.id === label) - Number(a.id === label));
  let last: unknown;
  for (const p of ordered) {
    try {
      const text = decryptWith(envelope, p.password);
      addSecret(text);
      return text;
    } catch (e) {
      last = e;
      if (!(e instanceof VaultError) || !/wrong vault password/.test(e.message)) throw e;
    }
  }
  throw last instanceof VaultError && passwords.length > 1 ? new VaultError('none of the vault passwords given decrypts this value') : last;
}

/** Encrypt as `ansible-vault encrypt_string` does (format 1.1, or 1.2 with a label); for tests and tooling. */
export function encrypt(plaintext: string, password: string, label?: string): string {
  const salt = randomBytes(32);
  const k = keys(password, salt);
  const raw = Buffer.from(plaintext, 'utf8');
  const pad = 16 - (raw.length % 16);
  const c = createCipheriv('aes-256-ctr', k.cipher, k.iv);
  const data = Buffer.concat([c.update(Buffer.concat([raw, Buffer.alloc(pad, pad)])), c.final()]);
  const mac = createHmac('sha256', k.hmac).update(data).digest('hex');
  const hex = Buffer.from(`${salt.toString('hex')}\n${mac}\n${data.toString('hex')}`, 'utf8').toString('hex');
  const lines = hex.match(/.{1,80}/g) ?? [];
  return [`$ANSIBLE_VAULT;${label ? `1.2;AES256;${label}` : '1.1;AES256'}`, ...lines].join('\n');
}

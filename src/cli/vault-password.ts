/**
 * Where the vault passwords come from: --vault-password-file FILE (a file's first line, or the
 * stdout of an executable file, as in Ansible; also ANSIBLE_VAULT_PASSWORD_FILE), --vault-id
 * LABEL@FILE, and --ask-vault-pass (asked on the terminal without echo).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { setVaultPasswords } from '../ansible/vault.js';
import { InputError } from '../core/input-error.js';
import { addSecret } from '../core/redact.js';

export interface VaultFlags {
  vaultPasswordFile?: string[];
  vaultId?: string[];
  askVaultPass?: boolean;
}

function fromFile(path: string, flag: string): string {
  let text: string;
  try {
    let executable = false;
    try {
      accessSync(path, constants.X_OK);
      executable = readFileSync(path).subarray(0, 2).toString() === '#!';
    } catch {
      executable = false;
    }
    text = executable ? execFileSync(path, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }) : readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file: flag });
  }
  const pw = text.split(/\r?\n/)[0].trim();
  if (!pw) throw new InputError(`${flag} ${path}: the file is empty`, { file: flag });
  return pw;
}

async function ask(): Promise<string> {
  if (!process.stdin.isTTY) throw new InputError('--ask-vault-pass needs a terminal', { file: '--ask-vault-pass', hint: 'use --vault-password-file FILE' });
  process.stderr.write('Vault password: ');
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve) => {
    let pw = '';
    const onData = (b: Buffer) => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(pw);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        if (ch === '\u007f') pw = pw.slice(0, -1);
        else pw += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Read the passwords the flags name and hand them to the vault before any file is loaded. */
export async function setupVault(flags: VaultFlags): Promise<void> {
  const list: { id?: string; password: string }[] = [];
  const files = [...(flags.vaultPasswordFile ?? [])];
  if (files.length === 0 && !flags.vaultId?.length && !flags.askVaultPass && process.env.ANSIBLE_VAULT_PASSWORD_FILE) files.push(process.env.ANSIBLE_VAULT_PASSWORD_FILE);
  for (const f of files) list.push({ password: fromFile(f, '--vault-password-file') });
  for (const v of flags.vaultId ?? []) {
    const at = v.indexOf('@');
    const id = at > 0 ? v.slice(0, at) : undefined;
    const src = at > 0 ? v.slice(at + 1) : v;
    list.push({ ...(id ? { id } : {}), password: src === 'prompt' ? await ask() : fromFile(src, '--vault-id') });
  }
  if (flags.askVaultPass) list.push({ password: await ask() });
  for (const p of list) addSecret(p.password);
  setVaultPasswords(list);
}

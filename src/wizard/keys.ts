/**
 * Public keys the operator may give the deploy user: those of ~/.ssh/*.pub, the identity file's
 * .pub and ssh-agent's keys (`ssh-add -L`), each once, labelled with type, fingerprint and comment.
 */
import { readFile, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { describeKey } from '../engine/host-link.js';

export interface OfferedKey {
  /** the authorized_keys line: "type base64 comment" */
  line: string;
  label: string;
}

const KEY_LINE = /^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+( .*)?$/;

export function keyBlob(line: string): string | undefined {
  return KEY_LINE.test(line.trim()) ? line.trim().split(/\s+/)[1] : undefined;
}

export function labelKey(line: string, from: string): string {
  const parts = line.trim().split(/\s+/);
  const comment = parts.slice(2).join(' ');
  return `${describeKey(parts[1])}${comment ? ` ${comment}` : ''} (${from})`;
}

export async function offeredKeys(identityFile: string | undefined, home = homedir(), agentSocket = process.env.SSH_AUTH_SOCK): Promise<OfferedKey[]> {
  const found: OfferedKey[] = [];
  const add = (line: string, from: string) => {
    const blob = keyBlob(line);
    if (blob && !found.some((k) => keyBlob(k.line) === blob)) found.push({ line: line.trim(), label: labelKey(line, from) });
  };
  if (identityFile) {
    const text = await readFile(`${identityFile}.pub`, 'utf8').catch(() => '');
    if (text) add(text.split('\n')[0], `${identityFile}.pub`);
  }
  const dir = join(home, '.ssh');
  const pubs = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.pub')).sort();
  for (const n of pubs) {
    const text = await readFile(join(dir, n), 'utf8').catch(() => '');
    if (text) add(text.split('\n')[0], `~/.ssh/${n}`);
  }
  for (const line of await agentKeyLines(agentSocket)) add(line, 'ssh-agent');
  return found;
}

function agentKeyLines(socket: string | undefined): Promise<string[]> {
  if (!socket) return Promise.resolve([]);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve([]), 3_000);
    try {
      ssh2.createAgent(socket).getIdentities((err, keys) => {
        clearTimeout(timer);
        resolve(err || !keys ? [] : keys.map((k) => { const p = k as ParsedKey; return `${p.type} ${p.getPublicSSH().toString('base64')} ${p.comment ?? ''}`.trim(); }));
      });
    } catch {
      clearTimeout(timer);
      resolve([]);
    }
  });
}

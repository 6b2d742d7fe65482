/**
 * Host key policy for ssh2 (which, left alone, trusts any key): known → go on; changed or revoked →
 * refuse loudly; unknown → record it only when the operator asked for accept-new, otherwise refuse
 * with the fingerprint to verify. Refusals are kept as UnreachableErrors because ssh2 itself only
 * reports "Host denied (verification failed)".
 */
import { shq as shQuote } from '../core/quote.js';
import {
  appendKnownHost,
  blobKeyType,
  checkHostKey,
  fingerprintSha256,
  knownHostsName,
  knownKeyTypes,
  type KnownHostEntry,
} from './known-hosts.js';
import { UnreachableError, type ConnectionSpec } from './types.js';

/** ssh2's default order, which we only reorder */
const DEFAULT_ALGOS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

const ALGOS_FOR_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * Ask for the key types already on record first (OpenSSH does the same), so a host known by its
 * RSA key is not reported as "changed" just because ed25519 comes first in the default order.
 */
export function hostKeyAlgorithms(entries: KnownHostEntry[], host: string, port: number): string[] {
  const preferred = knownKeyTypes(entries, host, port).flatMap((t) => ALGOS_FOR_TYPE[t] ?? []);
  return [...new Set([...preferred, ...DEFAULT_ALGOS])];
}

export interface HostKeyCheck {
  verifier: (key: Buffer, verify: (ok: boolean) => void) => void;
  /** why the key was refused, once the verifier has said no */
  problem(): UnreachableError | undefined;
  /** base64 of the key that was accepted */
  accepted(): string | undefined;
}

export function makeHostKeyCheck(
  spec: ConnectionSpec,
  entries: KnownHostEntry[],
  writeFile: string,
  log: (message: string) => void,
): HostKeyCheck {
  let problem: UnreachableError | undefined;
  let accepted: string | undefined;
  const refuse = (message: string, hint: string) => {
    problem = new UnreachableError(spec.name, message, hint, 'hostkey');
    return false;
  };
  const name = knownHostsName(spec.host, spec.port);

  const decide = async (key: Buffer): Promise<boolean> => {
    const type = blobKeyType(key) ?? 'unknown-type';
    const fp = fingerprintSha256(key);
    const verdict = checkHostKey(entries, spec.host, spec.port, key);
    switch (verdict.kind) {
      case 'ok':
        return true;
      case 'revoked':
        return refuse(
          `host key ${type} ${fp} of ${name} is marked @revoked (line ${verdict.entry.line} of ${verdict.entry.file})`,
          `the server still uses a revoked key: give ${spec.name} a new host key before connecting`,
        );
      case 'changed': {
        const old = verdict.entries[0];
        const what = verdict.sameType ? 'a different key' : `only other key types (${[...new Set(verdict.entries.map((e) => e.keyType))].join(', ')})`;
        const lines = verdict.entries.map((e) => `line ${e.line} of ${e.file}`).join(', ');
        return refuse(
          `HOST KEY FOR ${name} CHANGED: it now presents ${type} ${fp}, but ${lines} records ${what}. ` +
            'This could be a man-in-the-middle attack.',
          `if you rebuilt the server, remove the old line ${old.line} from ${old.file} with ` +
            `\`ssh-keygen -R ${shQuote(name)} -f ${shQuote(old.file)}\`, then verify the new key and re-run with --accept-new-host-keys`,
        );
      }
      case 'unknown':
        if (spec.pinnedHostKey !== undefined && spec.pinnedHostKey === key.toString('base64')) {
          await appendKnownHost(writeFile, spec.host, spec.port, key);
          log(`recorded host key ${type} ${fp} for ${name} in ${writeFile} (the key this host showed on its previous port)`);
          return true;
        }
        if (!spec.acceptNewHostKeys) {
          return refuse(
            `host key of ${name} is not known: ${type} ${fp}`,
            `verify it (on the server: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then re-run with --accept-new-host-keys`,
          );
        }
        await appendKnownHost(writeFile, spec.host, spec.port, key);
        log(`recorded new host key ${type} ${fp} for ${name} in ${writeFile}`);
        return true;
    }
  };

  return {
    verifier: (key, verify) => {
      decide(key).then((ok) => {
        if (ok) accepted = key.toString('base64');
        verify(ok);
      }, (err: Error) => {
        refuse(`cannot record the host key of ${name} in ${writeFile}: ${err.message}`, `check permissions of ${writeFile}`);
        verify(false);
      });
    },
    problem: () => problem,
    accepted: () => accepted,
  };
}

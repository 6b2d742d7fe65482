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
  certAuthorities,
  checkHostKey,
  fingerprintSha256,
  knownHostsName,
  knownKeyTypes,
  pinsOnOtherPorts,
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
export function hostKeyAlgorithms(entries: KnownHostEntry[], spec: Pick<ConnectionSpec, 'host' | 'port' | 'hostKeyAlias' | 'pinnedHostKeys'>): string[] {
  // pinned keys are the server's own (read over a verified connection): ask for those types first
  const pinned = (spec.pinnedHostKeys ?? []).map((k) => blobKeyType(Buffer.from(k, 'base64')) ?? '');
  const known = knownKeyTypes(entries, spec.host, spec.port, spec.hostKeyAlias);
  const preferred = [...pinned, ...known].flatMap((t) => ALGOS_FOR_TYPE[t] ?? []);
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
  const alias = spec.hostKeyAlias;
  const name = knownHostsName(spec.host, spec.port, alias);
  const record = (key: Buffer) => appendKnownHost(writeFile, spec.host, spec.port, key, alias);

  const decide = async (key: Buffer): Promise<boolean> => {
    const type = blobKeyType(key) ?? 'unknown-type';
    const fp = fingerprintSha256(key);
    const verdict = checkHostKey(entries, spec.host, spec.port, key, alias);
    if (verdict.kind === 'revoked') {
      return refuse(
        `host key ${type} ${fp} of ${name} is marked @revoked (line ${verdict.entry.line} of ${verdict.entry.file})`,
        `the server still uses a revoked key: give ${spec.name} a new host key before connecting`,
      );
    }
    if (spec.pinnedHostKeys?.length) {
      // A login that must reach the server we are already connected to (the guard's confirmation):
      // only that server's own keys will do. Never accept-new here: whatever answers first on a
      // moved port would otherwise get the sudo password and the inventory's `port:`.
      if (!spec.pinnedHostKeys.includes(key.toString('base64'))) {
        const theirs = spec.pinnedHostKeys.map((k) => fingerprintSha256(Buffer.from(k, 'base64'))).join(', ');
        return refuse(
          `${name} presents host key ${type} ${fp}, which is not one of the keys of the server this run is connected to (${theirs}): ` +
            'something else answers there. Nothing was sent to it.',
          `check what listens on ${spec.host} port ${spec.port}; --accept-new-host-keys never overrides this`,
        );
      }
      if (verdict.kind !== 'ok') {
        // the same server, verified over the open connection: record the key it uses from now on
        // (a moved port, or a key type that replaced the one on record)
        await record(key);
        log(`recorded host key ${type} ${fp} for ${name} in ${writeFile} (read over the verified connection to this server)`);
      }
      return true;
    }
    switch (verdict.kind) {
      case 'ok':
        return true;
      case 'changed': {
        const old = verdict.entries[0];
        const what = verdict.sameType ? 'a different key' : `only other key types (${[...new Set(verdict.entries.map((e) => e.keyType))].join(', ')})`;
        const lines = verdict.entries.map((e) => `line ${e.line} of ${e.file}`).join(', ');
        return refuse(
          `HOST KEY FOR ${name} CHANGED: it now presents ${type} ${fp}, but ${lines} records ${what} ` +
            `(${verdict.entries.map((e) => `${e.keyType} ${fingerprintSha256(e.key)}`).join(', ')}). ` +
            'This could be a man-in-the-middle attack.',
          `if you rebuilt the server, remove the old line ${old.line} from ${old.file} with ` +
            `\`ssh-keygen -R ${shQuote(name)} -f ${shQuote(old.file)}\`, then verify the new key and re-run with --accept-new-host-keys`,
        );
      }
      case 'unknown': {
        const cas = certAuthorities(entries, spec.host, spec.port, alias);
        if (cas.length) {
          // the operator vouches for this host only through a CA: recording a bare key would quietly replace that trust
          return refuse(
            `${name} is trusted only through @cert-authority (line ${cas[0].line} of ${cas[0].file}), but shipshape's SSH library ` +
              `cannot verify host certificates; the host presented the plain key ${type} ${fp}`,
            `verify that key (on the server: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and add it as a plain line for ${name} ` +
              `to ${writeFile}; --accept-new-host-keys does not apply to hosts covered by a @cert-authority line`,
          );
        }
        // the same host is on record on another port: accept-new may only record one of ITS keys
        // (the operator moved sshd), never a key nobody vouched for (whatever answers on that port)
        const pins = pinsOnOtherPorts(entries, spec.host, spec.port, alias);
        if (spec.acceptNewHostKeys && pins.length && !pins.some((e) => e.key.equals(key))) {
          const theirs = pins.map((e) => `${e.keyType} ${fingerprintSha256(e.key)} (line ${e.line} of ${e.file})`).join(', ');
          return refuse(
            `${name} presents host key ${type} ${fp}, but ${spec.host} is on record with other keys on another port: ${theirs}. ` +
              'Something else may answer on this port; nothing was sent to it and nothing was recorded.',
            `check what listens on ${spec.host} port ${spec.port}; if it really is another server, verify its key and add a line for ${name} ` +
              `to ${writeFile}: --accept-new-host-keys never overrides a key on record for the host`,
          );
        }
        if (!spec.acceptNewHostKeys) {
          return refuse(
            `host key of ${name} is not known: ${type} ${fp}`,
            `verify it (on the server: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then re-run with --accept-new-host-keys`,
          );
        }
        await record(key);
        log(`recorded new host key ${type} ${fp} for ${name} in ${writeFile}`);
        return true;
      }
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

/**
 * SHA-512 crypt (`$6$`), the scheme Debian's /etc/shadow uses and Ansible's `password_hash('sha512')`
 * produces: Ulrich Drepper's published algorithm ("Unix crypt using SHA-256 and SHA-512"), written
 * from its specification on node:crypto. Checked against `openssl passwd -6` in the unit tests.
 */
import { createHash } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const SALT_CHARS = ITOA64;
const ROUNDS_DEFAULT = 5000;

const sha512 = (...parts: Buffer[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `len` bytes of `block` repeated */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) out[i] = block[i % block.length];
  return out;
}

export function sha512Crypt(password: string, salt: string, rounds?: number): string {
  const explicit = rounds !== undefined && rounds !== ROUNDS_DEFAULT;
  const r = rounds === undefined ? ROUNDS_DEFAULT : Math.min(999_999_999, Math.max(1000, Math.floor(rounds)));
  const P = Buffer.from(password, 'utf8');
  const S = Buffer.from(salt, 'utf8').subarray(0, 16);

  const B = sha512(P, S, P);
  const a = createHash('sha512');
  a.update(P);
  a.update(S);
  a.update(repeatTo(B, P.length));
  for (let n = P.length; n > 0; n >>= 1) a.update(n & 1 ? B : P);
  const A = a.digest();

  const dp = createHash('sha512');
  for (let i = 0; i < P.length; i++) dp.update(P);
  const Pseq = repeatTo(dp.digest(), P.length);
  const ds = createHash('sha512');
  for (let i = 0; i < 16 + A[0]; i++) ds.update(S);
  const Sseq = repeatTo(ds.digest(), S.length);

  let C = A;
  for (let i = 0; i < r; i++) {
    const parts: Buffer[] = [i & 1 ? Pseq : C];
    if (i % 3) parts.push(Sseq);
    if (i % 7) parts.push(Pseq);
    parts.push(i & 1 ? C : Pseq);
    C = sha512(...parts);
  }

  let out = '';
  const b64 = (b2: number, b1: number, b0: number, n: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++, w >>= 6) out += ITOA64[w & 0x3f];
  };
  // the byte order of the specification's final encoding step
  for (let i = 0; i < 21; i++) {
    const x = [(i * 22) % 63, (i * 22 + 21) % 63, (i * 22 + 42) % 63];
    b64(C[x[0]], C[x[1]], C[x[2]], 4);
  }
  b64(0, 0, C[63], 2);
  return `$6$${explicit ? `rounds=${r}$` : ''}${S.toString('utf8')}$${out}`;
}

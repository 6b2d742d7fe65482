import { createHash } from 'node:crypto';
import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';

/** What the last successful fetch of one .sources file (by apt_repository) was, and whether its index is on disk. */
export interface SourceFetch {
  /** the stamp apt_repository wrote after its last successful update: a hash of the .sources file and key */
  stamp?: string;
  /** apt has index files for this source (`apt-get indextargets` lists only those on disk) */
  indexed: boolean;
}

/**
 * A failed update leaves no stamp (or an old one), so the next run fetches again instead of trusting
 * index files that an earlier key or URI left behind; an emptied /var/lib/apt/lists is noticed too.
 */
export function sourceFetch(sourcesPath: string, stampPath: string) {
  const p = shq(sourcesPath);
  return probe<SourceFetch>(
    `apt-source-fetch:${sourcesPath}`,
    [
      // the stamp's one line by the shell's own read: no process while the source is not there
      `__ss_l=; { IFS= read -r __ss_l; } < ${shq(stampPath)} 2>/dev/null; printf '%s\\n' "$__ss_l"`,
      // one line per index file on disk, a few at most: the parser looks for any, so no `head` (one process less)
      `if [ -f ${p} ]; then apt-get indextargets -o Dir::Etc::sourcelist=${p} -o Dir::Etc::sourceparts=- --format '$(FILENAME)'; fi`,
    ].join('\n'),
    (out) => {
      const [stamp = '', ...index] = out.split('\n');
      return { ...(stamp.trim() ? { stamp: stamp.trim() } : {}), indexed: index.some((l) => l.trim() !== '') };
    },
    { inline: true },
  );
}

// ---- OpenPGP keys, read on the controller: what a key file IS, without gpg ----------------------------

/** An OpenPGP public key block, decoded far enough to name its keys. */
export interface PublicKeyBlock {
  /** fingerprints (upper-case hex) of the primary keys, in order */
  primary: string[];
  /** fingerprints of the subkeys */
  subkeys: string[];
}

const BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const END = '-----END PGP PUBLIC KEY BLOCK-----';

/**
 * Decode an ASCII-armored public key block (RFC 4880 section 6, RFC 9580) and compute the
 * fingerprints of its keys. Throws with a reason a user can act on: not armored, a private key, a
 * damaged copy (the CRC24 line does not match), no key inside.
 */
export function readArmoredKey(text: string): PublicKeyBlock {
  // the same key text is validated for every host of a run: decode it once
  let known = decoded.get(text);
  if (!known) {
    try {
      known = { block: decodeArmoredKey(text) };
    } catch (err) {
      known = { error: err as Error };
    }
    if (decoded.size > 100) decoded.clear();
    decoded.set(text, known);
  }
  if (known.error) throw known.error;
  return { primary: [...known.block!.primary], subkeys: [...known.block!.subkeys] };
}

const decoded = new Map<string, { block?: PublicKeyBlock; error?: Error }>();

function decodeArmoredKey(text: string): PublicKeyBlock {
  if (text.includes('PRIVATE KEY BLOCK')) throw new Error('this is a PRIVATE key block; apt needs the public key only');
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const start = lines.indexOf(BEGIN);
  const end = lines.indexOf(END, start + 1);
  if (start < 0 || end < 0) throw new Error(`not an ASCII-armored public key (expected "${BEGIN}" ... "${END}")`);
  let i = start + 1;
  // armor headers ("Version: ...", "Comment: ...") end at the first empty line
  if (lines.slice(i, end).includes('')) while (lines[i] !== '') i++;
  const body = lines.slice(i, end).filter(Boolean);
  const crcLine = body.length && /^=[A-Za-z0-9+/]{4}$/.test(body[body.length - 1]) ? body.pop() : undefined;
  const b64 = body.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error('the key block holds characters that are not base64: a damaged copy?');
  const data = Buffer.from(b64, 'base64');
  if (crcLine !== undefined && crc24(data) !== Buffer.from(crcLine.slice(1), 'base64').readUIntBE(0, 3)) {
    throw new Error('the key block does not match its checksum line (=XXXX): a damaged or truncated copy');
  }
  const block: PublicKeyBlock = { primary: [], subkeys: [] };
  for (const pkt of packets(data)) {
    if (pkt.tag === 6) block.primary.push(fingerprint(pkt.body));
    if (pkt.tag === 14) block.subkeys.push(fingerprint(pkt.body));
  }
  if (block.primary.length === 0) throw new Error('the armored block holds no public key');
  return block;
}

/** "9DC8 5822 ..." or "0x9dc8..." -> "9DC85822...". */
export function normalizeFingerprint(fpr: string): string {
  return fpr.replace(/^0x/i, '').replace(/\s+/g, '').toUpperCase();
}

function* packets(data: Buffer): Generator<{ tag: number; body: Buffer }> {
  let pos = 0;
  while (pos < data.length) {
    const head = data[pos++];
    if ((head & 0x80) === 0) throw new Error('the key block is not OpenPGP data');
    let tag: number;
    let len: number;
    if (head & 0x40) {
      tag = head & 0x3f;
      const o1 = data[pos++];
      if (o1 < 192) len = o1;
      else if (o1 < 224) len = ((o1 - 192) << 8) + data[pos++] + 192;
      else if (o1 === 255) {
        len = data.readUInt32BE(pos);
        pos += 4;
      } else throw new Error('partial-length packets do not occur in key blocks');
    } else {
      tag = (head >> 2) & 0x0f;
      const type = head & 3;
      if (type === 3) throw new Error('indeterminate-length packets do not occur in key blocks');
      const n = [1, 2, 4][type];
      len = data.readUIntBE(pos, n);
      pos += n;
    }
    if (pos + len > data.length) throw new Error('the key block is truncated');
    yield { tag, body: data.subarray(pos, pos + len) };
    pos += len;
  }
}

/** v4: SHA-1 over 0x99, a 2-byte length and the key packet; v6 (RFC 9580): SHA-256 over 0x9b, 4-byte length. */
function fingerprint(body: Buffer): string {
  const version = body[0];
  if (version === 4) {
    const head = Buffer.from([0x99, body.length >> 8, body.length & 0xff]);
    return createHash('sha1').update(head).update(body).digest('hex').toUpperCase();
  }
  if (version === 5 || version === 6) {
    const head = Buffer.alloc(5);
    head[0] = version === 6 ? 0x9b : 0x9a;
    head.writeUInt32BE(body.length, 1);
    return createHash('sha256').update(head).update(body).digest('hex').toUpperCase();
  }
  throw new Error(`OpenPGP key version ${version} is not supported (v4 and v6 are)`);
}

function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

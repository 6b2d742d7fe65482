import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';
import type { Step } from '../core/step.js';

/**
 * Ansible's `get_url`: download a file over HTTP(S) to the host (with the host's curl). With a
 * `checksum` the file is fetched until it matches and a matching file is never fetched again;
 * without one, a file already at `dest` is kept unless `force`.
 */
const schema = z
  .object({
    url: z.string().regex(/^(https?|ftp):\/\/[^\s]+$/, 'url must be an http, https or ftp URL'),
    dest: z.string().startsWith('/', 'dest must be an absolute path on the host (a file, or a directory to put it in)'),
    /** ALGORITHM:HEX, e.g. sha256:9f86d0..., as Ansible writes it */
    checksum: z
      .string()
      .regex(/^(sha1|sha224|sha256|sha384|sha512|md5):[0-9a-fA-F]+$/, 'checksum is ALGORITHM:HEX, e.g. sha256:9f86d081...')
      .transform((c) => c.toLowerCase())
      .optional(),
    force: z.boolean().default(false),
    mode: z.string().regex(/^0?[0-7]{3,4}$/, 'mode must be an octal string like "0644"').optional(),
    owner: z.string().regex(/^[a-z_][a-z0-9_-]*\$?$|^\d+$/, 'owner must be a user name').optional(),
    group: z.string().regex(/^[a-z_][a-z0-9_-]*\$?$|^\d+$/, 'group must be a group name').optional(),
    timeout: z.number().int().positive().default(10),
    validate_certs: z.boolean().default(true),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

type Args = z.infer<typeof schema>;

export interface Present {
  /** the file the download goes to: dest, or dest/NAME when dest is a directory */
  path: string;
  exists: boolean;
  sum?: string;
}

/** The target path (a directory dest gets the URL's last segment) and its checksum, in one probe. */
function target(a: Args) {
  const [algo] = (a.checksum ?? 'sha256:').split(':');
  const name = new URL(a.url).pathname.split('/').filter(Boolean).pop() ?? 'index.html';
  const d = shq(a.dest);
  const f = shq(`${a.dest.replace(/\/+$/, '')}/${name}`);
  return probe<Present>(
    `get_url:${JSON.stringify([a.dest, name, algo])}`,
    `if [ -d ${d} ]; then p=${f}; else p=${d}; fi; printf '%s\\n' "$p"; if [ -f "$p" ]; then ${algo}sum < "$p" | cut -d' ' -f1; fi`,
    (out) => {
      const [path = a.dest, sum] = out.split('\n');
      return { path, exists: Boolean(sum), ...(sum ? { sum } : {}) };
    },
  );
}

export default defineModule({
  name: 'get_url',
  summary: 'Download a file over HTTP(S) to the host, verified by checksum (Ansible: get_url)',
  schema,
  facts: (a: Args) => ({ present: target(a) }),
  plan(a: Args, { present }: { present: Present }): Plan {
    const want = a.checksum?.split(':')[1];
    if (present.exists && want !== undefined && present.sum === want) return { steps: [], reason: `${present.path} has checksum ${a.checksum}` };
    if (present.exists && want === undefined && !a.force) return { steps: [], reason: `${present.path} exists (no checksum to compare; force: true downloads again)` };
    const [algo] = (a.checksum ?? ':').split(':');
    const curl = ['curl', '-fsSL', '--max-time', String(a.timeout * 6), '--connect-timeout', String(a.timeout), ...(a.validate_certs ? [] : ['-k']), ...Object.entries(a.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), '--', a.url];
    // the write step: downloaded as root into root's private directory, then written beside the target
    // by whoever controls its directory and renamed over it, only once the checksum is right
    const check = want === undefined ? undefined : `[ "$(${algo}sum < %s | cut -d' ' -f1)" = ${shq(want)} ] || { echo ${shq(`checksum mismatch: the download's ${algo} is not ${want}`)} >&2; false; }`;
    const step: Step = {
      kind: 'write',
      path: present.path,
      from: curl,
      mode: a.mode ?? '0644',
      ...(a.owner ? { owner: a.owner } : {}),
      ...(a.group ? { group: a.group } : {}),
      ...(check ? { validate: check } : {}),
    };
    return {
      steps: [step],
      reason: `download ${a.url} to ${present.path}${present.exists ? (want ? ` (checksum ${present.sum} is not ${want})` : ' (force)') : ''}`,
    };
  },
});

import { z } from 'zod';
import { ANSIBLE_RETRY, aptUpdateScript, retryOf, UPDATE_RETRY_ARGS, type UpdateRetry } from './apt.js';
import { DEFAULT_APT_TIMEOUT } from './apt-network.js';
import { defineModule, type Plan, type PlanContext } from '../core/module.js';
import type { FileDiff } from '../core/result.js';
import { run, sh, type Step } from '../core/step.js';
import { normalizeFingerprint, readArmoredKey, sourceFetch, type SourceFetch } from '../facts/apt_repository.js';
import { fileContent, fileStat, type FileContent, type FileStat } from '../facts/file.js';
import { sha256 } from './copy.js';
import { expandRepoArgs } from './apt-repo-line.js';

const KEYRINGS = '/etc/apt/keyrings';
const SOURCES_D = '/etc/apt/sources.list.d';
/** beside the engine's other on-host state (the guard's) */
const STAMPS = '/var/lib/shipshape/apt_repository';

/**
 * A list as apt's own fields write it ("a b") or as a YAML list. Items are checked here, on the whole
 * value, so an error points at the argument itself (and a `{{ template }}` is left for rendering).
 */
const list = (item: RegExp, what: string) =>
  z.union([z.string(), z.array(z.string())]).transform((v, ctx) => {
    const items = (Array.isArray(v) ? v : v.split(/\s+/)).map((s) => s.trim()).filter(Boolean);
    const bad = items.find((i) => !item.test(i));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(bad)} is not ${what}` });
      return z.NEVER;
    }
    return items;
  });

/** deb822 field values end at a newline; a value with one (or a #) would inject fields or comments */
const WORD = /^[^\s#]+$/;
const URI = /^(https?|file|cdrom|mirror\+\w+|tor\+\w+):[^\s#]+$/;

const object = z
  .object({
    /** file names: /etc/apt/sources.list.d/NAME.sources and /etc/apt/keyrings/NAME.asc */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a file name: letters, digits, _ . - (e.g. "docker")'),
    state: z.enum(['present', 'absent']).default('present'),
    types: list(/^deb(-src)?$/, 'a source type (deb or deb-src)').default(['deb']),
    uris: list(URI, 'a repository URI such as https://download.docker.com/linux/debian').optional(),
    /** default: the host's release codename (bookworm on Debian 12), gathered from /etc/os-release */
    suites: list(WORD, 'one word (no spaces, newlines or #)').optional(),
    /** default: [main]; must be empty for a flat repository (a suite ending in /) */
    components: list(WORD, 'one word (no spaces, newlines or #)').optional(),
    /** default: every architecture apt is configured for */
    architectures: list(WORD, 'one word (no spaces, newlines or #)').optional(),
    /** the repository's signing key, ASCII-armored, written to /etc/apt/keyrings/NAME.asc */
    key: z.string().optional(),
    /** the same, from a controller file in the role's or playbook's files/ directory */
    key_src: z.string().min(1).optional(),
    /** refuse the key unless one of its primary keys has this fingerprint (spaces and 0x allowed) */
    key_fingerprint: z
      .string()
      .transform(normalizeFingerprint)
      .pipe(z.string().regex(/^([0-9A-F]{40}|[0-9A-F]{64})$/, 'a key fingerprint: 40 (v4) or 64 (v6) hex digits'))
      .optional(),
    /** instead of key: a keyring already on the host, e.g. /usr/share/keyrings/debian-archive-keyring.gpg */
    signed_by: z.string().regex(/^\/[^\s#]+$/, 'signed_by must be an absolute path on the host (no spaces)').optional(),
    /** fetch this repository's index (and only its) after a change, or when it was never fetched */
    update_cache: z.boolean().default(true),
    /** Ansible's: attempts at a failed fetch of that index, and the longest wait between them */
    ...UPDATE_RETRY_ARGS,
  })
  .strict()
  .refine((a) => [a.key, a.key_src, a.signed_by].filter((x) => x !== undefined).length <= 1, {
    message: 'give at most one of key, key_src or signed_by',
  })
  .refine((a) => a.state === 'absent' || a.uris?.length, { message: 'apt_repository needs uris (unless state is absent)', path: ['uris'] })
  .refine((a) => a.key_fingerprint === undefined || a.key !== undefined || a.key_src !== undefined, {
    message: 'key_fingerprint checks key or key_src; give one of them',
    path: ['key_fingerprint'],
  })
  .superRefine((a, ctx) => {
    // an inline key is checked here, where the error can point at the playbook line; key_src in plan()
    if (a.key === undefined) return;
    const problem = keyProblem(a.key, a.key_fingerprint);
    if (problem) ctx.addIssue({ code: 'custom', message: `key: ${problem}`, path: ['key'] });
  });

type Args = z.infer<typeof object>;

// Ansible's one-line form (`repo: "deb [signed-by=...] URL suite comp"`, `filename`) becomes the fields above
const schema = z.preprocess(
  (v, ctx) => expandRepoArgs(v, (message) => ctx.issues.push({ code: 'custom', message, path: ['repo'], input: v })),
  object,
);

interface RepoFacts {
  sources: FileContent;
  key: FileContent;
  legacy: FileStat;
  keyrings: FileStat;
  fetched: SourceFetch;
}

const paths = (name: string) => ({
  sources: `${SOURCES_D}/${name}.sources`,
  key: `${KEYRINGS}/${name}.asc`,
  legacy: `${SOURCES_D}/${name}.list`,
  stamp: `${STAMPS}/${name}.fetched`,
});

export default defineModule({
  name: 'apt_repository',
  summary: 'An apt repository as a deb822 .sources file with its own signing key (Signed-By), fetched only when it changes',
  schema,
  aliases: { 'update-cache': 'update_cache' },
  prepare: (a: Args, ctx) => (a.key_src !== undefined ? { ...a, key: ctx.readLocal(a.key_src, 'files') } : a),
  facts: (a: Args) => {
    const p = paths(a.name);
    return {
      sources: fileContent(p.sources),
      key: fileContent(p.key),
      legacy: fileStat(p.legacy),
      keyrings: fileStat(KEYRINGS),
      fetched: sourceFetch(p.sources, p.stamp),
    };
  },
  plan: (a: Args, f: RepoFacts, ctx: PlanContext) => (a.state === 'absent' ? planAbsent(a, f) : planPresent(a, f, ctx)),
});

/** Why this key text cannot be used (not a key, wrong fingerprint), or undefined. */
export function keyProblem(text: string, fingerprint?: string): string | undefined {
  let block;
  try {
    block = readArmoredKey(text);
  } catch (err) {
    return (err as Error).message;
  }
  if (fingerprint && !block.primary.includes(fingerprint)) {
    return `its fingerprint is ${block.primary.join(', ')}, not the expected ${fingerprint}; check where the key came from`;
  }
  return undefined;
}

/** The deb822 stanza, one field per line in apt's documented order. */
export function renderSources(a: Args, suites: string[], signedBy: string | undefined): string {
  const flat = suites.some((s) => s.endsWith('/'));
  const components = a.components ?? (flat ? [] : ['main']);
  const fields: [string, string[] | undefined][] = [
    ['Types', a.types],
    ['URIs', a.uris],
    ['Suites', suites],
    ['Components', components.length ? components : undefined],
    ['Architectures', a.architectures],
    ['Signed-By', signedBy ? [signedBy] : undefined],
  ];
  return [
    '# managed by shipshape (apt_repository)',
    ...fields.filter(([, v]) => v?.length).map(([k, v]) => `${k}: ${v!.join(' ')}`),
    '',
  ].join('\n');
}

function planPresent(a: Args, f: RepoFacts, ctx: PlanContext): Plan {
  const p = paths(a.name);
  const suites = a.suites ?? (ctx.host.osCodename ? [ctx.host.osCodename] : undefined);
  if (!suites) return failed(`suites not given and the host's release codename is unknown (no VERSION_CODENAME in /etc/os-release)`);
  const flat = suites.some((s) => s.endsWith('/'));
  if (flat && a.components?.length) return failed(`a flat repository (suite ${suites.join(' ')}) takes no components`);
  if (a.key !== undefined) {
    const problem = keyProblem(a.key, a.key_fingerprint);
    if (problem) return failed(`${a.key_src !== undefined ? `key_src ${a.key_src}` : 'key'}: ${problem}`);
  } else if (a.key_src !== undefined) throw new Error(`apt_repository: key_src ${a.key_src} was not read (prepare did not run)`);

  const steps: Step[] = [];
  const what: string[] = [];
  const diff: FileDiff[] = [];
  const signedBy = a.key !== undefined ? p.key : a.signed_by;

  if (a.key !== undefined) {
    const key = a.key.endsWith('\n') ? a.key : `${a.key}\n`;
    if (!sameFile(f.key, key)) {
      if (!f.keyrings.exists) {
        // Debian 12 and Ubuntu 22.04 ship the directory; older releases do not
        steps.push(run(['install', '-d', '-m', '0755', KEYRINGS]));
      }
      steps.push({ kind: 'write', path: p.key, content: key, mode: '0644', owner: 'root', group: 'root' });
      what.push(`${f.key.exists ? 'replace' : 'add'} the key ${p.key}`);
      diff.push({ subject: p.key, before: describeKey(f.key), after: describeKey({ exists: true, type: 'file', content: key }) });
    }
  } else if (f.key.exists && a.signed_by !== p.key) {
    // a key this module wrote earlier, no longer referenced by the repository
    steps.push(run(['rm', '-f', '--', p.key]));
    what.push(`remove the unused key ${p.key}`);
  }

  if (f.legacy.exists) {
    // the same repository in both formats makes apt fail ("Conflicting values set for option Signed-By")
    steps.push(run(['rm', '-f', '--', p.legacy]));
    what.push(`remove the one-line ${p.legacy} (replaced by ${p.sources})`);
  }

  const sources = renderSources(a, suites, signedBy);
  if (!sameFile(f.sources, sources)) {
    steps.push({ kind: 'write', path: p.sources, content: sources, mode: '0644', owner: 'root', group: 'root' });
    what.push(`${f.sources.exists ? 'update' : 'add'} ${p.sources}`);
    diff.push({ subject: p.sources, before: f.sources.exists ? (f.sources.content ?? '') : '', after: sources });
  }

  // what a successful fetch of exactly this declaration leaves as stamp
  const stamp = sha256(`${sources}\0${a.key ?? a.signed_by ?? ''}`);
  const fetched = f.fetched.indexed && f.fetched.stamp === stamp;
  if (a.update_cache && (steps.length || !fetched)) {
    const changed = steps.length > 0;
    const bound = ctx?.aptTimeoutSec ?? DEFAULT_APT_TIMEOUT;
    steps.push(sh(updateScript(p.sources, bound, retryOf(a)), `apt-get update of ${p.sources} only`));
    steps.push(sh(`mkdir -p ${STAMPS} && echo ${stamp} > ${p.stamp}`, `note the successful fetch in ${p.stamp}`));
    what.push(changed ? 'fetch its index' : `fetch the index of ${a.name} (${f.fetched.indexed ? 'no successful fetch since it was declared like this: the last one failed' : 'no index on this host yet'})`);
  }
  if (!steps.length) {
    return { steps, reason: `${p.sources} as declared${signedBy ? `, signed by ${signedBy}` : ''}${a.update_cache ? ', index fetched' : ''}` };
  }
  return { steps, reason: what.join('; '), ...(diff.length ? { diff } : {}) };
}

function planAbsent(a: Args, f: RepoFacts): Plan {
  const p = paths(a.name);
  const gone = [f.sources.exists && p.sources, f.legacy.exists && p.legacy, f.key.exists && a.signed_by !== p.key && p.key, f.fetched.stamp && p.stamp].filter(
    (x): x is string => typeof x === 'string',
  );
  if (!gone.length) return { steps: [], reason: `repository ${a.name} is absent` };
  return {
    steps: [run(['rm', '-f', '--', ...gone])],
    reason: `remove ${gone.join(', ')}`,
    diff: gone.map((g) => ({ subject: g, before: g === p.sources ? (f.sources.content ?? '') : '(present)\n', after: '' })),
  };
}

/**
 * `apt-get update` of one .sources file: other repositories are neither fetched (fast, and their
 * failures are not ours) nor cleaned from the lists. Waits for another apt holding the lists lock, as
 * the apt module does; --error-on=any makes a fetch or signature warning of this repository fail.
 */
export function updateScript(sourcesPath: string, seconds = DEFAULT_APT_TIMEOUT, retry: UpdateRetry = ANSIBLE_RETRY): string {
  const opts = [`-o Dir::Etc::sourcelist=${sourcesPath}`, '-o Dir::Etc::sourceparts=-', '-o APT::Get::List-Cleanup=0'].join(' ');
  return aptUpdateScript(opts, seconds, '--error-on=any', retry);
}

function sameFile(cur: FileContent, text: string): boolean {
  if (cur.type !== 'file') return false;
  return cur.sha256 !== undefined ? cur.sha256 === sha256(text) : cur.content === text;
}

/** A key diff names fingerprints: the armored text says nothing to a reader. */
function describeKey(f: FileContent): string {
  if (!f.exists) return '';
  if (f.content === undefined) return '(not readable as a key)\n';
  try {
    const k = readArmoredKey(f.content);
    return k.primary.map((fpr) => `fingerprint ${fpr}\n`).join('');
  } catch (err) {
    return `(${(err as Error).message})\n`;
  }
}

function failed(message: string): Plan {
  return { steps: [], reason: message, fail: message };
}

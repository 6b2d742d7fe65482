import { posix } from 'node:path';
import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import type { Probe } from '../core/probe.js';
import { shq } from '../core/quote.js';
import type { Drift } from '../core/result.js';
import { onPath, type Step } from '../core/step.js';
import { fileContent, fileStat, type FileContent, type FileStat } from '../facts/file.js';
import { authorizedKeysOf, isAccountName, passwdEntry, type AuthorizedKeysFile, type PasswdEntry } from '../facts/users.js';

/** One authorized_keys line, split as sshd(8) reads it. */
export interface SshKey {
  options?: string;
  type: string;
  blob: string;
  comment?: string;
}

// ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, sk-ssh-ed25519@openssh.com and their -cert-v01 forms
const KEY_TYPE = /^(ssh|ecdsa|sk)-[A-Za-z0-9@.+-]+$/;
const BLOB = /^[A-Za-z0-9+/]+={0,3}$/;

/** The next space-separated field; spaces inside "..." (options such as command="a b") do not split. */
function nextField(s: string): [string, string] {
  let quoted = false;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) break;
  }
  return [s.slice(0, i), s.slice(i).replace(/^[ \t]+/, '')];
}

export function parseKey(line: string): SshKey | undefined {
  let [field, rest] = nextField(line.trim());
  let options: string | undefined;
  if (!KEY_TYPE.test(field)) {
    options = field;
    [field, rest] = nextField(rest);
    if (!KEY_TYPE.test(field)) return undefined;
  }
  const [blob, comment] = nextField(rest);
  if (!BLOB.test(blob)) return undefined;
  return { ...(options ? { options } : {}), type: field, blob, ...(comment ? { comment } : {}) };
}

/** Keys are the same key whatever their comment says. */
const identity = (k: SshKey) => `${k.type} ${k.blob}`;
const render = (k: SshKey) => [k.options, k.type, k.blob, k.comment].filter(Boolean).join(' ');

const keyLines = (key: string | string[]) =>
  (Array.isArray(key) ? key : [key])
    .flatMap((k) => k.split('\n'))
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

const noNewline = z.string().regex(/^[^\n]*$/, 'must be a single line');

const schema = z
  .object({
    user: z.string().refine(isAccountName, 'user must be a valid account name'),
    /** one or more public keys: a newline-separated string or a list */
    key: z.union([z.string(), z.array(z.string())]).superRefine((key, ctx) => {
      const lines = keyLines(key);
      if (lines.length === 0) ctx.addIssue({ code: 'custom', message: 'key holds no public key' });
      for (const l of lines) {
        if (/^https?:\/\//.test(l)) {
          ctx.addIssue({ code: 'custom', message: `keys from URLs are not fetched (${l}); put the keys themselves in key` });
        } else if (!parseKey(l)) {
          ctx.addIssue({ code: 'custom', message: `not an SSH public key ("type base64 [comment]"): ${l.slice(0, 60)}` });
        }
      }
    }),
    state: z.enum(['present', 'absent']).default('present'),
    /** remove every other key from the file */
    exclusive: z.boolean().default(false),
    /** defaults to ~user/.ssh/authorized_keys */
    path: noNewline.regex(/^\//, 'path must be absolute').optional(),
    /** create the file's directory (mode 0700, owned by the user) and keep it so */
    manage_dir: z.boolean().default(true),
    /** sshd options prepended to every key, e.g. 'no-port-forwarding,from="10.0.0.0/8"' */
    key_options: noNewline.min(1).optional(),
  })
  .strict();

type Args = z.infer<typeof schema>;

interface KeyFacts {
  passwd: PasswdEntry;
  /** default path: resolved and read on the host */
  keys?: AuthorizedKeysFile;
  /** explicit path */
  file?: FileContent;
  dir?: FileStat;
}

export default defineModule({
  name: 'authorized_key',
  summary: "Add or remove SSH public keys in a user's authorized_keys (Ansible: authorized_key)",
  schema,
  facts(a) {
    const probes: Record<string, Probe> = { passwd: passwdEntry(a.user) };
    if (a.path === undefined) probes.keys = authorizedKeysOf(a.user);
    else {
      probes.file = fileContent(a.path);
      if (a.manage_dir) probes.dir = fileStat(posix.dirname(a.path));
    }
    return probes;
  },
  plan: (a, facts, ctx) => planKeys(a, facts as unknown as KeyFacts, ctx.access?.user),
});

/** Where the file is: the given path, the host's answer, or (user not created yet) Debian's default home. */
function locate(a: Args, f: KeyFacts): { path: string; dir: FileStat; file: FileContent } {
  if (a.path !== undefined) return { path: a.path, dir: f.dir ?? { exists: false }, file: f.file ?? { exists: false } };
  if (f.keys?.path) return { path: f.keys.path, dir: f.keys.dir, file: f.keys.file };
  const home = f.passwd.home ?? (a.user === 'root' ? '/root' : `/home/${a.user}`);
  return { path: `${home}/.ssh/authorized_keys`, dir: { exists: false }, file: { exists: false } };
}

function planKeys(a: Args, f: KeyFacts, loginUser: string | undefined): Plan {
  const { path, dir, file } = locate(a, f);
  if (file.exists && file.type !== 'file') return failed(`${path} is a ${file.type}, not a regular file`);
  if (file.exists && file.content === undefined) return failed(`${path} is too large to be an authorized_keys file`);

  const wanted = new Map<string, SshKey>();
  for (const line of keyLines(a.key)) {
    const k = parseKey(line)!;
    const key = a.key_options === undefined ? k : { ...k, options: a.key_options };
    if (!wanted.has(identity(key))) wanted.set(identity(key), key);
  }

  const before = file.content ?? '';
  const { lines, added, replaced, removed, foreign } = edit(before, wanted, a);
  const changed = added + replaced + removed > 0;
  const gid = f.passwd.gid !== undefined ? String(f.passwd.gid) : undefined;
  const steps: Step[] = [];
  const what: string[] = [];

  const dirPath = posix.dirname(path);
  if (a.manage_dir && (a.state === 'present' || changed)) {
    if (dir.exists && dir.type !== 'directory') return failed(`${dirPath} is a ${dir.type}, not a directory`);
    if (!dir.exists || dir.mode !== '700' || dir.owner !== a.user) {
      // not `install -d`, which follows a swapped ~/.ssh: each step is checked for links (core/safe-path.ts)
      if (!dir.exists) steps.push(onPath(dirPath, ['mkdir', '-m', '0700', '--']));
      else if (dir.mode !== '700') steps.push(onPath(dirPath, ['chmod', '0700', '--']));
      steps.push(onPath(dirPath, ['chown', '-h', `${a.user}${gid ? ':' + gid : ''}`, '--'], { root: true }));
      what.push(dir.exists ? `${dirPath} mode ${dir.mode} owner ${dir.owner} -> 700 ${a.user}` : `create ${dirPath}`);
    }
  }
  if (changed || (a.state === 'present' && !file.exists)) {
    const after = lines.length ? lines.join('\n') + '\n' : '';
    steps.push({ kind: 'write', path, content: after, mode: '0600', owner: a.user, ...(gid ? { group: gid } : {}) });
    const n = (c: number) => `${c} key${c === 1 ? '' : 's'}`;
    if (added) what.push(`add ${n(added)}`);
    if (replaced) what.push(`update the options of ${n(replaced)}`);
    if (removed) what.push(`remove ${n(removed)}${a.state === 'present' ? ' not listed (exclusive)' : ''}`);
  } else if (a.state === 'present') {
    // sshd's StrictModes ignores a file others can write or another user owns; keep it as a write would leave it
    if (file.mode !== '600') {
      steps.push(onPath(path, ['chmod', '0600', '--']));
      what.push(`mode ${file.mode} -> 600`);
    }
    if (file.owner !== a.user) {
      steps.push(onPath(path, ['chown', '-h', `${a.user}${gid ? ':' + gid : ''}`, '--'], { root: true }));
      what.push(`owner ${file.owner} -> ${a.user}`);
    }
  }

  if (steps.length === 0) return { steps, reason: unchangedReason(a, path, wanted.size, file.exists) };
  // keys another hand added are named one by one, with the line and the command that removes it
  const drift: Drift[] = foreign.map(({ line, key }) => ({
    what: `a key nobody declared: ${shortKey(key)}`,
    why: `whoever holds it logs in as ${a.user}${a.user === loginUser ? ' (the user this run logs in as, with sudo)' : ''}`,
    where: `${path}:${line}`,
    fix: `sed -i ${shq(`${line}d`)} ${shq(path)} (apply rewrites the file with the declared keys only)`,
  }));
  const rest = what.filter((w) => !(foreign.length && /^remove /.test(w)));
  if (drift.length && rest.length) {
    drift.push({ what: rest.join('; '), why: 'the declared keys must be there, in a file sshd accepts (StrictModes)', where: path, fix: 'apply writes the declared keys with mode 600' });
  }
  return {
    steps,
    reason: `${path}: ${what.join('; ')}`,
    ...(drift.length ? { drift } : {}),
    ...(changed ? { diff: [{ subject: path, before, after: lines.length ? lines.join('\n') + '\n' : '' }] } : {}),
    ...(removed || replaced
      ? {
          accessCritical:
            `${removed ? `removes ${removed} key(s)` : ''}${removed && replaced ? ' and ' : ''}${replaced ? `changes the options of ${replaced} key(s)` : ''} in ${path}` +
            (a.user === loginUser ? `, the keys of ${a.user}, the user this connection logs in as` : ''),
        }
      : {}),
  };
}

/** The file's lines after the change; lines that are not keys (comments, blanks) are kept as they are. */
function edit(content: string, wanted: Map<string, SshKey>, a: Args) {
  const lines: string[] = [];
  const seen = new Set<string>();
  let added = 0;
  let replaced = 0;
  let removed = 0;
  /** keys nobody declared that exclusive removes: drift, each with its line */
  const foreign: { line: number; key: SshKey }[] = [];
  (content === '' ? [] : content.replace(/\n$/, '').split('\n')).forEach((line, i) => {
    const k = parseKey(line);
    const w = k && wanted.get(identity(k));
    if (!k) lines.push(line);
    else if (a.state === 'absent') {
      if (w) removed++;
      else lines.push(line);
    } else if (!w || seen.has(identity(k))) {
      // with exclusive, only one line per listed key remains
      if (a.exclusive) {
        removed++;
        if (!w) foreign.push({ line: i + 1, key: k });
      } else lines.push(line);
    } else {
      seen.add(identity(k));
      if ((k.options ?? '') === (w.options ?? '')) lines.push(line);
      else {
        lines.push(render(w));
        replaced++;
      }
    }
  });
  if (a.state === 'present') {
    for (const [id, w] of wanted) {
      if (!seen.has(id)) {
        lines.push(render(w));
        added++;
      }
    }
  }
  return { lines, added, replaced, removed, foreign };
}

/** A key as a person recognises it: type, the end of its blob, its comment. */
const shortKey = (k: SshKey) => `${k.type} ...${k.blob.slice(-12)}${k.comment ? ` (${k.comment})` : ''}`;

function unchangedReason(a: Args, path: string, count: number, exists: boolean): string {
  const keys = count === 1 ? 'the key' : `all ${count} keys`;
  if (a.state === 'absent') {
    return exists ? `${path} holds none of the ${count} key(s)` : `${path} does not exist, so ${keys} ${count === 1 ? 'is' : 'are'} absent`;
  }
  return `${path} already has ${keys}${a.exclusive ? ' and no other' : ''}, with the wanted options, mode 600 and owner ${a.user}`;
}

function failed(message: string): Plan {
  return { steps: [], reason: message, fail: message };
}

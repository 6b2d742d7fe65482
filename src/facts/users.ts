import { probe, type Answer, type Batcher } from '../core/probe.js';
import { shq } from '../core/quote.js';
import { homePath, NOT_PLAIN_PATH } from './file-batch.js';
import { CONTENT_LIMIT, fileStat, fileText, parseStatLine, type FileContent, type FileStat } from './file.js';

/**
 * Account names useradd accepts on Debian: no ':' ',' '/' or whitespace, not starting with '-', and not
 * all digits (getent would then look the name up as an id and answer about someone else).
 */
export const ACCOUNT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/;
export const isAccountName = (s: string) => ACCOUNT_NAME.test(s) && !/^\d+$/.test(s);

export interface PasswdEntry {
  exists: boolean;
  name?: string;
  uid?: number;
  gid?: number;
  gecos?: string;
  home?: string;
  shell?: string;
  /** whether the home directory exists on the host */
  homeExists?: boolean;
}

export interface GroupEntry {
  name: string;
  gid: number;
  /** supplementary members as /etc/group lists them (primary members are not listed) */
  members: string[];
}

/** `getent passwd` line: name:x:uid:gid:gecos:home:shell */
export function parsePasswdLine(line: string): PasswdEntry {
  const f = line.split(':');
  if (f.length < 7) return { exists: false };
  return { exists: true, name: f[0], uid: Number(f[2]), gid: Number(f[3]), gecos: f[4], home: f[5], shell: f[6] };
}

/** `getent group` line: name:x:gid:member,member */
export function parseGroupLine(line: string): GroupEntry | undefined {
  const f = line.split(':');
  if (f.length < 4 || f[2] === '' || Number.isNaN(Number(f[2]))) return undefined;
  return { name: f[0], gid: Number(f[2]), members: f[3].split(',').filter(Boolean) };
}

/** One account from passwd, plus whether its home directory exists (user: create_home; authorized_key). */
export function passwdEntry(name: string) {
  const n = shq(name);
  return probe<PasswdEntry>(
    `passwd:${name}`,
    // the home is the 6th field: cut by the shell itself, no process
    `if __ss_e=$(getent passwd ${n}); then printf '%s\\n' "$__ss_e"; __ss_h=\${__ss_e#*:*:*:*:*:}; if [ -d "\${__ss_h%%:*}" ]; then echo home=yes; else echo home=no; fi; fi`,
    (out) => {
      const [line = '', home] = out.split('\n');
      const entry = parsePasswdLine(line);
      // a name getent resolved to a different account is no answer about this one
      if (!entry.exists || entry.name !== name) return { exists: false };
      return { ...entry, homeExists: home === 'home=yes' };
    },
    { inline: true, ...(isAccountName(name) ? { batch: { batcher: accountBatcher, key: `passwd:${name}` } } : {}) },
  );
}

/** One group by name. */
export function groupEntry(name: string) {
  return probe<GroupEntry | undefined>(
    `group:${name}`,
    `getent group ${shq(name)}`,
    (out) => {
      const g = parseGroupLine(out.split('\n')[0] ?? '');
      return g && g.name === name ? g : undefined;
    },
    { inline: true },
  );
}

/** Every group: memberships and gid -> name, for the user module. */
export function allGroups() {
  return probe<GroupEntry[]>('groups', 'getent group', parseGroups, { inline: true });
}

export function parseGroups(out: string): GroupEntry[] {
  return out.split('\n').map(parseGroupLine).filter((g): g is GroupEntry => g !== undefined);
}

export type ShadowState =
  | { state: 'absent' }
  | { state: 'unreadable' }
  | {
      state: 'present';
      /** the hash field starts with '!' (usermod -L) */
      locked: boolean;
      /** nothing behind the lock: '' or '*' (no password can match) */
      empty: boolean;
      /** sha256 (hex) of the hash without its lock '!'s: compared, never the hash itself */
      digest: string;
    };

/**
 * The shadow entry reduced on the host to lock state and a digest, so the password hash never
 * travels back to the controller, its logs or recordings.
 */
export function shadowEntry(name: string) {
  const n = shq(name);
  return probe<ShadowState>(
    `shadow:${name}`,
    [
      `if e=$(getent shadow ${n}); then`,
      `  h=$(printf '%s' "$e" | cut -d: -f2)`,
      `  case $h in '!'*) echo locked;; *) echo unlocked;; esac`,
      `  p=\${h#"\${h%%[!!]*}"}`,
      `  case $p in ''|'*') echo empty;; *) echo set;; esac`,
      `  printf '%s' "$p" | sha256sum | cut -d' ' -f1`,
      `elif [ -r /etc/shadow ]; then echo absent`,
      `else echo unreadable; fi`,
    ].join('\n'),
    parseShadowState,
  );
}

export function parseShadowState(out: string): ShadowState {
  const [first, second, digest] = out.split('\n');
  if (first === 'absent') return { state: 'absent' };
  if ((first !== 'locked' && first !== 'unlocked') || !digest) return { state: 'unreadable' };
  return { state: 'present', locked: first === 'locked', empty: second === 'empty', digest };
}

export interface AuthorizedKeysFile {
  /** $HOME/.ssh/authorized_keys as the host resolves it; undefined when the user does not exist (yet) */
  path?: string;
  dir: FileStat;
  file: FileContent;
}

/** sh: the account's home into $__ss_h (empty when there is no such account), from its own `getent passwd`. */
const homeOf = (user: string) => `if __ss_e=$(getent passwd ${shq(user)}); then __ss_h=\${__ss_e#*:*:*:*:*:}; __ss_h=\${__ss_h%%:*}; else __ss_h=; fi`;

/**
 * A user's default authorized_keys, with the home resolved on the host: the path depends on a home the
 * controller cannot know before the probe runs, so one probe both resolves and reads it. Alone, its script
 * does it all; in a play, the account's one `getent passwd` says where the home is, and the directory and
 * file are read by the play's one `stat` and `head` at `~USER/.ssh` (the shell expands it: no process), unless
 * the home is not a plain absolute path (then the account batch reads them itself, as the script alone does).
 */
export function authorizedKeysOf(user: string) {
  const script = [homeOf(user), KEYS_OF_HOME].join('\n');
  if (!isAccountName(user) || user.endsWith('$')) return probe<AuthorizedKeysFile>(`authorized_keys:${user}`, script, parseAuthorizedKeysFile, { inline: true });
  return probe<AuthorizedKeysFile>(`authorized_keys:${user}`, script, parseAuthorizedKeysFile, {
    compose: {
      parts: [keysHome(user), fileStat(homePath(user, '.ssh')), fileStat(homePath(user, '.ssh/authorized_keys')), fileText(homePath(user, '.ssh/authorized_keys'))],
      join: joinKeys,
    },
  });
}

/**
 * The account's home when it is a plain absolute path ("\nHOME\n": KEYS_OF_HOME's first line is never empty),
 * else what KEYS_OF_HOME prints (nothing when there is no account or no home).
 */
function keysHome(user: string) {
  return probe<string>(
    `authorized_keys-home:${user}`,
    [homeOf(user), homeOrKeys()].join('\n'),
    (out) => out,
    { inline: true, batch: { batcher: accountBatcher, key: `keys:${user}` } },
  );
}

/** sh: a plain absolute $__ss_h as "\nHOME\n" (the file batch reads its files), any other one read here. */
const homeOrKeys = () => `case $__ss_h in '') ;; ${NOT_PLAIN_PATH})\n${KEYS_OF_HOME}\n;; *) printf '\\n%s\\n' "$__ss_h";; esac`;

/** What KEYS_OF_HOME prints, from the home and the play's stat and head of ~USER/.ssh and its authorized_keys. */
function joinKeys([home, dir, file, text]: Answer[]): Answer {
  if (!home.stdout.startsWith('\n')) return home;
  const first = (a: Answer) => a.stdout.split('\n')[0];
  const content = parseStatLine(first(file)).type === 'file' && text.code === 0 ? text.stdout : '';
  return { stdout: `${home.stdout.slice(1, -1)}/.ssh/authorized_keys\n${first(dir)}\n${first(file)}\n${content}`, code: 0 };
}

const STAT = `stat -c '%F|%a|%U|%G|%s' --`;

/**
 * sh: $__ss_h/.ssh/authorized_keys (when $__ss_h is set): its path, the stat of the directory and file, then
 * exactly as many bytes of a regular file as its stat line says (one past the limit at most): the account
 * batch cuts each text by that size, so no file can pose as the next account's answer.
 */
const KEYS_OF_HOME = [
  `if [ -n "$__ss_h" ]; then`,
  `  __ss_d="$__ss_h/.ssh"; __ss_f="$__ss_d/authorized_keys"; __ss_w=`,
  `  printf '%s\\n' "$__ss_f"`,
  `  { [ -e "$__ss_d" ] || [ -L "$__ss_d" ]; } && __ss_w=d`,
  `  { [ -e "$__ss_f" ] || [ -L "$__ss_f" ]; } && __ss_w=\${__ss_w}f`,
  // one stat for whichever of the two exist; the file's size is the last field the shell keeps
  `  __ss_o=; case $__ss_w in df) __ss_o=$(${STAT} "$__ss_d" "$__ss_f"); printf '%s\\n' "$__ss_o";; d) ${STAT} "$__ss_d"; echo;; f) echo; __ss_o=$(${STAT} "$__ss_f"); printf '%s\\n' "$__ss_o";; *) echo; echo;; esac`,
  `  case $__ss_o in *'regular file|'*[0-9]) __ss_z=\${__ss_o##*|}; [ "$__ss_z" -le ${CONTENT_LIMIT} ] || __ss_z=${CONTENT_LIMIT + 1}; head -c "$__ss_z" -- "$__ss_f";; esac`,
  'fi',
].join('\n');

/**
 * Every account question of a play with one `getent passwd` for all accounts: each account's line and home
 * check (passwdEntry) and its default authorized_keys' home (authorizedKeysOf) share it. Each account's answers
 * follow "@@pw NAME" and "@@keys NAME"; the keys come last, each cut by the size its stat line gives,
 * so a file's text can never pose as another account's answer.
 */
/** The accounts the keys ask about (each once, in first-asked order), and those whose keys are asked too. */
function accountsAsked(keys: string[]): { names: string[]; keysFor: Set<string> } {
  return {
    names: [...new Set(keys.map((k) => k.slice(k.indexOf(':') + 1)))],
    keysFor: new Set(keys.filter((k) => k.startsWith('keys:')).map((k) => k.slice('keys:'.length))),
  };
}

export const accountBatcher: Batcher = {
  id: 'accounts',
  // one getent for all accounts (their authorized_keys are the file batch's): about 1 ms
  cost: () => 1,
  script(keys) {
    const { names, keysFor } = accountsAsked(keys);
    // one getent for every account; each line found in its answer by the shell ("\nNAME:"), no process
    const nl = '"$__ss_nl"';
    return [
      `__ss_nl='\n'; __ss_pw=$(getent passwd ${names.map(shq).join(' ')}); __ss_pw="$__ss_nl$__ss_pw$__ss_nl"`,
      ...names.map((name) =>
        [
          `case $__ss_pw in *${nl}${shq(name)}:*) __ss_e=\${__ss_pw#*${nl}${shq(name)}:}; __ss_e=${shq(name)}:\${__ss_e%%${nl}*}; __ss_h=\${__ss_e#*:*:*:*:*:}; __ss_h=\${__ss_h%%:*};; *) __ss_e=; __ss_h=;; esac`,
          `printf '@@pw %s\\n' ${shq(name)}`,
          `if [ -n "$__ss_e" ]; then printf '%s\\n' "$__ss_e"; if [ -d "$__ss_h" ]; then echo home=yes; else echo home=no; fi; fi`,
          ...(keysFor.has(name) ? [`printf '@@keys %s\\n' ${shq(name)}`, homeOrKeys()] : []),
        ].join('\n'),
      ),
    ].join('\n');
  },
  split(stdout, code, keys) {
    const { names, keysFor } = accountsAsked(keys);
    const answers = new Map<string, { stdout: string; code: number }>();
    let at = 0;
    for (const name of names) {
      const pw = `@@pw ${name}\n`;
      if (!stdout.startsWith(pw, at)) break;
      at += pw.length;
      // the passwd line and the home check: two lines, or none
      let end = at;
      if (!stdout.startsWith('@@', at) && at < stdout.length) {
        for (let i = 0; i < 2 && end >= 0; i++) end = stdout.indexOf('\n', end) + 1 || -1;
        if (end < 0) break;
      }
      answers.set(`passwd:${name}`, { stdout: stdout.slice(at, end), code: 0 });
      at = end;
      if (!keysFor.has(name)) continue;
      const mark = `@@keys ${name}\n`;
      if (!stdout.startsWith(mark, at)) break;
      at += mark.length;
      const len = keysAnswerLength(stdout, at);
      if (len === undefined) break;
      answers.set(`keys:${name}`, { stdout: stdout.slice(at, at + len), code: 0 });
      at += len;
    }
    // an account whose answer did not read back gets none: the batch then counts as incomplete
    return keys.map((k) => answers.get(k) ?? { stdout: '', code: code || 1 });
  },
};

/**
 * How long KEYS_OF_HOME's output is at `at`: nothing (no such account), or the path, two stat lines and
 * then the file's text, whose length the file's stat line gives (capped at the limit + 1). undefined when
 * the text does not end there (the file changed between stat and head).
 */
function keysAnswerLength(out: string, at: number): number | undefined {
  if (at >= out.length || out.startsWith('@@pw ', at)) return 0;
  // "\nHOME\n": the play's file batch reads the files
  if (out[at] === '\n') {
    const nl = out.indexOf('\n', at + 1);
    return nl < 0 ? undefined : nl + 1 - at;
  }
  let end = at;
  for (let i = 0; i < 3; i++) {
    const nl = out.indexOf('\n', end);
    if (nl < 0) return undefined;
    end = nl + 1;
  }
  const lines = out.slice(at, end).split('\n');
  const file = parseStatLine(lines[2] ?? '');
  if (file.type !== 'file') return end - at;
  const bytes = Buffer.from(out.slice(end), 'utf8');
  const size = Math.min(file.size ?? 0, CONTENT_LIMIT + 1);
  if (size > bytes.length) return undefined;
  const next = bytes.subarray(size);
  if (next.length && !next.toString('utf8').startsWith('@@pw ')) return undefined;
  return end - at + bytes.subarray(0, size).toString('utf8').length;
}

export function parseAuthorizedKeysFile(out: string): AuthorizedKeysFile {
  const lines = out.split('\n');
  if (!lines[0]) return { dir: { exists: false }, file: { exists: false } };
  const dir = parseStatLine(lines[1] ?? '');
  const stat = parseStatLine(lines[2] ?? '');
  let idx = -1;
  for (let i = 0; i < 3; i++) idx = out.indexOf('\n', idx + 1);
  const readable = stat.type === 'file' && idx >= 0 && (stat.size ?? 0) <= CONTENT_LIMIT;
  return { path: lines[0], dir, file: readable ? { ...stat, content: out.slice(idx + 1) } : stat };
}

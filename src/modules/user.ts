import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import type { Probe } from '../core/probe.js';
import { run, type Step } from '../core/step.js';
import { fileStat, type FileStat } from '../facts/file.js';
import {
  allGroups,
  isAccountName,
  passwdEntry,
  shadowEntry,
  type GroupEntry,
  type PasswdEntry,
  type ShadowState,
} from '../facts/users.js';

const name = z.string().refine(isAccountName, 'must be a valid account name (letters, digits, _ . -; not all digits)');
/** passwd fields end at ':' and lines at '\n': either would corrupt the entry */
const field = z.string().regex(/^[^:\n]*$/, 'must not contain ":" or a newline');

const schema = z
  .object({
    name,
    state: z.enum(['present', 'absent']).default('present'),
    uid: z.number().int().nonnegative().optional(),
    /** primary group, by name or gid */
    group: field.min(1).optional(),
    /** supplementary groups, as a list or Ansible's comma-separated string; [] or '' removes them all */
    groups: z
      .union([z.array(z.string()), z.string()])
      .transform((g) => (Array.isArray(g) ? g : g.split(',')).map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(field))
      .optional(),
    append: z.boolean().default(false),
    shell: field.min(1).optional(),
    home: field.regex(/^\//, 'must be an absolute path').optional(),
    comment: field.optional(),
    create_home: z.boolean().default(true),
    system: z.boolean().default(false),
    /**
     * A crypt(3) hash, never a clear text password (which would be stored as is and never match a login);
     * '*' or '!' set no usable password.
     */
    password: z
      .string()
      .regex(/^(!*\$[^\s:]+|!+|!*\*)$/, 'password must be a crypt hash such as $6$... or $y$... (mkpasswd -m sha-512), not clear text')
      .optional(),
    update_password: z.enum(['always', 'on_create']).default('always'),
    password_lock: z.boolean().optional(),
    /** with state: absent, also remove the home directory and mail spool */
    remove: z.boolean().default(false),
  })
  .strict();

type Args = z.infer<typeof schema>;

/** Facts present only when the arguments need them (see facts()). */
interface UserFacts {
  passwd: PasswdEntry;
  groups?: GroupEntry[];
  shadow?: ShadowState;
  home?: FileStat;
  shellFile?: FileStat;
}

/**
 * The account databases a user change edits. The engine's guard snapshots them before an
 * access-critical change (a group the login needs for sudo, a shell, a home) and restores them when
 * the confirming login fails.
 */
export const ACCOUNT_FILES = ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow'];

/** Shells that refuse an interactive login: switching the operator's account to one locks them out. */
const NO_LOGIN = /\/(nologin|false)$/;

export default defineModule({
  name: 'user',
  summary: 'Create, change or remove a local user account (Ansible: user)',
  schema,
  aliases: { user: 'name', createhome: 'create_home' },
  facts(a) {
    const probes: Record<string, Probe> = { passwd: passwdEntry(a.name) };
    if (a.state === 'present') {
      // every group: memberships, the primary group's name, and whether a group named like the user exists
      probes.groups = allGroups();
      if (a.password !== undefined || a.password_lock !== undefined) probes.shadow = shadowEntry(a.name);
      if (a.home !== undefined && a.create_home) probes.home = fileStat(a.home);
      // a login shell that does not exist locks the account out as surely as nologin does
      if (a.shell !== undefined) probes.shellFile = fileStat(a.shell);
    }
    return probes;
  },
  plan: (a, facts, ctx) => planUser(a, facts as unknown as UserFacts, ctx.access?.user),
});

function planUser(a: Args, f: UserFacts, loginUser: string | undefined): Plan {
  const subject = `user ${a.name}`;
  const { passwd } = f;
  if (a.state === 'absent') {
    if (!passwd.exists) return { steps: [], reason: `${subject} is already absent` };
    return {
      steps: [run(['userdel', ...(a.remove ? ['-r'] : []), a.name])],
      reason: `remove ${subject}${a.remove ? ' and its home directory' : ''}`,
      diff: [{ subject, before: `uid=${passwd.uid} home=${passwd.home} shell=${passwd.shell}\n`, after: 'absent\n' }],
      accessCritical: `removes the account ${a.name}${a.name === loginUser ? ', the user this connection logs in as' : ''}`,
      // the account comes back on a revert; a home removed with remove: true does not
      guard: { paths: ACCOUNT_FILES },
    };
  }
  if (!passwd.exists) return planCreate(a, f.groups ?? []);
  const plan = planChange(a, f, passwd);
  if (plan.accessCritical && a.name === loginUser) plan.accessCritical += ` (${a.name} is the user this connection logs in as)`;
  return plan;
}

function planCreate(a: Args, groups: GroupEntry[]): Plan {
  const opt = (flag: string, v: string | number | undefined) => (v === undefined ? [] : [flag, String(v)]);
  // Debian's useradd refuses to create a user group when a group of that name exists; joining it is what
  // "group: x, then user: x" means (Ansible passes -N instead, which makes "users" the primary group)
  const primary = a.group ?? (groups.some((g) => g.name === a.name) ? a.name : undefined);
  const argv = [
    'useradd',
    ...opt('-u', a.uid),
    ...opt('-g', primary),
    ...(a.groups?.length ? ['-G', a.groups.join(',')] : []),
    ...opt('-s', a.shell),
    ...opt('-d', a.home),
    ...opt('-c', a.comment),
    a.create_home ? '-m' : '-M',
    ...(a.system ? ['-r'] : []),
    a.name,
  ];
  const steps: Step[] = [run(argv)];
  // without a password the new account has none usable ('!'), which is already what password_lock means
  if (a.password !== undefined) steps.push(setPassword(a.name, withLock(a.password, a.password_lock)));
  const wanted = describe({
    uid: a.uid ?? '(next free)',
    group: primary ?? a.name,
    groups: a.groups?.join(','),
    shell: a.shell,
    home: a.home ?? `/home/${a.name}`,
    comment: a.comment,
    password: a.password !== undefined ? '(password hash set)' : undefined,
  });
  return {
    steps,
    reason: `create ${a.system ? 'system user' : 'user'} ${a.name}${a.create_home ? ' with a home directory' : ''}`,
    diff: [{ subject: `user ${a.name}`, before: 'absent\n', after: wanted }],
  };
}

interface Change {
  field: string;
  before: string;
  after: string;
}

function planChange(a: Args, f: UserFacts, p: PasswdEntry): Plan {
  const flags: string[] = [];
  const changes: Change[] = [];
  const kept: string[] = [];
  const critical: string[] = [];
  const compare = (field: string, before: string, after: string | undefined, flag: string[]) => {
    if (after === undefined) return;
    if (before === after) kept.push(`${field} ${before || "''"}`);
    else {
      changes.push({ field, before, after });
      flags.push(...flag);
    }
  };

  if (a.uid !== undefined) compare('uid', String(p.uid), String(a.uid), ['-u', String(a.uid)]);
  if (a.group !== undefined) {
    const current = f.groups?.find((g) => g.gid === p.gid)?.name ?? String(p.gid);
    // a gid given as a number names the same group as its name
    const same = /^\d+$/.test(a.group) ? Number(a.group) === p.gid : a.group === current;
    compare('group', current, same ? current : a.group, ['-g', a.group]);
  }
  if (a.groups !== undefined) {
    const current = (f.groups ?? []).filter((g) => g.members.includes(a.name)).map((g) => g.name);
    const after = a.append ? [...current, ...dedupe(a.groups).filter((g) => !current.includes(g))] : dedupe(a.groups);
    const differs = after.length !== current.length || after.some((g) => !current.includes(g));
    compare('groups', current.join(','), differs ? after.join(',') : current.join(','), [
      ...(a.append ? ['-a'] : []),
      '-G',
      (a.append ? after.filter((g) => !current.includes(g)) : after).join(','),
    ]);
    const dropped = current.filter((g) => !after.includes(g));
    if (differs && dropped.length) critical.push(`removes ${a.name} from group(s) ${dropped.join(',')}`);
  }
  compare('shell', p.shell ?? '', a.shell, ['-s', a.shell ?? '']);
  if (a.shell && a.shell !== p.shell && NO_LOGIN.test(a.shell)) critical.push(`sets ${a.name}'s shell to ${a.shell}, which refuses logins`);
  else if (a.shell && a.shell !== p.shell && f.shellFile && !f.shellFile.exists) critical.push(`sets ${a.name}'s shell to ${a.shell}, which does not exist on the host (logins would fail)`);
  compare('home', p.home ?? '', a.home, ['-d', a.home ?? '']);
  if (a.home !== undefined && a.home !== p.home) critical.push(`moves ${a.name}'s home from ${p.home} to ${a.home} (sshd reads the keys in ~/.ssh of the new one)`);
  compare('comment', p.gecos ?? '', a.comment, ['-c', a.comment ?? '']);

  const steps: Step[] = flags.length ? [run(['usermod', ...flags, a.name])] : [];

  // Ansible creates a missing home even for an existing account; /nonexistent is Debian's "no home" marker
  const home = a.home ?? p.home ?? '';
  const homeExists = a.home !== undefined ? f.home?.exists : p.homeExists;
  if (a.create_home && !homeExists && home !== '/nonexistent') {
    // reads the (possibly just changed) home from passwd and copies /etc/skel with the account's ownership
    steps.push(run(['mkhomedir_helper', a.name]));
    changes.push({ field: 'home directory', before: 'missing', after: `created ${home}` });
  }

  const pw = planPassword(a, f.shadow);
  if (pw.fail) return { steps: [], reason: pw.fail, fail: pw.fail };
  steps.push(...pw.steps);
  changes.push(...pw.changes);
  kept.push(...pw.kept);

  const subject = `user ${a.name}`;
  if (steps.length === 0) {
    return { steps, reason: `${subject} exists${kept.length ? ' with ' + kept.join(', ') : ''}` };
  }
  const show = (side: 'before' | 'after') => changes.map((c) => `${c.field}: ${c[side]}\n`).join('');
  return {
    steps,
    reason: `${subject}: ${changes.map((c) => (c.field === 'password' ? c.after : `${c.field} ${c.before || "''"} -> ${c.after || "''"}`)).join('; ')}`,
    diff: [{ subject, before: show('before'), after: show('after') }],
    ...(critical.length ? { accessCritical: critical.join('; '), guard: { paths: ACCOUNT_FILES } } : {}),
  };
}

/** Password and lock changes. The hash itself never enters a reason, a diff or an argv (see setPassword). */
function planPassword(a: Args, shadow: ShadowState | undefined): { steps: Step[]; changes: Change[]; kept: string[]; fail?: string } {
  const out = { steps: [] as Step[], changes: [] as Change[], kept: [] as string[] };
  if (a.password === undefined && a.password_lock === undefined) return out;
  if (!shadow || shadow.state === 'unreadable') {
    return { ...out, fail: `cannot read the shadow entry of ${a.name} to compare its password (run the task with become: true)` };
  }
  if (shadow.state === 'absent') {
    return { ...out, fail: `${a.name} has a passwd entry but no shadow entry; run pwconv on the host first` };
  }
  if (a.password !== undefined && a.update_password === 'always') {
    if (sha256(a.password.replace(/^!+/, '')) !== shadow.digest) {
      // one chpasswd sets the hash and its lock together, as usermod -p '!hash' would
      out.steps.push(setPassword(a.name, withLock(a.password, a.password_lock)));
      out.changes.push({ field: 'password', before: '(hidden)', after: '(password hash changed)' });
      return out;
    }
    out.kept.push('the wanted password');
  }
  if (a.password_lock === true) {
    if (!shadow.locked) {
      out.steps.push(run(['usermod', '-L', a.name]));
      out.changes.push({ field: 'password lock', before: 'unlocked', after: 'locked' });
    } else out.kept.push('its password locked');
  } else if (a.password_lock === false) {
    // unlocking a lone '!' would leave an account without any password: usermod refuses, and so do we
    if (shadow.locked && !shadow.empty) {
      out.steps.push(run(['usermod', '-U', a.name]));
      out.changes.push({ field: 'password lock', before: 'locked', after: 'unlocked' });
    } else out.kept.push(shadow.locked ? 'no password to unlock' : 'its password unlocked');
  }
  return out;
}

/** chpasswd -e reads "name:hash" on stdin, so the hash stays out of argv, `ps` and step descriptions. */
function setPassword(user: string, hash: string): Step {
  return run(['chpasswd', '-e'], { input: `${user}:${hash}\n` });
}

/** password_lock is a '!' in front of the hash: add or strip it so the hash and the lock are set at once. */
function withLock(hash: string, lock: boolean | undefined): string {
  if (lock === true) return hash.startsWith('!') ? hash : `!${hash}`;
  if (lock === false) return hash.replace(/^!+/, '');
  return hash;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}

function describe(fields: Record<string, string | number | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}

import { posix } from 'node:path';
import { z } from 'zod';
import { defineModule } from '../core/module.js';
import { shq } from '../core/quote.js';
import type { Drift } from '../core/result.js';
import { run, sh, type Step } from '../core/step.js';
import { changedSinceLoad, effectiveSettings, matchSettings, sshdFiles, type SettingSource, type SshdFiles } from '../facts/sshd.js';
import { socketActivated, socketDropIn, SSH_SOCKET, SSH_SOCKET_DROPIN, sshSocket } from '../facts/ssh-socket.js';
import { reloadSshd, reloadSshdScript } from './ssh-reload.js';

// one line each: a newline in a value would inject directives of its own into sshd's configuration
const oneLine = z.string().regex(/^[^\n\r\0]*$/, 'an sshd setting must be one line (a newline would add a directive of its own)');
const value = z.union([oneLine, z.number(), z.boolean(), z.array(oneLine)]);

const schema = z
  .object({
    /** a drop-in that sorts early: OpenSSH keeps the first value it reads */
    path: z.string().default('/etc/ssh/sshd_config.d/00-shipshape.conf'),
    settings: z
      .record(z.string(), value)
      .refine((o) => Object.keys(o).every((k) => /^[A-Za-z][A-Za-z0-9]*$/.test(k)), { message: 'an sshd keyword is one word of letters and digits, like PermitRootLogin' }),
    header: z.string().default('# managed by shipshape: edits here are reported as drift and replaced'),
    /** the sshd unit reloaded right after the write, so the engine's guard can test a new login */
    service: z.string().default('ssh'),
  })
  .strict();

type Settings = z.infer<typeof schema>['settings'];

export function renderSettings(settings: Settings): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(settings)) {
    // keywords that may repeat (HostKey) get one line per value; lists of algorithms are comma-joined
    if (Array.isArray(v) && /^(hostkey|listenaddress|port)$/i.test(k)) v.forEach((x) => lines.push(`${k} ${x}`));
    else lines.push(`${k} ${Array.isArray(v) ? v.join(',') : typeof v === 'boolean' ? (v ? 'yes' : 'no') : v}`);
  }
  return lines;
}

// validate the candidate as sshd will read it: first, ahead of everything else the live config includes
const VALIDATE = `sh -c 't=$(mktemp); { echo "Include $1"; echo "Include /etc/ssh/sshd_config"; } > "$t"; sshd -t -f "$t"; r=$?; rm -f "$t"; exit $r' sshd-validate %s`;

export default defineModule({
  name: 'sshd_config',
  summary: 'sshd settings in a validated drop-in, checked against the effective configuration (first value wins, Match blocks, sshd -T)',
  schema,
  facts: () => ({ sshd: sshdFiles, socket: sshSocket }),
  plan(a, { sshd, socket }) {
    const lines = renderSettings(a.settings);
    const content = [a.header, ...lines, ''].join('\n');
    const current = sshd.files.find((f) => f.path === a.path);
    const declared = declaredValues(lines);
    // judge by what sshd will read with our file in place, not by the file alone
    const files = [...sshd.files.filter((f) => f.path !== a.path), { path: a.path, content }];
    const effective = effectiveSettings(files);
    const overrides: Override[] = [];
    for (const [key, want] of declared) {
      const src = effective.get(key);
      if (src && src.file !== a.path && !sameValue(src.value, want)) overrides.push({ key, want, src });
    }
    // Match blocks win for the connections they match; only those weakening a declared setting count
    for (const m of matchSettings(files)) {
      const want = declared.get(m.key);
      if (want !== undefined && !sameValue(m.value, want) && !repeatable(m.key)) overrides.push({ key: m.key, want, src: m, match: m.match });
    }
    const fileChanges = current?.content.replace(/\n?$/, '\n') !== content;
    // the running sshd may not be what sshd -T (which reads the files) says: edited, never reloaded
    const stale = staleDrift(sshd, a.service);
    // socket-activated sshd (Ubuntu 24.04): systemd listens, on the socket's ListenStream, not on sshd's Port
    const ports = declaredPorts(a.settings);
    const dropIn = socketActivated(socket) && ports.length ? socketDropIn(ports) : undefined;
    const dropInChanges = dropIn !== undefined && socket.dropIn !== dropIn;
    if (!fileChanges && !overrides.length && !dropInChanges) {
      const listening = dropIn !== undefined ? `; ${SSH_SOCKET} listens on ${socket.listen.join(', ') || ports.join(', ')} (socket activation)` : '';
      const off = disagreements(sshd, declared);
      if (off.length) return unexplained(a.service, sshd, off, a.path, stale);
      if (!stale) return { steps: [], reason: `${a.path} is as declared and every setting in it is in effect${asSeen(sshd, declared)}${listening}` };
      return {
        steps: [reloadSshd(a.service)],
        reason: `reload sshd: ${stale.what}`,
        drift: [stale],
        accessCritical: 'changes how sshd accepts logins',
      };
    }
    const neutralised = neutralise(files, overrides, a.path);
    const port = a.settings.Port ?? a.settings.port;
    const listens = Object.keys(a.settings).some((k) => /^(port|listenaddress)$/i.test(k));
    const activate = dropInChanges ? [socketMoveStep(a.service)] : listens && fileChanges ? [socketStep(a.service)] : [];
    const drift = [...overrides.map((o) => overrideDrift(o, a.path, sshd)), ...(stale ? [stale] : [])];
    if (dropInChanges && socket.dropIn !== undefined) {
      drift.push({
        what: `${SSH_SOCKET_DROPIN} was edited: ${SSH_SOCKET} does not listen where sshd_config says`,
        why: 'sshd is socket-activated: the socket, not sshd, decides which port takes logins',
        where: SSH_SOCKET_DROPIN,
        fix: `rewrite ${SSH_SOCKET_DROPIN} (ListenStream ${ports.join(', ')}) and restart ${SSH_SOCKET}`,
      });
    }
    if (fileChanges && current) {
      drift.unshift({
        what: `${a.path} was edited: it is not what this task declares`,
        why: 'the file holds the hardened sshd settings (logins, algorithms); an edit there changes how sshd accepts logins',
        where: a.path,
        fix: `rewrite ${a.path} as declared (validated with sshd -t) and reload sshd`,
      });
    }
    const what = [
      ...(fileChanges ? [`${current ? 'update' : 'create'} ${a.path} (${lines.length} settings, validated with sshd -t)`] : []),
      ...neutralised.map((n) => `neutralise ${n.lines.length} overriding line${n.lines.length === 1 ? '' : 's'} in ${n.path} (${n.lines.map((l) => l.text).join('; ')})`),
      ...(dropInChanges ? [`${SSH_SOCKET} (sshd is socket-activated) listens on port ${ports.join(', ')}: ${SSH_SOCKET_DROPIN}`] : []),
    ];
    return {
      steps: [
        ...(fileChanges ? [{ kind: 'write' as const, path: a.path, content, mode: '0644', owner: 'root', group: 'root', validate: VALIDATE }] : []),
        ...neutralised.map((n) => ({ kind: 'write' as const, path: n.path, content: n.after, validate: n.path === MAIN ? MAIN_VALIDATE : VALIDATE })),
        ...(dropInChanges
          ? [run(['mkdir', '-p', '--', posix.dirname(SSH_SOCKET_DROPIN)]), { kind: 'write' as const, path: SSH_SOCKET_DROPIN, content: dropIn!, mode: '0644', owner: 'root', group: 'root' }]
          : []),
        ...activate,
        // reload, not restart: open sessions (ours included) survive, and a bad config never stops sshd
        reloadSshd(a.service),
      ],
      guard: {
        paths: [...(fileChanges ? [a.path] : []), ...neutralised.map((n) => n.path), ...(dropInChanges ? [SSH_SOCKET_DROPIN] : [])],
        restore: [...activate.map((s) => (s.kind === 'sh' ? s.script : '')), reloadSshdScript(a.service)].join('\n'),
        ...(port !== undefined ? { port: Number(port) } : {}),
      },
      reason: what.join('; '),
      diff: [
        ...(fileChanges ? [{ subject: a.path, before: current?.content ?? '', after: content }] : []),
        ...neutralised.map((n) => ({ subject: n.path, before: n.before, after: n.after })),
        ...(dropInChanges ? [{ subject: SSH_SOCKET_DROPIN, before: socket.dropIn ?? '', after: dropIn! }] : []),
      ],
      ...(current ? { drift } : drift.length ? { drift } : {}),
      accessCritical: 'changes how sshd accepts logins',
    };
  },
});

const MAIN = '/etc/ssh/sshd_config';

/** The Port values a task declares (sshd's default 22 when it declares none is not ours to write). */
function declaredPorts(settings: Settings): number[] {
  const v = Object.entries(settings).find(([k]) => k.toLowerCase() === 'port')?.[1];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(Number).filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
}
const MAIN_VALIDATE = 'sshd -t -f %s';

interface Override {
  key: string;
  want: string;
  src: SettingSource;
  /** set when the line sits in a Match block */
  match?: string;
}

/** Keyword (lower case) -> the value our file gives it; repeatable keywords keep their first line only. */
function declaredValues(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf(' ');
    const key = l.slice(0, i).toLowerCase();
    if (!out.has(key)) out.set(key, l.slice(i + 1));
  }
  return out;
}

/** Keywords whose every line counts (several HostKey or Port lines): a first-value comparison means nothing. */
const repeatable = (key: string) => /^(hostkey|port|listenaddress)$/.test(key);

const sameValue = (a: string, b: string) => a.trim().replace(/\s+/g, ' ').toLowerCase() === b.trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * Does sshd -T's value show the declared one in effect? An algorithm list starting with `-`, `+` or `^` is
 * relative to sshd's own default (the ssh role removes weak key exchanges that way): it is in effect when the
 * list sshd uses holds none (`-`) or all (`+`, `^`) of the named algorithms, wildcards as sshd reads them.
 */
export function inEffect(live: string, want: string): boolean {
  const m = /^([-+^])(.+)$/.exec(want.trim());
  if (!m) return sameValue(live, want);
  const used = live.trim().split(',');
  const present = (pattern: string) => {
    const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    return used.some((alg) => re.test(alg));
  };
  const names = m[2].split(',');
  return m[1] === '-' ? !names.some(present) : names.every(present);
}

const NEUTRAL = '# disabled by shipshape (it overrode a hardened setting): ';

/** Every file with an overriding line, with those lines commented out (kept, marked, so a person sees what happened). */
function neutralise(files: { path: string; content: string }[], overrides: Override[], ours: string) {
  const byFile = new Map<string, Set<number>>();
  for (const o of overrides) if (o.src.file !== ours) byFile.set(o.src.file, (byFile.get(o.src.file) ?? new Set()).add(o.src.line));
  return [...byFile].map(([path, nums]) => {
    const before = files.find((f) => f.path === path)!.content;
    const text = before.split('\n');
    const lines = [...nums].sort((x, y) => x - y).map((n) => ({ n, text: text[n - 1].trim() }));
    for (const { n } of lines) text[n - 1] = NEUTRAL + text[n - 1].trim();
    const after = text.join('\n').replace(/\n?$/, '\n');
    return { path, before: before.replace(/\n?$/, '\n'), after, lines };
  });
}

/** Why a weakened keyword matters, in an operator's words; other keywords get the general reason. */
const WHY: Record<string, string> = {
  passwordauthentication: 'password logins let anyone on the internet guess passwords for every account',
  kbdinteractiveauthentication: 'keyboard-interactive logins are password logins by another name',
  permitrootlogin: 'root can log in directly: one stolen key or guessed password is the whole machine',
  permitemptypasswords: 'accounts without a password could log in',
  authenticationmethods: 'logins are no longer limited to public keys',
  pubkeyauthentication: 'key logins are what this site relies on',
  x11forwarding: 'X11 forwarding lets a login reach back into the client',
  allowagentforwarding: "agent forwarding hands the host a way to use the operator's keys",
  allowtcpforwarding: 'TCP forwarding turns a login into a tunnel past the firewall',
  maxauthtries: 'more guesses per connection',
  ciphers: 'weaker ciphers are offered',
  macs: 'weaker MACs are offered',
  kexalgorithms: 'weaker key exchanges are offered',
  hostkeyalgorithms: 'weaker host key algorithms are offered',
};

function overrideDrift(o: Override, ours: string, sshd: SshdFiles) {
  const seen = sshd.effective;
  const live = seen?.settings[o.key]?.[0];
  const inEffect = seen && live !== undefined && sameValue(live, o.src.value) ? `; sshd -T for ${seen.user}@${seen.addr} confirms "${o.key} ${live}"` : '';
  const how = o.match
    ? `a "${o.match}" block sets it for the logins it matches, whatever ${ours} says`
    : `sshd keeps the first value it reads and this line comes before ${ours}`;
  return {
    what: `${o.key} "${o.src.value}" is in effect${o.match ? ` for "${o.match}"` : ''}, not "${o.want}" as declared${inEffect}`,
    why: `${WHY[o.key] ?? `it defeats the declared ${o.key}`}: ${how}`,
    where: `${o.src.file}:${o.src.line}${o.match ? ` (in "${o.match}")` : ''}`,
    fix: `comment out line ${o.src.line} of ${o.src.file} (apply does it, validated with sshd -t, then reloads sshd)`,
  };
}

/** What sshd -T says about the declared keywords for this connection: agreement (disagreements are drift of their own). */
function asSeen(sshd: SshdFiles, declared: Map<string, string>): string {
  return sshd.effective ? ` (sshd -T for ${sshd.effective.user}@${sshd.effective.addr} agrees)` : '';
}

/** Declared keywords sshd -T, for this run's own connection, gives another value. */
function disagreements(sshd: SshdFiles, declared: Map<string, string>): { key: string; want: string; live: string }[] {
  const seen = sshd.effective;
  if (!seen) return [];
  return [...declared].flatMap(([key, want]) => {
    const live = seen.settings[key]?.[0];
    return !repeatable(key) && live !== undefined && !inEffect(live, want) ? [{ key, want, live }] : [];
  });
}

/**
 * sshd -T disagrees with what every file sshd reads says (the walk above found no overriding line): the
 * value comes from somewhere this task does not read (an option sshd is started with), or sshd reads the
 * files another way. Drift all the same, with sshd -T's word as the
 * place; apply reloads sshd, which is all it can do without knowing the cause, and check keeps saying so
 * until a person finds it.
 */
function unexplained(service: string, sshd: SshdFiles, off: { key: string; want: string; live: string }[], ours: string, stale?: Drift) {
  const seen = sshd.effective!;
  const probe = `sshd -T -C user=${seen.user},host=${seen.addr},addr=${seen.addr}`;
  return {
    steps: [reloadSshd(service)],
    reason: `reload sshd: sshd -T says ${off.map((o) => `${o.key} ${o.live}`).join(', ')}, which no file sshd reads explains`,
    drift: [
      ...off.map((o) => ({
      what: `sshd -T for ${seen.user}@${seen.addr} says "${o.key} ${o.live}", declared "${o.want}" in ${ours}`,
      why: `${WHY[o.key] ?? `it defeats the declared ${o.key}`}: and no line of the files sshd reads (sshd_config, its drop-ins, what they include) sets it`,
      where: `not explained by any file sshd reads; sshd -T says "${o.key} ${o.live}"`,
      fix: `apply reloads sshd (${service}); if \`${probe} | grep -i ^${o.key}\` still says "${o.live}", look for ${o.key} in how sshd is started (systemctl cat ${service})`,
      })),
      ...(stale ? [stale] : []),
    ],
    accessCritical: 'changes how sshd accepts logins',
  };
}

/**
 * The listening sshd read its configuration before the last change to it (a file edited, added or removed
 * without a reload, or a reload that failed): it still decides logins by the settings it read then, which
 * neither the files nor sshd -T show. Drift until sshd reads them again.
 */
function staleDrift(sshd: SshdFiles, service: string): Drift | undefined {
  const changed = changedSinceLoad(sshd);
  if (!changed.length || !sshd.running) return undefined;
  const at = (us: number) => new Date(Math.floor(us / 1000)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const last = changed.reduce((x, y) => (y.at > x.at ? y : x));
  const refused = sshd.refused ? `; and sshd refuses the configuration as it is now (${sshd.refused.split('\n').at(-1)}), so a reload fails and it keeps the old settings` : '';
  return {
    what: `the running sshd (pid ${sshd.running.pid}) last read its configuration at ${at(sshd.running.loadedAt)}; ${changed.map((c) => c.path).join(', ')} changed after that (${at(last.at)})`,
    why: `sshd decides logins by the settings it read then, not by the files: a setting edited or removed since (a forbidden password login, a weak algorithm) may still be in force, and neither the files nor sshd -T show it${refused}`,
    where: changed.map((c) => c.path).join(', '),
    fix: `reload sshd (apply runs \`${reloadSshdScript(service)}\`, guarded)`,
  };
}

/**
 * Socket-activated sshd (Ubuntu 22.10 and later): systemd, not sshd, listens, on the ports a generator
 * reads from sshd_config. Port and ListenAddress take effect only after a daemon-reload and a restart of
 * the socket; sessions already open are not affected.
 */
export function socketStep(service: string): Step {
  const unit = shq(`${service}.socket`);
  return sh(
    `if systemctl is-active --quiet ${unit}; then systemctl daemon-reload && systemctl restart ${unit}; fi`,
    `socket-activated sshd: daemon-reload and restart ${service}.socket so it listens where sshd_config says`,
  );
}

/**
 * The socket of a socket-activated sshd moved to where SSH_SOCKET_DROPIN says. A running sshd holds a copy of
 * the socket it was handed, still bound to the old port: the socket could not bind it again, and the old port
 * would stay open. So sshd stops first (KillMode=process: open sessions, ours included, stay), then the socket
 * restarts; the next login starts sshd on the new socket. (Ubuntu's socket is RequiredBy ssh.service, which
 * does the same; Debian's is not.) Only when the socket is active, so the guard can run it to restore as well.
 */
export function socketMoveStep(service: string): Step {
  const unit = shq(`${service}.socket`);
  return sh(
    `if systemctl is-active --quiet ${unit}; then systemctl daemon-reload && systemctl stop ${shq(service)} && systemctl restart ${unit}; fi`,
    `socket-activated sshd: sshd lets go of the old socket, then ${service}.socket restarts where ${SSH_SOCKET_DROPIN} says`,
  );
}

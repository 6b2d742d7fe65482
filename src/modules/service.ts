import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { shJoin } from '../core/quote.js';
import type { Drift } from '../core/result.js';
import type { Probe } from '../core/probe.js';
import { fileMtime } from '../facts/file.js';
import { run, type Step } from '../core/step.js';
import { UNIT_NAME, unitStarted, unitState, type UnitState } from '../facts/systemd.js';
import { socketActivated, SSH_SOCKET, sshSocket, type SshSocket } from '../facts/ssh-socket.js';
import { reloadSshd } from './ssh-reload.js';

const schema = z
  .object({
    name: z.string().regex(UNIT_NAME, 'name must be a systemd unit name such as nginx or nginx.service'),
    /** restarted and reloaded always act (they are meant for handlers); a stopped unit is started instead */
    state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional(),
    enabled: z.boolean().optional(),
    /** run systemctl daemon-reload first when systemd reports the unit's files changed, or has not loaded it */
    daemon_reload: z.boolean().default(false),
    masked: z.boolean().optional(),
    /**
     * with state: started, files the running unit must have read: when one changed after the unit
     * last started, it is restarted. An outcome judged on the host, so unlike a handler it is not lost
     * when a run dies between writing the file and restarting.
     */
    restart_after: z.array(z.string().startsWith('/', 'an absolute path')).optional(),
  })
  .strict()
  .refine((a) => a.state !== undefined || a.enabled !== undefined || a.masked !== undefined || a.daemon_reload, {
    message: 'service needs at least one of state, enabled, masked or daemon_reload',
  })
  .refine((a) => !(a.masked === true && (a.enabled === true || (a.state !== undefined && a.state !== 'stopped'))), {
    message: 'a masked unit can neither be enabled nor run: masked: true only goes with state: stopped or enabled: false',
  });

type Args = z.infer<typeof schema>;

const RUNNING = ['active', 'activating', 'reloading'];
/** unit file states `systemctl enable` has nothing to do for: no [Install] section, or not a file on disk */
const FIXED = ['static', 'generated', 'transient'];

export default defineModule({
  name: 'service',
  summary: 'Start, stop, restart, reload, enable, disable or mask a systemd unit (Ansible: service / systemd_service)',
  schema,
  aliases: { service: 'name', unit: 'name', 'daemon-reload': 'daemon_reload' },
  facts: (a) => ({
    unit: unitState(a.name),
    ...(a.restart_after?.length ? startedSinceFacts(a.name, a.restart_after) : {}),
    ...(SSH_SERVICE.test(a.name) ? { socket: sshSocket } : {}),
  }),
  plan: (a, facts, ctx) => {
    const { unit, socket } = facts;
    const s = socket as SshSocket | undefined;
    if (socketActivated(s)) return planSshSocket(a, unit, s!);
    const f = facts as Record<string, unknown>;
    const since = a.restart_after?.length ? parseStartedSince(f.since as string, a.restart_after.map((_, i) => f[`mtime${i}`] as string)) : undefined;
    return planService(a, unit, since, a.restart_after?.find((p) => ctx.willWrite?.has(p)));
  },
  preflight: (a) => sshdCut(a),
});

/** Stopping, disabling or masking sshd ends every later login: refused before the play changes anything. */
function sshdCut(a: Args): string | undefined {
  if (!/^sshd?(\.service|\.socket)?$/.test(a.name)) return undefined;
  const what = a.state === 'stopped' ? 'stop' : a.masked ? 'mask' : a.enabled === false ? 'disable' : undefined;
  if (!what) return undefined;
  return `this would ${what} ${a.name}, the SSH server this run and every later login come through: refused. Remove the task (or move SSH behind something else first, by hand).`;
}

/** The SSH server's service unit (sshd is Debian's alias for ssh.service). */
const SSH_SERVICE = /^sshd?(\.service)?$/;

/**
 * sshd started by its socket (Ubuntu 24.04's default: ssh.socket enabled and listening, ssh.service disabled
 * and started by the first connection). The socket is then what "enabled" and "started" mean: enabling
 * ssh.service would start a second, permanent way in at boot beside the socket, against the release's design,
 * and a port move must move the socket (sshd_config does that). ssh.service's own enablement is left as
 * the release has it. Restarted and reloaded act on the running sshd as for any unit (planService).
 */
function planSshSocket(a: Args, u: UnitState, s: SshSocket): Plan {
  const sock = s.unit;
  const steps: Step[] = [];
  const did: string[] = [];
  const kept: string[] = [];
  const drift: Drift[] = [];
  const service = u.id ?? a.name;
  const where = `systemd unit ${SSH_SOCKET} (sshd is socket-activated: ${SSH_SOCKET} starts ${service} on the first connection)`;
  const act = (verb: string, what: string, why: string) => {
    steps.push(run(['systemctl', verb, SSH_SOCKET]));
    did.push(`${verb} ${SSH_SOCKET}`);
    drift.push({ what, why, where, fix: `systemctl ${verb} ${SSH_SOCKET}` });
  };
  if (a.enabled === true) {
    if (['enabled', 'enabled-runtime'].includes(sock.unitFileState ?? '')) kept.push(`${SSH_SOCKET} enabled`);
    else act('enable', `${SSH_SOCKET} is ${sock.unitFileState || 'not enabled'}`, 'sshd would not be reachable after the next boot');
  }
  if (a.state === 'started') {
    if (RUNNING.includes(sock.activeState ?? '')) kept.push(`${SSH_SOCKET} ${sock.activeState} (${sock.subState})${s.listen.length ? ` on ${s.listen.join(', ')}` : ''}`);
    else act('start', `${SSH_SOCKET} is ${sock.activeState} (${sock.subState})`, 'nothing listens for new SSH logins');
  }
  // restarted/reloaded act on sshd only if it runs: a stopped one is started by the next login and reads the
  // configuration then (and sshd_config may just have stopped it to move the socket, after this was gathered).
  // A reload is a restart here: SIGHUP kills a socket-activated sshd (see reloadSshd)
  if (a.state === 'restarted') {
    steps.push(run(['systemctl', 'try-restart', a.name]));
    did.push(`restart ${a.name} if it runs`);
  } else if (a.state === 'reloaded') {
    steps.push(reloadSshd(a.name));
    did.push(`reload ${a.name} if it runs (a restart: a SIGHUP would stop a socket-activated sshd)`);
  }
  // the rest (daemon_reload, masked, enabled: false) is about the service as for any unit
  const rest = { ...a, enabled: a.enabled === true ? undefined : a.enabled, state: a.state === 'stopped' ? a.state : undefined };
  const other = rest.state !== undefined || rest.enabled !== undefined || rest.masked !== undefined || rest.daemon_reload ? planService(rest, u) : undefined;
  if (other?.fail) return other;
  const left = `${service} ${u.unitFileState || 'as it is'}, started on demand`;
  if (!steps.length && !other?.steps.length) {
    if (other) kept.push(other.reason.replace(/^.*? needs nothing: /, ''));
    return { steps: [], reason: `${a.name} needs nothing: socket-activated, ${kept.join(', ')} (${left})` };
  }
  return {
    steps: [...steps, ...(other?.steps ?? [])],
    reason: [...(did.length ? [`${did.join('; ')} (sshd is socket-activated; ${left})`] : []), ...(other?.steps.length ? [other.reason] : [])].join('; '),
    ...(drift.length
      ? { diff: [{ subject: `service ${SSH_SOCKET}`, before: `${sock.activeState}, ${sock.unitFileState}\n`, after: `${a.state === 'started' ? 'active' : sock.activeState}, ${a.enabled ? 'enabled' : sock.unitFileState}\n` }] }
      : {}),
    ...(drift.length || other?.drift?.length ? { drift: [...drift, ...(other?.drift ?? [])] } : {}),
  };
}

/** When the unit last entered the active state, and the newest change among its files (unix seconds). */
export interface StartedSince {
  started?: number;
  changed?: { path: string; mtime: number };
}

/**
 * The facts `since` is made of, each read with every other question of its kind (the play's one
 * `systemctl show` and one `stat`): when the unit last started, and each file's modification time.
 */
function startedSinceFacts(name: string, files: string[]): Record<string, Probe<string>> {
  return { since: unitStarted(name), ...Object.fromEntries(files.map((f, i) => [`mtime${i}`, fileMtime(f)])) };
}

/** `ActiveEnterTimestamp` (`@SECONDS`) and the files' `SECONDS PATH` lines, in the order given. */
export function parseStartedSince(started: string, mtimes: string[]): StartedSince {
  const first = started.split('\n')[0].trim();
  const at = Number(first.replace(/^@/, ''));
  let changed: StartedSince['changed'];
  for (const line of mtimes.join('').split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (m && (!changed || Number(m[1]) > changed.mtime)) changed = { path: m[2], mtime: Number(m[1]) };
  }
  return { ...(first && Number.isFinite(at) && at > 0 ? { started: at } : {}), ...(changed ? { changed } : {}) };
}

function planService(a: Args, u: UnitState, since?: StartedSince, rewritten?: string): Plan {
  if (!u.available) {
    const msg = `systemctl cannot answer on this host (${u.error}); the service module manages systemd units only`;
    return { steps: [], reason: msg, fail: msg };
  }
  // enable, disable and mask refuse alias names (sshd for ssh.service): they act on the unit's own name
  const id = u.id ?? a.name;
  const missing = u.loadState === 'not-found';
  const steps: Step[] = [];
  const did: string[] = [];
  // what was checked and found right; a Set, as "not installed" or "masked" can answer several questions
  const kept = new Set<string>();
  const drift: Drift[] = [];
  const act = (argv: string[], what: string, d?: Omit<Drift, 'fix'>) => {
    steps.push(run(['systemctl', ...argv]));
    did.push(what);
    if (d) drift.push({ ...d, fix: shJoin(['systemctl', ...argv]) });
  };
  const where = `systemd unit ${id}`;

  if (a.daemon_reload) {
    // a unit file an earlier task just wrote shows up as not-found or as changed until systemd re-reads it
    if (u.needDaemonReload || missing) act(['daemon-reload'], 'reload systemd (unit files changed)');
    else kept.add('unit files up to date');
  }

  let masked = u.loadState === 'masked' || u.unitFileState?.startsWith('masked') === true;
  if (a.masked === true) {
    if (masked) kept.add('masked');
    else act(['mask', id], `mask ${id}`, { what: `${id} is not masked`, why: 'declared masked: nothing may start it', where });
  } else if (a.masked === false) {
    if (masked)
      act(['unmask', id], `unmask ${id}`, {
        what: `${id} is masked`,
        why: 'a masked unit cannot start at all, not by hand, not at boot, not as a dependency',
        where: `${where} (linked to /dev/null by \`systemctl mask\`: /etc/systemd/system/${id})`,
      });
    else kept.add('not masked');
  }
  const unmasked = a.masked === false && masked;
  if (a.masked !== undefined) masked = a.masked;

  if (a.enabled !== undefined) {
    const ufs = u.unitFileState ?? '';
    const enabled = ufs === 'enabled' || ufs === 'enabled-runtime';
    if (masked && a.enabled) return failed(`${a.name} is masked and cannot be enabled; add masked: false to unmask it`);
    if (FIXED.includes(ufs)) kept.add(`${ufs} (nothing to enable or disable)`);
    else if (a.enabled && (unmasked || !enabled))
      act(['enable', id], `enable ${id}${missing ? ' (not installed yet)' : ''}`, { what: `${id} is ${missing ? 'not installed' : ufs || 'not enabled'}`, why: 'it will not start at the next boot', where });
    else if (!a.enabled && (unmasked || enabled)) act(['disable', id], `disable ${id}`, { what: `${id} is enabled`, why: 'declared disabled: it would start at the next boot', where });
    else kept.add(a.enabled ? 'enabled' : missing ? 'not installed' : masked ? 'masked' : 'disabled');
  }

  if (a.state !== undefined) {
    const running = RUNNING.includes(u.activeState ?? '');
    if (masked && a.state !== 'stopped') return failed(`${a.name} is masked and cannot be ${a.state}; add masked: false to unmask it`);
    if (a.state === 'started') {
      const stale = running && since?.changed && since.started !== undefined && since.changed.mtime > since.started ? since.changed : undefined;
      if (stale)
        act(['restart', a.name], `restart ${a.name}: ${stale.path} changed after it started`, {
          what: `${id} started before ${stale.path} last changed`,
          why: 'it still runs with what that file said before',
          where: stale.path,
        });
      // check only: an earlier task would rewrite the file, so apply will find the unit older than it
      else if (running && rewritten) act(['restart', a.name], `restart ${a.name}: an earlier task rewrites ${rewritten}`);
      else if (running) kept.add(`${u.activeState} (${u.subState})${since?.changed ? `, started after ${since.changed.path} last changed` : ''}`);
      // not installed yet: an earlier task may install it; if not, systemctl start fails loudly at apply
      else
        act(['start', a.name], `start ${a.name}${missing ? ' (not installed yet)' : ''}`, {
          what: `${id} is ${missing ? 'not installed' : `${u.activeState} (${u.subState})`}`,
          why: 'declared running: whatever it does for this host is not being done now',
          where,
        });
    } else if (a.state === 'stopped') {
      if (running || u.activeState === 'deactivating') act(['stop', a.name], `stop ${a.name}`, { what: `${id} is ${u.activeState}`, why: 'declared stopped', where });
      else kept.add(missing ? 'not installed' : `stopped (${u.activeState})`);
    } else {
      // Ansible semantics: restarted/reloaded always act, and a unit that is not running is started
      const verb = running ? (a.state === 'restarted' ? 'restart' : 'reload') : 'start';
      act([verb, a.name], `${verb} ${a.name}${running ? '' : ' (it was not running)'}`);
    }
  }

  if (steps.length === 0) return { steps, reason: `${a.name} needs nothing: ${[...kept].join(', ')}` };
  const before = describe(u);
  const after = describeWanted(u, a, masked);
  // restart and reload change no state a diff could show
  return {
    steps,
    reason: did.join('; '),
    ...(before !== after ? { diff: [{ subject: `service ${a.name}`, before, after }] } : {}),
    // restarted/reloaded (handlers) and daemon-reload are actions, not differences: the engine words those
    ...(drift.length ? { drift } : {}),
  };
}

function describe(u: UnitState): string {
  return `${u.activeState}, ${u.loadState === 'not-found' ? 'not installed' : u.unitFileState || 'no unit file'}\n`;
}

function describeWanted(u: UnitState, a: Args, masked: boolean): string {
  const state = !a.state ? u.activeState : a.state === 'stopped' ? 'inactive' : 'active';
  const wasMasked = u.unitFileState?.startsWith('masked') === true;
  const file = masked
    ? 'masked'
    : a.enabled !== undefined && !FIXED.includes(u.unitFileState ?? '')
      ? a.enabled ? 'enabled' : 'disabled'
      : wasMasked ? 'unmasked' : describe(u).split(', ')[1].trim();
  return `${state}, ${file}\n`;
}

function failed(message: string): Plan {
  return { steps: [], reason: message, fail: message };
}

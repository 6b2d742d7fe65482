import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { shq } from '../core/quote.js';
import type { ExecResult, RunOptions, Transport } from '../transport/types.js';
import { WrappedTransport } from '../transport/wrapped.js';

/**
 * One run at a time per host. Two controllers applying to one host interleave their changes and
 * their guards (one run's revert undoes the other's work), so `apply` takes a host-wide lock: a
 * directory in /run (a reboot clears it) holding who took it.
 *
 * It costs no round trip of its own. The run's first trip (the play's facts) takes it in front of
 * its probes, and the lock is tied to the run's SSH connection: the holder records its *anchor*,
 * the process on the host that lives exactly as long as that connection (the sshd session the
 * script runs under). When the run ends, or its controller dies, the connection closes, the anchor
 * is gone and the next run takes the lock over at once: no release trip, even after a no-op. A
 * lock nobody refreshed for `staleSec` is a dead controller's whatever its anchor says (a
 * controller cut off by the network leaves its connection open on the host for a long time). A
 * host where no anchor can be found (no sshd session above the script) gets today's explicit
 * release trip at the end.
 */
export interface HostLock {
  dir: string;
  /** this run's token: only the holder refreshes and releases */
  token: string;
  /** who holds it, for the refusal message of a second run */
  holder: string;
  waitSec: number;
  staleSec: number;
}

export const LOCK_DIR = '/run/shipshape/lock';

/** Exit status of acquireScript when another run holds the lock past the wait. */
export const LOCK_HELD = 75;

/**
 * Shell functions the lock scripts share (builtins only: reading /proc starts no process).
 * __ss_start PID: sets __ss_st to the start time of PID (/proc/PID/stat field 22), empty when PID is gone or a zombie.
 * __ss_anchor [PID]: sets __ss_an to "pid starttime" of PID, or else of the nearest sshd session above this script.
 */
const FUNCTIONS = `__ss_start() {
  __ss_st=
  __ss_l=
  read -r __ss_l 2>/dev/null < "/proc/$1/stat" || return 1
  __ss_cm=\${__ss_l#*\\(}
  __ss_cm=\${__ss_cm%\\)*}
  set -- \${__ss_l##*) }
  [ "$1" = Z ] && return 1
  __ss_st=\${20}
  __ss_pp=$2
}
__ss_anchor() {
  __ss_an=
  if [ -n "$1" ]; then __ss_start "$1" && __ss_an="$1 $__ss_st"; return 0; fi
  __ss_p=$$
  __ss_n=0
  while [ "$__ss_p" -gt 1 ] && [ $__ss_n -lt 40 ] && __ss_start $__ss_p; do
    case "$__ss_cm" in sshd|sshd-session) __ss_an="$__ss_p $__ss_st"; return 0 ;; esac
    __ss_p=$__ss_pp
    __ss_n=$((__ss_n + 1))
  done
}`;

/**
 * The lock's clock is the host's uptime (/proc/uptime, read with a builtin): /run is emptied by a reboot,
 * so seconds since boot order everything the lock records, and reading them starts no process (`date`
 * would). __ss_up sets __ss_now to whole seconds since boot.
 */
const UPTIME = `__ss_up() {
  __ss_now=
  read -r __ss_now __ss_x 2>/dev/null < /proc/uptime
  __ss_now=\${__ss_now%.*}
  : "\${__ss_now:=0}"
}`;

/**
 * The lock in D is held by a live run: active within staleSec (its \`seen\` file: the uptime of its last
 * acquisition or refresh), and one of its anchors (if it recorded any) still there. A lock written by an
 * older shipshape has no \`seen\`: its holder file's mtime against the wall clock, as that version judged it.
 * A \`seen\` ahead of the uptime is from before a reboot (a /run that survived it): stale.
 */
function heldFunction(d: string, staleSec: number): string {
  return `__ss_held() {
  if read -r __ss_seen 2>/dev/null < ${d}/seen; then
    __ss_age=$((__ss_now - \${__ss_seen:-0}))
    [ "$__ss_age" -lt 0 ] && return 1
  else
    __ss_seen=$(stat -c %Y ${d}/holder 2>/dev/null || stat -c %Y ${d} 2>/dev/null || echo 0)
    __ss_age=$(( $(date +%s) - __ss_seen ))
  fi
  [ "$__ss_age" -gt ${staleSec} ] && return 1
  [ -s ${d}/anchors ] || return 0
  while read -r __ss_a __ss_s; do
    __ss_start "$__ss_a" && [ "$__ss_st" = "$__ss_s" ] && return 0
  done < ${d}/anchors
  return 1
}`;
}

/**
 * Claims the turn after the holder whose token is $1: creates D/claim.$1 with O_EXCL (dash's noclobber \`>\`),
 * which exactly one of the runs racing for that turn can do, and the winner holds the lock once it has
 * checked that the token is still $1 (a run that read the token, then stalled while others took and freed
 * the lock, claims a turn long past: the token has moved on). A claim whose run died before writing its
 * token wedges that turn: after 10 s the next claim in the chain (the name and a "+") is tried.
 * Status 0: the lock is this run's; 1: another run is taking it (wait); 2: the token moved on (look again).
 */
function claimFunction(d: string): string {
  return `__ss_claim() {
  __ss_cl=${d}/claim.$1
  while :; do
    set -C
    { printf '%s\\n' "$__ss_now" > "$__ss_cl"; } 2>/dev/null
    __ss_c=$?
    set +C
    [ "$__ss_c" -eq 0 ] && break
    __ss_cs=
    read -r __ss_cs 2>/dev/null < "$__ss_cl"
    # empty: its run died between creating and writing it (or is there now): judge by the file's age
    [ -n "$__ss_cs" ] || __ss_cs=$((__ss_now - $(date +%s) + $(stat -c %Y "$__ss_cl" 2>/dev/null || date +%s)))
    [ $((__ss_now - __ss_cs)) -gt 10 ] || [ $((__ss_now - __ss_cs)) -lt 0 ] || return 1
    __ss_cl=$__ss_cl+
  done
  __ss_t2=
  read -r __ss_t2 2>/dev/null < ${d}/token
  [ "$__ss_t2" = "$1" ] || return 2
}`;
}

export interface AcquireOptions {
  /** take over the lock whoever holds it (its run is known to be gone) */
  force?: boolean;
  /** the process that lives as long as the connection, when the transport knows it (a local one) */
  anchorPid?: number;
}

/** Claim files left by past takeovers are removed (one \`rm\`) once there are more than this many. */
const CLAIMS_KEPT = 16;

/**
 * Takes the lock (waiting up to waitSec for a live holder), records the holder, its token and its anchor.
 * Prints "WAITED ANCHORED" (seconds waited; 1 when an anchor was recorded); exits LOCK_HELD printing the
 * holder when another run keeps it.
 *
 * The lock's folder stays between runs (it is tied to the run's connection, and nothing releases it), so
 * the common case is a folder whose holder is gone. Taking it costs no process: its files are read with
 * builtins, the anchor judged through /proc, and the takeover is an O_EXCL claim (__ss_claim) instead of
 * removing the folder and making it again. Only the first run after a boot makes the folder (\`mkdir\`, which
 * two runs cannot both do). The winner writes its seen, anchors and holder before its token: a run that reads
 * the new token then finds the new anchors, never the dead ones of the run before.
 */
export function acquireScript(l: HostLock, o: AcquireOptions = {}): string {
  const d = shq(l.dir);
  const parent = shq(l.dir.replace(/\/[^/]*$/, '') || '/');
  return [
    FUNCTIONS,
    UPTIME,
    heldFunction(d, l.staleSec),
    claimFunction(d),
    '__ss_lock() {',
    // the lock's files are written as root: into a folder of the running user only, never through a link
    `  [ -d ${parent} ] || [ -L ${parent} ] || mkdir -p ${parent} || return 1`,
    `  if [ -L ${parent} ] || [ ! -d ${parent} ] || [ ! -O ${parent} ] || [ -L ${d} ]; then echo ${shq(`${l.dir} or its folder is a link or not the running user's`)}; return 1; fi`,
    '  __ss_i=0',
    '  while :; do',
    '    __ss_up',
    `    if [ ! -d ${d} ] && mkdir ${d} 2>/dev/null; then break; fi`,
    '    __ss_tk=',
    `    read -r __ss_tk 2>/dev/null < ${d}/token`,
    // no token yet: a run that has just made the folder is writing it (one that died there expires by staleSec)
    `    if ${o.force ? '[ -n "$__ss_tk" ] || ' : ''}! __ss_held; then`,
    '      __ss_claim "$__ss_tk"',
    '      case $? in 0) break ;; 2) continue ;; esac',
    '    fi',
    `    if [ "$__ss_i" -ge ${l.waitSec} ]; then`,
    '      __ss_h=unknown',
    `      read -r __ss_h 2>/dev/null < ${d}/holder`,
    `      __ss_held; printf '%s (last active %ss ago)\\n' "$__ss_h" "\${__ss_age:-0}"`,
    `      return ${LOCK_HELD}`,
    '    fi',
    '    sleep 1; __ss_i=$((__ss_i + 1))',
    '  done',
    `  printf '%s\\n' "$__ss_now" > ${d}/seen`,
    `  __ss_anchor ${o.anchorPid ?? ''}`,
    `  if [ -n "$__ss_an" ]; then printf '%s\\n' "$__ss_an" > ${d}/anchors; else printf '' > ${d}/anchors; fi`,
    `  printf '%s\\n' ${shq(l.holder)} > ${d}/holder`,
    `  printf '%s\\n' ${shq(l.token)} > ${d}/token`,
    // claims of past turns: the token has moved on from all of them, so a late claim of one of them loses
    `  set -- ${d}/claim.*`,
    `  [ $# -le ${CLAIMS_KEPT} ] || rm -f -- "$@"`,
    '  echo "$__ss_i ${__ss_an:+1}"',
    '}',
    '__ss_lock',
  ].join('\n');
}

/**
 * Prepended to every root round trip of the holder: the lock stays fresh while the run goes on. On a
 * connection the lock does not know yet (a guard's confirmation login, which the run continues on),
 * it also records that connection's anchor, so the lock outlives the connection it was taken on.
 */
export function refreshScript(l: HostLock, anchor?: { pid?: number }): string {
  const d = shq(l.dir);
  const mine = `read -r __ss_tk 2>/dev/null < ${d}/token; [ "$__ss_tk" = ${shq(l.token)} ]`;
  // the uptime of this activity (builtins: no \`touch\`, no \`date\`), as acquisition records it
  const seen = `{ read -r __ss_u __ss_x < /proc/uptime && printf '%s\\n' "\${__ss_u%.*}" > ${d}/seen; } 2>/dev/null`;
  if (!anchor) return `${mine} && ${seen}\n`;
  return `${FUNCTIONS}\nif ${mine}; then ${seen}; __ss_anchor ${anchor.pid ?? ''}; [ -n "$__ss_an" ] && printf '%s\\n' "$__ss_an" >> ${d}/anchors; fi\n`;
}

export function releaseScript(l: HostLock): string {
  return `if [ "$(cat ${shq(l.dir + '/token')} 2>/dev/null)" = ${shq(l.token)} ]; then rm -rf ${shq(l.dir)}; fi`;
}

export function newLock(o: { waitSec: number; staleSec: number }): HostLock {
  const holder = `a run by ${userInfo().username}@${hostname()} (pid ${process.pid}) started ${new Date().toISOString().slice(0, 19)}Z`;
  return { dir: LOCK_DIR, token: randomBytes(8).toString('hex'), holder, ...o };
}

/** The holder is a run of this controller whose process no longer exists. */
export function deadLocalRun(holder: string): boolean {
  const m = /@(\S+) \(pid (\d+)\)/.exec(holder);
  if (!m || m[1] !== hostname()) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Another run keeps the host: nothing of this run's script ran. */
export class HostLockHeld extends Error {
  constructor(
    readonly holder: string,
    readonly staleSec: number,
  ) {
    super(`another shipshape run is applying: ${holder}`);
  }
}

/**
 * A run's hold on one host's lock, kept by the transports of that host (like the Meter): arm it with
 * `take()`, and the next round trip that runs as root carries the acquisition in front of its own
 * script. The outcome comes back fenced by a per-trip nonce and is cut out of the trip's output, so
 * the caller sees its own script's result; when the lock is held, the script stops before the caller's
 * part runs and the trip throws HostLockHeld. Later root trips carry the refresh.
 */
export class HostLockHold {
  private state: 'idle' | 'wanted' | 'held' = 'idle';
  /** the lock has an anchor: closing the run's connections releases it */
  private anchored = false;
  /** transports whose connection's anchor the lock knows */
  private known = new WeakSet<Transport>();
  /** seconds the acquisition waited for another run */
  waited = 0;

  constructor(
    readonly lock: HostLock,
    /** become for a trip that carries only the lock (the first trip would not run as root) */
    private readonly become: boolean,
  ) {}

  get held(): boolean {
    return this.state === 'held';
  }

  /** The next root round trip takes the lock. */
  take(): void {
    if (this.state === 'idle') this.state = 'wanted';
  }

  wrap(t: Transport): Transport {
    return new LockedTransport(t, this);
  }

  /** @internal a trip of a wrapped transport */
  async run(t: Transport, script: string, opts: RunOptions = {}): Promise<ExecResult> {
    const root = opts.become === true || t.spec.user === 'root';
    if (this.state === 'wanted' && !root) await this.acquire(t, 'true\n', { ...opts, become: this.become });
    if (this.state === 'wanted') return this.acquire(t, script, opts);
    if (this.state !== 'held' || !root) return t.run(script, opts);
    const fresh = !this.known.has(t);
    const r = await t.run(refreshScript(this.lock, fresh ? { pid: t.sessionPid } : undefined) + script, opts);
    if (fresh && r.code !== null) this.known.add(t);
    return r;
  }

  /** The release trip a lock without anchor needs at the end of the run (none when the connection's end releases it). */
  async release(t: Transport): Promise<void> {
    if (this.state !== 'held' || this.anchored) return;
    this.state = 'idle';
    await t.run(releaseScript(this.lock), { become: this.become }).catch(() => undefined);
  }

  /** The lock's script in front of `script`: without wait first; a dead local run's lock is taken over, a live one waited for. */
  private async acquire(t: Transport, script: string, opts: RunOptions): Promise<ExecResult> {
    let r = await this.attempt(t, script, opts, { ...this.lock, waitSec: 0 });
    if (r.held !== undefined && deadLocalRun(r.held)) r = await this.attempt(t, script, opts, this.lock, true);
    else if (r.held !== undefined && this.lock.waitSec > 0) r = await this.attempt(t, script, opts, this.lock);
    if (r.held !== undefined) {
      this.state = 'idle';
      throw new HostLockHeld(r.held, this.lock.staleSec);
    }
    return r.result;
  }

  private async attempt(t: Transport, script: string, opts: RunOptions, lock: HostLock, force = false): Promise<{ result: ExecResult; held?: string }> {
    const nonce = randomBytes(8).toString('hex');
    const begin = `@@ss-lock:${nonce}:begin`;
    const end = `@@ss-lock:${nonce}:end:`;
    // fenced like a probe's output; on a held lock the script stops here, before the caller's part
    const prelude = [
      `printf '%s\\n' ${shq(begin)}`,
      // a group, not a subshell: the lock's script returns instead of exiting, and its names all start with __ss_
      `{\n${acquireScript(lock, { force, anchorPid: t.sessionPid })}\n} </dev/null 2>&1; __ss_lrc=$?`,
      `printf '\\n%s%s\\n' ${shq(end)} "$__ss_lrc"`,
      '[ "$__ss_lrc" -eq 0 ] || exit "$__ss_lrc"',
    ].join('\n');
    const res = await t.run(`${prelude}\n${script}`, opts);
    const b = res.stdout.indexOf(`${begin}\n`);
    const e = b < 0 ? -1 : res.stdout.indexOf(`\n${end}`, b);
    if (e < 0) {
      if (res.code === null) return { result: res };
      throw new Error(`could not take the host's run lock ${lock.dir}: ${(res.stderr || res.stdout).trim() || `exit ${res.code}`}`);
    }
    const lineEnd = res.stdout.indexOf('\n', e + 1 + end.length);
    const code = res.stdout.slice(e + 1 + end.length, lineEnd < 0 ? undefined : lineEnd);
    const said = res.stdout.slice(b + begin.length + 1, e).trim();
    const stdout = res.stdout.slice(0, b) + (lineEnd < 0 ? '' : res.stdout.slice(lineEnd + 1));
    if (Number(code) === LOCK_HELD) return { result: { ...res, stdout }, held: said };
    if (Number(code) !== 0) throw new Error(`could not take the host's run lock ${lock.dir}: ${said || `exit ${code}`}`);
    const [waited, anchored] = said.split(/\s+/);
    this.state = 'held';
    this.waited = Number(waited) || 0;
    this.anchored = anchored === '1';
    this.known.add(t);
    return { result: { ...res, stdout } };
  }
}

class LockedTransport extends WrappedTransport {
  constructor(
    inner: Transport,
    private readonly hold: HostLockHold,
  ) {
    super(inner);
  }

  override run(script: string, opts?: RunOptions): Promise<ExecResult> {
    return this.hold.run(this.inner, script, opts);
  }
}

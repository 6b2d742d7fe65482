import { shq } from '../core/quote.js';
import type { Plan } from '../core/module.js';
import { killRunLines } from '../transport/run-command.js';

/**
 * Commit-confirmed for SSH: before an access-critical change, the host snapshots what the change
 * touches and arms a timer that restores it. Only a NEW login with the credentials the inventory
 * will use from now on disarms it. If the controller dies or the login fails, the host reverts by
 * itself, so no run can leave the operator locked out.
 *
 * The deadline is a lease: while the change is still being applied, the controller renews it over
 * the connection it applies through (renewScript). A timer that fires while the lease runs waits
 * for it instead of undoing a change that is still under way; a controller that dies stops
 * renewing, and the host reverts at the last deadline it was given.
 */
export interface Guard {
  id: string;
  dir: string;
  paths: string[];
  restore?: string;
  timeoutSec: number;
}

export const GUARD_ROOT = '/var/lib/shipshape/guard';

/** Exit status of disarmScript when the revert had already started: the change is gone. */
export const TOO_LATE = 3;

export function guardFor(plan: Plan, id: string, timeoutSec: number, root = GUARD_ROOT): Guard {
  const paths = plan.guard?.paths ?? plan.steps.flatMap((s) => (s.kind === 'write' ? [s.path] : []));
  return { id, dir: `${root}/${id}`, paths, ...(plan.guard?.restore ? { restore: plan.guard.restore } : {}), timeoutSec };
}

/** A guard with nothing to snapshot and nothing to run cannot undo anything: say so instead of "reverted". */
export function canRevert(g: Guard): boolean {
  return g.paths.length > 0 || g.restore !== undefined;
}

const unit = (g: Guard) => `shipshape-revert-${g.id}`;

const WANTS = '/etc/systemd/system/multi-user.target.wants';

/** The boot unit that reverts after a reboot inside the window, and its enabling link. */
const bootFiles = (g: Guard) => [`/etc/systemd/system/${unit(g)}-boot.service`, `${WANTS}/${unit(g)}-boot.service`];

function bootUnit(g: Guard): string {
  return [
    '[Unit]',
    'Description=shipshape: undo an access-critical change left unconfirmed by a reboot',
    // after sshd and the firewall are up: the revert's restore commands reload them
    'After=network.target ssh.service sshd.service ufw.service',
    `ConditionPathExists=${g.dir}/revert.sh`,
    '[Service]',
    'Type=oneshot',
    `ExecStart=/bin/sh ${g.dir}/revert.sh`,
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
}

/**
 * Whoever creates this directory first decides: the revert (timer or at once) or the disarm. mkdir is
 * atomic, so a confirmation that arrives while the timer fires can never report a change as kept.
 */
const claim = (g: Guard) => shq(`${g.dir}/claimed`);

/** Epoch second until which the controller vouches for the change still being applied. */
const lease = (g: Guard) => `${g.dir}/lease`;

/** Write the lease: now + the guard's timeout, by the host's clock (the timer's clock too). */
const writeLease = (g: Guard) => `echo $(($(date +%s) + ${g.timeoutSec})) > ${shq(lease(g) + '.new')} && mv -f ${shq(lease(g) + '.new')} ${shq(lease(g))}`;

/**
 * Run by the timer (argument `lease`): while the lease is still running the controller is alive and
 * applying, so wait for it (re-read every few seconds: it may be renewed, or the change disarmed).
 * The boot unit and revertNowScript call revert.sh without it: they undo at once.
 */
const waitForLease = (g: Guard) => [
  'if [ "$1" = lease ]; then',
  `  while [ -f ${shq(lease(g))} ] && [ ! -d ${claim(g)} ]; do`,
  `    left=$(( $(cat ${shq(lease(g))} 2>/dev/null || echo 0) - $(date +%s) ))`,
  '    [ "$left" -gt 0 ] || break',
  '    [ "$left" -gt 5 ] && left=5',
  '    sleep "$left"',
  '  done',
  'fi',
];

/** Snapshot, write the revert script, arm the timer. Runs as the first step of the guarded task. */
export function armScript(g: Guard): string {
  const d = shq(g.dir);
  // the run applying the change (its SHIPSHAPE_RUN id): a revert first stops it, so an apply that
  // outlived its controller cannot finish writing after the snapshot was put back
  const lines = [`rm -rf ${d}`, `mkdir -p ${d}`, `chmod 700 ${d}`, writeLease(g), `printf '%s\\n' "\${SHIPSHAPE_RUN:-}" > ${shq(g.dir + '/run')}`];
  const revert = [
    '#!/bin/sh',
    '# written by shipshape: undoes one access-critical change',
    ...waitForLease(g),
    `mkdir ${claim(g)} 2>/dev/null || exit 0`,
    'set +e',
    `run=$(cat ${shq(g.dir + '/run')} 2>/dev/null)`,
    'if [ -n "$run" ]; then',
    ...killRunLines('"SHIPSHAPE_RUN=$run"').map((l) => `  ${l}`),
    'fi',
  ];
  g.paths.forEach((p, i) => {
    const saved = `${g.dir}/${i}`;
    lines.push(`if [ -e ${shq(p)} ]; then cp -a ${shq(p)} ${shq(saved)}; else : > ${shq(saved + '.absent')}; fi`);
    revert.push(
      `if [ -e ${shq(saved + '.absent')} ]; then rm -rf ${shq(p)}; else { [ -d ${shq(saved)} ] && rm -rf ${shq(p)}; cp -a ${shq(saved)} ${shq(p)}; }; fi`,
    );
  });
  if (g.restore) revert.push(g.restore);
  revert.push(`rm -f ${bootFiles(g).map(shq).join(' ')}`);
  revert.push(`logger -t shipshape "reverted access-critical change ${g.id}" 2>/dev/null`, `rm -rf ${shq(g.dir)}`);
  lines.push(`printf '%s\\n' ${shq(revert.join('\n'))} > ${shq(g.dir + '/revert.sh')}`);
  // a transient systemd timer survives our connection; hosts without systemd get a detached sleeper.
  // --collect: the transient units disappear once the revert ran, even if a command in it failed
  lines.push(
    `if command -v systemd-run >/dev/null 2>&1 && [ -d /run/systemd/system ]; then`,
    `  systemd-run --quiet --collect --unit=${unit(g)} --on-active=${g.timeoutSec}s --timer-property=AccuracySec=1s /bin/sh ${shq(g.dir + '/revert.sh')} lease`,
    // a transient timer dies with a reboot: a boot unit runs the revert before sshd starts instead
    // (after a reboot the confirming login cannot have happened: the connection that applied is gone)
    `  printf '%s\\n' ${shq(bootUnit(g))} > ${shq(bootFiles(g)[0])}`,
    `  mkdir -p ${shq(WANTS)} && ln -sf ${shq(bootFiles(g)[0])} ${shq(bootFiles(g)[1])}`,
    `else`,
    // without the run's id: the revert must not stop itself
    `  setsid env -u SHIPSHAPE_RUN sh -c ${shq(`sleep ${g.timeoutSec}; [ -f ${g.dir}/revert.sh ] && sh ${g.dir}/revert.sh lease`)} </dev/null >/dev/null 2>&1 &`,
    `  echo $! > ${shq(g.dir + '/sleeper.pid')}`,
    `fi`,
  );
  return lines.join('\n');
}

/** Printed by renewScript when the lease was extended. */
export const RENEWED = 'renewed';

/**
 * The controller is alive and still applying: push the deadline to now + timeout. Does nothing once
 * the revert claimed the change (the disarm then reports it as reverted) or before the arm ran.
 */
export function renewScript(g: Guard): string {
  return [`if [ -f ${shq(g.dir + '/revert.sh')} ] && [ ! -d ${claim(g)} ]; then`, `  ${writeLease(g)} && echo ${RENEWED}`, 'fi', 'true'].join('\n');
}

/**
 * A confirmed login: stop the timer and forget the snapshot. Exits TOO_LATE when the revert got
 * there first (the timer fired while the confirmation was still under way).
 */
export function disarmScript(g: Guard): string {
  return [
    // fails when the claim exists or the revert already removed the whole directory
    `if ! mkdir ${claim(g)} 2>/dev/null; then echo 'the automatic revert already ran' >&2; exit ${TOO_LATE}; fi`,
    `systemctl stop ${unit(g)}.timer 2>/dev/null || true`,
    `[ -f ${shq(g.dir + '/sleeper.pid')} ] && kill "$(cat ${shq(g.dir + '/sleeper.pid')})" 2>/dev/null`,
    `rm -f ${bootFiles(g).map(shq).join(' ')}`,
    // a daemon-reload inside the window (a package install) loaded the boot unit: forget it too
    `if systemctl list-units --all --no-legend ${shq(`${unit(g)}-boot.service`)} 2>/dev/null | grep -q .; then systemctl daemon-reload 2>/dev/null; fi`,
    `rm -rf ${shq(g.dir)}`,
    'true',
  ].join('\n');
}

/**
 * The login failed: undo now instead of waiting for the timer (or wait for a revert already running).
 * The timer is stopped only after the revert ran: should this connection drop half-way, it still fires.
 */
export function revertNowScript(g: Guard): string {
  return [
    `pid=$(cat ${shq(g.dir + '/sleeper.pid')} 2>/dev/null)`,
    `[ -f ${shq(g.dir + '/revert.sh')} ] && sh ${shq(g.dir + '/revert.sh')}`,
    // the timer's revert may be running right now: it removes the directory when it is done
    `i=0; while [ -d ${shq(g.dir)} ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done`,
    `systemctl stop ${unit(g)}.timer 2>/dev/null || true`,
    `[ -n "$pid" ] && kill "$pid" 2>/dev/null`,
    `[ ! -d ${shq(g.dir)} ]`,
  ].join('\n');
}

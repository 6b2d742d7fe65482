import { shq } from '../core/quote.js';
import { sh, type Step } from '../core/step.js';

/**
 * sshd made to read its configuration again, whichever way it runs. Every path that reloads sshd (the
 * sshd_config module, the ssh role's "reload ssh" handler, the guard's restore) goes through here.
 *
 * - sshd listening itself: `reload-or-restart` (SIGHUP; open sessions, ours included, stay; a config
 *   that `sshd -t` refuses makes the reload fail and sshd keeps running on its old settings).
 * - socket-activated sshd (Debian's ssh.socket as README.Debian sets it up, Ubuntu 24.04's default):
 *   a SIGHUP kills it. sshd re-executes itself, no longer has the socket systemd handed it, binds the port
 *   itself and fails ("fatal: Cannot bind any address"; seen on Debian 12 and 13; on 13 `systemctl reload`
 *   then fails too, as OpenSSH 10 reports reloads to systemd). So it is restarted instead, only if it runs
 *   (a stopped one reads the configuration when the next login starts it): the socket keeps listening, so
 *   no login is refused, and KillMode=process keeps open sessions. `sshd -t` first, because a restart with
 *   a configuration sshd refuses would leave nothing to start logins with (only while sshd runs: a stopped
 *   ssh.service has no /run/sshd, and sshd -t then fails on that alone).
 */
export function reloadSshdScript(service: string): string {
  const unit = shq(service);
  return `if systemctl is-active --quiet ${shq(`${service}.socket`)}; then if systemctl is-active --quiet ${unit}; then sshd -t && systemctl restart ${unit}; fi; else systemctl reload-or-restart ${unit}; fi`;
}

export function reloadSshd(service: string): Step {
  return sh(reloadSshdScript(service), `sshd reads its configuration again: reload, or restart when ${service}.socket starts it (a reload kills a socket-activated sshd)`);
}

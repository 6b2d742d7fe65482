import { probe } from '../core/probe.js';

/** What an upgrade would install: apt-get's simulation (read-only, any user), one `Inst` line per package. */
export interface Upgradable {
  /** "name old -> new" for each package the upgrade would install or upgrade */
  packages: string[];
}

export function aptUpgradable(command: 'upgrade' | 'dist-upgrade') {
  const extra = command === 'upgrade' ? ' --with-new-pkgs' : '';
  return probe<Upgradable>(`apt-upgradable:${command}`, `apt-get -s -q -o Debug::NoLocking=true${extra} ${command} 2>/dev/null | grep '^Inst ' || true`, parseUpgradable);
}

/** `Inst libc6 [2.36-9] (2.36-9+deb12u4 Debian:12.5/stable [amd64])` -> "libc6 2.36-9 -> 2.36-9+deb12u4" */
export function parseUpgradable(out: string): Upgradable {
  const packages = out
    .split('\n')
    .map((l) => /^Inst (\S+)(?: \[([^\]]+)\])?(?: \((\S+))?/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => (m[2] ? `${m[1]} ${m[2]} -> ${m[3] ?? '?'}` : `${m[1]} ${m[3] ?? ''} (new)`.replace('  ', ' ')));
  return { packages };
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sizedDumpText } from '../../../src/facts/dump.js';
import { parseTuple, parseUfw, renderTuple, ufwState, type UfwState } from '../../../src/facts/ufw.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'ufw');

/**
 * ufw 0.36.2's rule files as a lab host wrote them (Debian 12 and 13 write them byte for byte the same), after
 * the commands in fixtures/ufw/README: every kind of rule the firewall judgment meets, in ufw's order.
 */
export const RULE_FILES = { v4: readFileSync(join(DIR, 'user.rules'), 'utf8'), v6: readFileSync(join(DIR, 'user6.rules'), 'utf8') };

/** `### tuple ###` lines in a rule file around them, as ufw writes it (each followed by its iptables line). */
export const rulesFile = (chain: 'ufw' | 'ufw6', tuples: string[]) =>
  ['*filter', `:${chain}-user-input - [0:0]`, '### RULES ###', '', ...tuples.flatMap((t) => [t, `-A ${chain}-user-input -j ACCEPT`, '']), '### END RULES ###', 'COMMIT', ''].join('\n');

/** ufw's state as a play reads it (ufwState's join over the iptables dump and the file dump), from rule files' text. */
export function ufwStateOf(o: { v4?: string; v6?: string; active?: boolean; incoming?: 'DROP' | 'ACCEPT' | 'REJECT'; ipv6?: boolean } = {}): UfwState {
  const defaults = `IPV6=${o.ipv6 === false ? 'no' : 'yes'}\nDEFAULT_INPUT_POLICY="${o.incoming ?? 'DROP'}"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\nDEFAULT_FORWARD_POLICY="DROP"\n`;
  const files = [
    { path: '/etc/default/ufw', content: defaults },
    { path: '/etc/ufw/user.rules', content: o.v4 ?? rulesFile('ufw', []) },
    { path: '/etc/ufw/user6.rules', content: o.v6 ?? rulesFile('ufw6', []) },
  ];
  const table = o.active === false ? '-P INPUT ACCEPT\n' : '-N ufw-user-forward\n-N ufw-user-input\n-N ufw-user-output\n';
  const out = ufwState.compose!.join([
    { stdout: 'installed\n', code: 0 },
    { stdout: table, code: 0 },
    { stdout: sizedDumpText(files), code: 0 },
  ]);
  return parseUfw(out.stdout);
}

/** The state with only the fixture's rules that render as these (`ufw show added`'s words), in the files' order. */
export function fixtureWith(rendered: string[], o: { active?: boolean; incoming?: 'DROP' | 'ACCEPT' | 'REJECT' } = {}): UfwState {
  const keep = (file: string) => file.split('\n').filter((l) => l.startsWith('### tuple ###') && rendered.includes(renderTuple(parseTuple(l, 4)!)));
  return ufwStateOf({ v4: rulesFile('ufw', keep(RULE_FILES.v4)), v6: rulesFile('ufw6', keep(RULE_FILES.v6)), ...o });
}

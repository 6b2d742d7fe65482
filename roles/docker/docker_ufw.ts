import { z } from 'zod';
import { defineModule, type Plan } from '../../src/core/module.js';
import type { FileDiff } from '../../src/core/result.js';
import { shq } from '../../src/core/quote.js';
import { run, sh, type Step } from '../../src/core/step.js';
import { chainRules, type ChainRules } from '../../src/facts/docker.js';
import { fileContent, type FileContent } from '../../src/facts/file.js';
import { ufwState, type UfwState } from '../../src/facts/ufw.js';
import { sha256 } from '../../src/modules/copy.js';

/**
 * Docker publishes a port (`docker run -p 8081:80`) by DNAT in the nat table; the packet is then
 * FORWARDed to the container and never meets ufw's INPUT rules: with ufw active and default deny,
 * the port is open to the world (moby issues 4737, 22054). Docker leaves one chain to its users,
 * DOCKER-USER, jumped to first from FORWARD and never flushed by Docker. This module keeps a rule set
 * there in ufw's own after.rules/after6.rules (so ufw reloads and boots restore it; the chain is
 * declared there too, since ufw starts before Docker at boot) and applies it live.
 *
 * What passes into a Docker bridge from elsewhere: replies to connections already allowed, and NEW
 * connections to a published port listed in public_ports (matched on the port the client dialled,
 * before DNAT, so "8082" means `-p 8082:80`). Traffic leaving containers is untouched, and so is
 * everything the host itself connects to (it never crosses FORWARD).
 */

const BEGIN = '# BEGIN shipshape docker_ufw';
const END = '# END shipshape docker_ufw';
const CHAIN = 'DOCKER-USER';
const FILES = { v4: '/etc/ufw/after.rules', v6: '/etc/ufw/after6.rules' } as const;
const RESTORE = { v4: 'iptables-restore', v6: 'ip6tables-restore' } as const;
/** the legacy backend serializes on the xtables lock, which dockerd holds while it sets up its rules */
const WAIT = ['-w', '30'];

const portSpec = z
  .union([z.number().int().min(1).max(65535).transform(String), z.string()])
  .pipe(z.string().regex(/^\d{1,5}(:\d{1,5})?(\/(tcp|udp))?$/, 'a published port like 8082, "8082/tcp", "53/udp" or "8000:8010/tcp"'))
  .transform((s) => {
    const [range, proto = 'tcp'] = s.split('/');
    return { range, proto: proto as 'tcp' | 'udp' };
  })
  .refine((p) => p.range.split(':').every((n) => Number(n) >= 1 && Number(n) <= 65535), 'ports are 1 to 65535');

const schema = z
  .object({
    state: z.enum(['present', 'absent']).default('present'),
    /** published host ports reachable from anywhere (the host's own firewall rules do not apply to them) */
    public_ports: z.array(portSpec).default([]),
    /** interfaces of Docker's networks: the default bridge (docker0) and user-defined ones (br-<id>) */
    bridges: z.array(z.string().regex(/^[A-Za-z0-9_.-]+\+?$/, 'an interface name, + as a trailing wildcard')).min(1).default(['docker+', 'br-+']),
  })
  .strict();

type Args = z.infer<typeof schema>;

interface Facts {
  v4: FileContent;
  v6: FileContent;
  ufw: UfwState;
  live: ChainRules;
}

/** The chain's rules in exactly the form `iptables -S` prints them back, so live and wanted compare as text. */
export function chainLines(a: Args): string[] {
  const rules = [`-A ${CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`];
  for (const b of a.bridges) rules.push(`-A ${CHAIN} -i ${b} -j RETURN`);
  for (const p of a.public_ports) rules.push(`-A ${CHAIN} -p ${p.proto} -m conntrack --ctstate DNAT --ctorigdstport ${p.range} -j RETURN`);
  for (const b of a.bridges) rules.push(`-A ${CHAIN} -o ${b} -j DROP`);
  // Docker adds this RETURN itself when the chain has none; with ours in place it adds nothing
  rules.push(`-A ${CHAIN} -j RETURN`);
  return rules;
}

/** An iptables-restore input (used with --noflush): declaring the chain flushes it, so loading it twice is harmless. */
export function restoreInput(lines: string[]): string {
  return ['*filter', `:${CHAIN} - [0:0]`, ...lines, 'COMMIT', ''].join('\n');
}

export function ruleBlock(a: Args): string {
  const ports = a.public_ports.map((p) => `${p.range}/${p.proto}`).join(', ') || 'none';
  return [
    `${BEGIN} (managed by shipshape: edits here are replaced)`,
    '# Ports published by Docker obey the firewall: traffic into Docker networks from elsewhere is dropped',
    `# unless it answers an allowed connection or targets a public published port (${ports}).`,
    restoreInput(chainLines(a)).trimEnd(),
    END,
  ].join('\n');
}

/** The file with the block replaced, appended, or (block undefined) removed; the rest kept byte for byte. */
export function withBlock(text: string, block: string | undefined): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(BEGIN));
  const end = start < 0 ? -1 : lines.findIndex((l, i) => i > start && l === END);
  if (start >= 0 && end > start) {
    const before = lines.slice(0, start);
    const after = lines.slice(end + 1);
    if (block !== undefined) return [...before, ...block.split('\n'), ...after].join('\n');
    // drop the blank line this module put before the block, too
    if (before.length && before[before.length - 1] === '') before.pop();
    return [...before, ...after].join('\n');
  }
  if (block === undefined) return text;
  const base = text.endsWith('\n') || text === '' ? text : `${text}\n`;
  return `${base}\n${block}\n`;
}

export default defineModule({
  name: 'docker_ufw',
  summary: 'Ports published by Docker obey ufw: DOCKER-USER rules kept in ufw\'s after.rules and live, except public_ports',
  schema,
  facts: () => ({ v4: fileContent(FILES.v4), v6: fileContent(FILES.v6), ufw: ufwState, live: chainRules(CHAIN) }),
  plan(a: Args, f: Facts): Plan {
    if (!f.ufw.installed || !f.v4.exists) {
      const msg = `ufw is not installed (no ${FILES.v4}): the docker role needs the firewall role before it`;
      // an earlier task of the play may install it: plan the change, and fail at apply if it did not
      return { steps: [sh(`echo ${shq(msg)} >&2; exit 1`, 'check that ufw is installed')], reason: `add the DOCKER-USER rules to ${FILES.v4} once ufw is installed` };
    }
    const present = a.state === 'present';
    const lines = chainLines(a);
    const block = present ? ruleBlock(a) : undefined;
    const steps: Step[] = [];
    const what: string[] = [];
    const kept: string[] = [];
    const diff: FileDiff[] = [];

    for (const fam of ['v4', 'v6'] as const) {
      const file = f[fam];
      if (fam === 'v6' && !file.exists) continue;
      if (file.content === undefined) return failed(`${FILES[fam]} is too large or not a regular file; refusing to edit it`);
      const next = withBlock(file.content, block);
      if (sha256(next) === (file.sha256 ?? sha256(file.content))) {
        kept.push(FILES[fam]);
        continue;
      }
      steps.push({
        kind: 'write',
        path: FILES[fam],
        content: next,
        // only our block is checked: the rest of the file needs ufw's chains, which exist only while ufw runs
        ...(present ? { validate: `sed -n '/^${BEGIN}/,/^${END}$/p' %s | ${RESTORE[fam]} -w 30 --test --noflush` } : {}),
      });
      what.push(`${present ? 'write' : 'remove'} the docker block in ${FILES[fam]}`);
      diff.push({ subject: FILES[fam], before: file.content, after: next });
    }

    if (f.ufw.active) {
      for (const fam of ['v4', 'v6'] as const) {
        if (fam === 'v6' && (!f.ufw.ipv6 || !f.v6.exists)) continue;
        const live = f.live[fam];
        const same = live !== undefined && live.join('\n') === lines.join('\n');
        if (present && !same) {
          steps.push(run([RESTORE[fam], ...WAIT, '--noflush'], { input: restoreInput(lines) }));
          what.push(`load the ${fam === 'v4' ? 'IPv4' : 'IPv6'} ${CHAIN} rules${live === undefined ? ' (chain created)' : ''}`);
        } else if (!present && same) {
          // back to what Docker itself leaves in the chain
          steps.push(run([RESTORE[fam], ...WAIT, '--noflush'], { input: restoreInput([`-A ${CHAIN} -j RETURN`]) }));
          what.push(`empty the ${fam === 'v4' ? 'IPv4' : 'IPv6'} ${CHAIN} chain`);
        } else kept.push(`live ${fam === 'v4' ? 'IPv4' : 'IPv6'} rules`);
      }
    } else kept.push('ufw inactive: the rules load when it is enabled');

    const ports = a.public_ports.map((p) => `${p.range}/${p.proto}`).join(', ');
    if (!steps.length) {
      return {
        steps,
        reason: present
          ? `published container ports obey ufw${ports ? ` except ${ports}` : ''} (${kept.join(', ')})`
          : `no docker rules in ${kept.join(', ')}`,
      };
    }
    return { steps, reason: what.join('; '), diff };
  },
});

function failed(message: string): Plan {
  return { steps: [], reason: message, fail: message };
}

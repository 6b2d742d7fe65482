import { z } from 'zod';
import { defineModule, type Plan } from '../core/module.js';
import { probe } from '../core/probe.js';
import { shq } from '../core/quote.js';
import { run } from '../core/step.js';

/**
 * Ansible's `timezone` (community.general): the system time zone, as Debian keeps it: /etc/localtime a
 * link into /usr/share/zoneinfo and the name in /etc/timezone (what tzdata and timedatectl write).
 */
const schema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, 'name must be a time zone such as Europe/Berlin or UTC'),
    /** the hardware clock is the host provider's business on a VPS: only local/UTC as it is, never changed */
    hwclock: z.enum(['UTC', 'local'], { error: 'hwclock is UTC or local' }).optional(),
  })
  .strict();

type Args = z.infer<typeof schema>;

interface ZoneFacts {
  current: { link: string; file: string; known: boolean };
}

function zoneProbe(name: string) {
  const zone = shq(`/usr/share/zoneinfo/${name}`);
  return probe(`timezone:${name}`, `printf '%s\\n' "$(readlink /etc/localtime)" "$(head -n1 /etc/timezone 2>/dev/null)"; [ -f ${zone} ] && echo known`, (out) => {
    const [link = '', file = '', known = ''] = out.split('\n');
    return { link: link.replace(/^\/usr\/share\/zoneinfo\//, '').replace(/^\.\.\/usr\/share\/zoneinfo\//, ''), file: file.trim(), known: known === 'known' };
  });
}

export default defineModule({
  name: 'timezone',
  summary: 'Set the system time zone (Ansible: community.general.timezone)',
  schema,
  facts: (a: Args) => ({ current: zoneProbe(a.name) }),
  plan(a: Args, { current }: ZoneFacts): Plan {
    if (a.hwclock !== undefined) return { steps: [], reason: 'hwclock is not managed', fail: 'hwclock is not supported: a VPS has no hardware clock of its own to set; remove hwclock' };
    if (!current.known) return { steps: [], reason: `no zone ${a.name}`, fail: `/usr/share/zoneinfo/${a.name} does not exist on the host: not a time zone, or the tzdata package is missing (install it first)` };
    if (current.link === a.name && current.file === a.name) return { steps: [], reason: `time zone is ${a.name}` };
    return {
      steps: [run(['ln', '-sfn', `/usr/share/zoneinfo/${a.name}`, '/etc/localtime']), { kind: 'write', path: '/etc/timezone', content: `${a.name}\n`, mode: '0644' }],
      reason: `set time zone ${current.link || current.file || 'unset'} -> ${a.name}`,
      diff: [{ subject: 'time zone', before: `${current.link || current.file}\n`, after: `${a.name}\n` }],
    };
  },
});

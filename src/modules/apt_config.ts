import { z } from 'zod';
import { defineModule } from '../core/module.js';
import type { Drift } from '../core/result.js';
import type { Step } from '../core/step.js';
import { aptConfig, readOrder, settingLines } from '../facts/apt_config.js';

const schema = z
  .object({
    /** per APT configuration file (written by other tasks), the scalar settings it declares */
    files: z.record(z.string().regex(/^\/etc\/apt\/apt\.conf\.d\/[A-Za-z0-9_.-]+$/, 'a file in /etc/apt/apt.conf.d'), z.record(z.string().regex(/^[A-Za-z0-9:_.-]+$/), z.string())),
  })
  .strict();

type Args = z.infer<typeof schema>;

const NEUTRAL = '// disabled by shipshape (it overrode a declared setting): ';

/**
 * That APT really uses what the given files declare: a later file (apt.conf.d sorts by name, apt.conf
 * comes last) setting one of their keys to another value is drift, neutralised at its line. The files
 * themselves are written by their own tasks; this one judges the effect, as `apt-config dump` does.
 */
export default defineModule({
  name: 'apt_config',
  summary: 'APT settings in effect as declared: an overriding line in another apt.conf.d file is drift, commented out by apply',
  schema,
  facts: (a: Args) => ({ apt: aptConfig(Object.values(a.files).flatMap((s) => Object.keys(s))) }),
  plan(a, { apt }) {
    const declared = Object.entries(a.files).flatMap(([file, s]) => Object.entries(s).map(([key, value]) => ({ file, key, value })));
    const order = readOrder([...new Set([...apt.files.map((f) => f.path), ...Object.keys(a.files)])]);
    const content = new Map(apt.files.map((f) => [f.path, f.content]));
    const overrides: { file: string; line: number; key: string; value: string; want: string; ours: string }[] = [];
    for (const d of declared) {
      for (const path of order.slice(order.indexOf(d.file) + 1)) {
        if (a.files[path]) continue;
        for (const s of settingLines(content.get(path) ?? '')) {
          if (s.key.toLowerCase() === d.key.toLowerCase() && s.value !== d.value) overrides.push({ file: path, line: s.line, key: s.key, value: s.value, want: d.value, ours: d.file });
        }
      }
    }
    if (!overrides.length) {
      const off = declared.filter((d) => apt.dump[d.key] !== undefined && apt.dump[d.key] !== d.value && content.has(d.file));
      const note = off.length ? `; but apt-config dump says ${off.map((d) => `${d.key} "${apt.dump[d.key]}"`).join(', ')}: set in a form this task does not read` : '';
      return { steps: [], reason: `no other APT file overrides the ${declared.length} declared settings${note}` };
    }
    const steps: Step[] = [];
    const diff = [];
    for (const path of [...new Set(overrides.map((o) => o.file))]) {
      const before = content.get(path)!;
      const text = before.split('\n');
      for (const o of overrides.filter((o) => o.file === path)) text[o.line - 1] = NEUTRAL + text[o.line - 1].trim();
      const after = text.join('\n').replace(/\n?$/, '\n');
      steps.push({ kind: 'write', path, content: after, validate: 'apt-config -c %s dump' });
      diff.push({ subject: path, before: before.replace(/\n?$/, '\n'), after });
    }
    const drift: Drift[] = overrides.map((o) => ({
      what: `${o.key} is "${o.value}"${apt.dump[o.key] === o.value ? ' (apt-config dump confirms)' : ''}, not "${o.want}" as ${o.ours} declares`,
      why: WHY[o.key.toLowerCase()] ?? `APT reads ${o.file} after ${o.ours}, so its value wins`,
      where: `${o.file}:${o.line}`,
      fix: `comment out line ${o.line} of ${o.file} (apply does it, checked with apt-config)`,
    }));
    return {
      steps,
      reason: `neutralise ${overrides.length} overriding APT setting${overrides.length === 1 ? '' : 's'} (${overrides.map((o) => `${o.key} in ${o.file}:${o.line}`).join(', ')})`,
      diff,
      drift,
    };
  },
});

const WHY: Record<string, string> = {
  'apt::periodic::unattended-upgrade': 'unattended-upgrades never runs: security updates stop being installed',
  'apt::periodic::update-package-lists': 'the package lists are never refreshed, so no update is ever seen',
  'unattended-upgrade::automatic-reboot': 'updates that need a reboot are not finished as declared',
};

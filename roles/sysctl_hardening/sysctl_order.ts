import { z } from 'zod';
import { defineModule } from '../../src/core/module.js';
import type { Drift, FileDiff } from '../../src/core/result.js';
import type { Step } from '../../src/core/step.js';
import { normalizeSysctlValue } from '../../src/facts/sysctl.js';
import { bootOrder, sysctlFiles } from '../../src/facts/sysctl-files.js';

const schema = z
  .object({
    /** our drop-in: values in files applied after it win at boot */
    file: z.string().regex(/^\/etc\/sysctl\.d\/[^/]+\.conf$/),
    /** key -> declared value */
    settings: z.record(z.string(), z.string()),
  })
  .strict();

const NEUTRAL = '# disabled by shipshape (it overrode a hardened setting at boot): ';
const VENDOR = /^\/(usr\/local\/lib|usr\/lib|lib)\/sysctl\.d\//;

/** A sysctl.d line's key (dots and slashes are the same separator; "-" only says errors are ignored) and value. */
function parseLine(line: string): { key: string; value: string } | undefined {
  const t = line.trim();
  if (!t || t.startsWith('#') || t.startsWith(';') || !t.includes('=')) return undefined;
  return { key: t.slice(0, t.indexOf('=')).trim().replace(/^-/, '').replace(/\//g, '.'), value: normalizeSysctlValue(t.slice(t.indexOf('=') + 1)) };
}

/**
 * The hardened values are the ones a boot applies: systemd-sysctl reads every sysctl.d file in the order
 * of their names and the last value wins, so a file sorting after ours (a colleague's 99-zz.conf, or a
 * package's 99-protect-links.conf) that sets a declared key to another value defeats it at the next
 * boot, whatever the running kernel says now. Judged on containers too: the files are what the machine
 * would apply where sysctls are writable. Fixed at the cause: the line is commented out in its file; a
 * package's file (/usr/lib) is not edited but overridden by a file of the same name in /etc/sysctl.d, as
 * sysctl.d(5) prescribes, holding the package's text with that line commented out.
 */
export default defineModule({
  name: 'sysctl_order',
  summary: 'No sysctl.d file applied after ours at boot overrides a declared kernel setting (fixed in that file)',
  schema,
  facts: () => ({ files: sysctlFiles }),
  plan(a, { files }) {
    const ours = a.file.slice(a.file.lastIndexOf('/') + 1);
    const order = bootOrder(files);
    const wanted = new Map(Object.entries(a.settings).map(([k, v]) => [k.replace(/\//g, '.'), normalizeSysctlValue(v)]));
    // the last line setting each declared key, in files applied after ours
    const last = new Map<string, { path: string; line: number; value: string }>();
    for (const f of order) {
      const name = f.path.slice(f.path.lastIndexOf('/') + 1);
      f.content.split('\n').forEach((l, i) => {
        const p = parseLine(l);
        if (!p || !wanted.has(p.key)) return;
        if (name <= ours) last.delete(p.key);
        else last.set(p.key, { path: f.path, line: i + 1, value: p.value });
      });
    }
    const overrides = [...last].filter(([k, o]) => o.value !== wanted.get(k));
    if (!overrides.length) return { steps: [], reason: `no sysctl.d file applied after ${ours} changes a declared setting` };
    const drift: Drift[] = [];
    const steps: Step[] = [];
    const diff: FileDiff[] = [];
    for (const path of [...new Set(overrides.map(([, o]) => o.path))]) {
      const mine = overrides.filter(([, o]) => o.path === path);
      const before = files.find((f) => f.path === path)!.content;
      const lines = before.split('\n');
      for (const [, o] of mine) lines[o.line - 1] = NEUTRAL + lines[o.line - 1];
      const vendor = VENDOR.test(path);
      const target = vendor ? `/etc/sysctl.d/${path.slice(path.lastIndexOf('/') + 1)}` : path;
      const after = (vendor ? `# ${path} as shipped, with the lines that overrode hardened settings disabled (shipshape)\n` : '') + lines.join('\n');
      steps.push(vendor ? { kind: 'write', path: target, content: after, mode: '0644', owner: 'root', group: 'root' } : { kind: 'write', path: target, content: after });
      diff.push({ subject: target, before: vendor ? '' : before, after });
      for (const [key, o] of mine) {
        drift.push({
          what: `${key} = ${o.value} in ${path} is applied after ${a.file} at boot, declared ${wanted.get(key)}`,
          why: 'systemd-sysctl applies the sysctl.d files in the order of their names and the last value wins: at the next boot the kernel gets this value, not the hardened one',
          where: `${path}:${o.line}`,
          fix: vendor ? `override the package's file with ${target}, its line ${o.line} commented out (apply does it)` : `comment out line ${o.line} of ${path} (apply does it)`,
        });
      }
    }
    return { steps, reason: `neutralise ${overrides.length} later sysctl.d line${overrides.length > 1 ? 's' : ''} (${overrides.map(([k, o]) => `${k} = ${o.value} in ${o.path}`).join('; ')})`, diff, drift };
  },
});

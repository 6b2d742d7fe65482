import { posix } from 'node:path';
import { z } from 'zod';
import { shJoin } from '../core/quote.js';
import { defineModule, type Plan } from '../core/module.js';
import type { FileDiff } from '../core/result.js';
import { run, type Step } from '../core/step.js';
import { fileContent, type FileContent } from '../facts/file.js';
import { normalizeSysctlValue, sysctlValue } from '../facts/sysctl.js';

const schema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_@:.\/-]+$/, 'a sysctl key like "net.ipv4.ip_forward"'),
    // YAML gives `value: 1` as a number and `value: yes` as a boolean; the kernel wants text either way
    value: z
      .union([z.string().regex(/^[^\n]*$/, 'value must be one line'), z.number(), z.boolean()])
      .transform((v) => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v)))
      .optional(),
    state: z.enum(['present', 'absent']).default('present'),
    // not Ansible's /etc/sysctl.conf: a drop-in of our own is never touched by package upgrades, and
    // Debian 13 no longer reads /etc/sysctl.conf at boot, while /etc/sysctl.d/*.conf works everywhere
    sysctl_file: z.string().startsWith('/', 'sysctl_file must be an absolute path').default('/etc/sysctl.d/99-shipshape.conf'),
    /** set the running kernel's value too (with sysctl -w, only when it differs) */
    reload: z.boolean().default(true),
    /** accepted for Ansible playbooks: also sets the running value, as reload does here */
    sysctl_set: z.boolean().optional(),
  })
  .strict()
  .refine((a) => a.state === 'absent' || a.value !== undefined, { message: 'sysctl needs a value for state: present' });

type Args = z.infer<typeof schema>;

interface SysctlFacts {
  file: FileContent;
  runtime?: string;
}

export default defineModule({
  name: 'sysctl',
  summary: 'Set a kernel parameter persistently (sysctl.d file) and in the running kernel (Ansible: sysctl)',
  schema,
  aliases: { key: 'name', val: 'value' },
  facts: (a: Args) => ({
    file: fileContent(a.sysctl_file),
    ...(a.state === 'present' ? { runtime: sysctlValue(a.name) } : {}),
  }),
  plan(a: Args, f: SysctlFacts, ctx): Plan {
    const c = ctx.host.container;
    if (c && c !== 'none') {
      return { steps: [], reason: `${a.name} not set`, skip: `kernel sysctls are read-only in a ${c} container; set them on the host` };
    }
    if (f.file.exists && f.file.type !== 'file') {
      return { steps: [], reason: `${a.sysctl_file} is a ${f.file.type}`, fail: `${a.sysctl_file} is a ${f.file.type}, not a file` };
    }
    if (f.file.exists && f.file.content === undefined) {
      return { steps: [], reason: `${a.sysctl_file} is too large`, fail: `${a.sysctl_file} is too large to edit (${f.file.size} bytes)` };
    }
    const before = f.file.content ?? '';
    const after = editSysctlFile(before, a.name, a.state === 'present' ? a.value! : undefined);
    const steps: Step[] = [];
    const what: string[] = [];
    const diff: FileDiff[] = [];
    if (after !== before) {
      // our default drop-in directory comes with procps, which minimal images may lack
      if (!f.file.exists) steps.push(run(['mkdir', '-p', '--', posix.dirname(a.sysctl_file)]));
      steps.push({ kind: 'write', path: a.sysctl_file, content: after });
      what.push(a.state === 'present' ? `set ${a.name} = ${a.value} in ${a.sysctl_file}` : `remove ${a.name} from ${a.sysctl_file}`);
      diff.push({ subject: a.sysctl_file, before, after });
    }
    const setRuntime = a.reload || a.sysctl_set === true;
    const wanted = a.value === undefined ? undefined : normalizeSysctlValue(a.value);
    const runtimeDiffers = a.state === 'present' && f.runtime !== wanted;
    if (runtimeDiffers && setRuntime) {
      // -w of this one key, not -p of the whole file: another line's unknown key must not fail this task
      steps.push(run(['sysctl', '-w', `${a.name}=${a.value}`]));
      what.push(f.runtime === undefined ? `set ${a.name} = ${a.value} in the running kernel (not there yet)` : `set the running ${a.name} ${f.runtime} -> ${wanted}`);
      diff.push({ subject: `sysctl ${a.name}`, before: `${f.runtime ?? '(absent)'}\n`, after: `${wanted}\n` });
    }
    if (steps.length) {
      // strict reverse-path filtering drops the replies of an asymmetric route: the controller's own
      // connection may be one. Guarded: the file snapshot comes back and the running value with it
      if (/(^|\.)rp_filter$/.test(a.name) && runtimeDiffers && setRuntime && f.runtime !== undefined) {
        return {
          steps,
          reason: what.join('; '),
          diff,
          accessCritical: `sets ${a.name} in the running kernel: reverse-path filtering can drop this connection's packets on an asymmetric route`,
          guard: { paths: [a.sysctl_file], restore: shJoin(['sysctl', '-w', `${a.name}=${f.runtime}`]) },
        };
      }
      return { steps, reason: what.join('; '), diff };
    }
    if (a.state === 'absent') return { steps, reason: `${a.name} is not set in ${a.sysctl_file} (the running value is left as it is)` };
    const runtimeNote = runtimeDiffers ? `; the running value ${f.runtime ?? '(absent)'} is left as it is (reload is false)` : ' and in the running kernel';
    return { steps, reason: `${a.name} = ${wanted} already in ${a.sysctl_file}${runtimeNote}` };
  },
});

/** The key of a sysctl.d line (`-` marks a key whose errors are ignored), or undefined for comments and blanks. */
function lineKey(line: string): string | undefined {
  const t = line.trim();
  if (!t || t.startsWith('#') || t.startsWith(';') || !t.includes('=')) return undefined;
  return t.slice(0, t.indexOf('=')).trim().replace(/^-/, '');
}

/**
 * The file with `name` set to `value` (undefined: removed), every other line kept as it is.
 * A line already holding the value is kept in its own spelling; later duplicates of the key are
 * dropped, since the last one read would win.
 */
export function editSysctlFile(text: string, name: string, value: string | undefined): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let placed = false;
  let changed = false;
  for (const line of lines) {
    if (lineKey(line) !== name) {
      out.push(line);
    } else if (value === undefined || placed) {
      changed = true;
    } else {
      const same = normalizeSysctlValue(line.slice(line.indexOf('=') + 1)) === normalizeSysctlValue(value);
      out.push(same ? line : `${name}=${value}`);
      changed ||= !same;
      placed = true;
    }
  }
  if (value !== undefined && !placed) {
    out.push(`${name}=${value}`);
    changed = true;
  }
  // an untouched file stays byte for byte as it was, even without a final newline
  if (!changed) return text;
  return out.length ? out.join('\n') + '\n' : '';
}

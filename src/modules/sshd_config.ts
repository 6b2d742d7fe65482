import { z } from 'zod';
import { defineModule } from '../core/module.js';
import { shq } from '../core/quote.js';
import { run, sh, type Step } from '../core/step.js';
import { effectiveSettings, sshdFiles } from '../facts/sshd.js';

// one line each: a newline in a value would inject directives of its own into sshd's configuration
const oneLine = z.string().regex(/^[^\n\r\0]*$/, 'an sshd setting must be one line (a newline would add a directive of its own)');
const value = z.union([oneLine, z.number(), z.boolean(), z.array(oneLine)]);

const schema = z
  .object({
    /** a drop-in that sorts early: OpenSSH keeps the first value it reads */
    path: z.string().default('/etc/ssh/sshd_config.d/00-shipshape.conf'),
    settings: z
      .record(z.string(), value)
      .refine((o) => Object.keys(o).every((k) => /^[A-Za-z][A-Za-z0-9]*$/.test(k)), { message: 'an sshd keyword is one word of letters and digits, like PermitRootLogin' }),
    header: z.string().default('# managed by shipshape: edits here are reported as drift and replaced'),
    /** the sshd unit reloaded right after the write, so the engine's guard can test a new login */
    service: z.string().default('ssh'),
  })
  .strict();

type Settings = z.infer<typeof schema>['settings'];

export function renderSettings(settings: Settings): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(settings)) {
    // keywords that may repeat (HostKey) get one line per value; lists of algorithms are comma-joined
    if (Array.isArray(v) && /^(hostkey|listenaddress|port)$/i.test(k)) v.forEach((x) => lines.push(`${k} ${x}`));
    else lines.push(`${k} ${Array.isArray(v) ? v.join(',') : typeof v === 'boolean' ? (v ? 'yes' : 'no') : v}`);
  }
  return lines;
}

// validate the candidate as sshd will read it: first, ahead of everything else the live config includes
const VALIDATE = `sh -c 't=$(mktemp); { echo "Include $1"; echo "Include /etc/ssh/sshd_config"; } > "$t"; sshd -t -f "$t"; r=$?; rm -f "$t"; exit $r' sshd-validate %s`;

export default defineModule({
  name: 'sshd_config',
  summary: 'sshd settings in a validated drop-in, checked against the effective configuration (first value wins)',
  schema,
  facts: () => ({ sshd: sshdFiles }),
  plan(a, { sshd }) {
    const lines = renderSettings(a.settings);
    const content = [a.header, ...lines, ''].join('\n');
    const current = sshd.files.find((f) => f.path === a.path);
    // judge by what sshd will read with our file in place, not by the file alone
    const files = [...sshd.files.filter((f) => f.path !== a.path), { path: a.path, content }];
    const effective = effectiveSettings(files);
    const beaten = lines
      .map((l) => l.split(' ')[0].toLowerCase())
      .filter((k, i, all) => all.indexOf(k) === i)
      .map((k) => ({ k, src: effective.get(k) }))
      .filter(({ src }) => src && src.file !== a.path);
    if (beaten.length) {
      const why = beaten.map(({ k, src }) => `${k} "${src!.value}" from ${src!.file}:${src!.line}`).join('; ');
      return {
        steps: [],
        reason: 'overridden settings',
        fail: `these settings would not take effect, because sshd keeps the first value it reads: ${why}. Remove those lines (or the file), then re-run.`,
      };
    }
    if (current && current.content.replace(/\n?$/, '\n') === content) {
      return { steps: [], reason: `${a.path} is as declared and every setting in it is in effect` };
    }
    const port = a.settings.Port ?? a.settings.port;
    const listens = Object.keys(a.settings).some((k) => /^(port|listenaddress)$/i.test(k));
    const activate = listens ? [socketStep(a.service)] : [];
    return {
      steps: [
        { kind: 'write', path: a.path, content, mode: '0644', owner: 'root', group: 'root', validate: VALIDATE },
        ...activate,
        // reload, not restart: open sessions (ours included) survive, and a bad config never stops sshd
        run(['systemctl', 'reload-or-restart', a.service]),
      ],
      guard: {
        paths: [a.path],
        restore: [...activate.map((s) => (s.kind === 'sh' ? s.script : '')), `systemctl reload-or-restart ${a.service}`].join('\n'),
        ...(port !== undefined ? { port: Number(port) } : {}),
      },
      reason: `${current ? 'update' : 'create'} ${a.path} (${lines.length} settings, validated with sshd -t)`,
      diff: [{ subject: a.path, before: current?.content ?? '', after: content }],
      accessCritical: 'changes how sshd accepts logins',
    };
  },
});

/**
 * Socket-activated sshd (Ubuntu 22.10 and later): systemd, not sshd, listens, on the ports a generator
 * reads from sshd_config. Port and ListenAddress take effect only after a daemon-reload and a restart of
 * the socket; sessions already open are not affected.
 */
export function socketStep(service: string): Step {
  const unit = shq(`${service}.socket`);
  return sh(
    `if systemctl is-active --quiet ${unit}; then systemctl daemon-reload && systemctl restart ${unit}; fi`,
    `socket-activated sshd: daemon-reload and restart ${service}.socket so it listens where sshd_config says`,
  );
}

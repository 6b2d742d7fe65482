import { z } from 'zod';
import { defineModule, type Plan } from '../../src/core/module.js';
import { run } from '../../src/core/step.js';
import { sha256 } from '../../src/modules/copy.js';
import { caddyLoaded, type CaddyLoaded } from '../../src/facts/caddy.js';
import { UNIT_NAME } from '../../src/facts/systemd.js';

const schema = z
  .object({
    service: z.string().regex(UNIT_NAME, 'a systemd unit name').default('caddy'),
    /** the files Caddy reads when it loads its config: the Caddyfile first, then what it refers to */
    files: z.array(z.string().startsWith('/', 'an absolute path on the host')).min(1).default(['/etc/caddy/Caddyfile']),
    /**
     * The text earlier tasks of the play give some of these files. In check mode nothing was written, so
     * a file that differs from it is one apply rewrites, and the reload that follows is predicted too.
     */
    contents: z.record(z.string(), z.string()).default({}),
  })
  .strict();

type Args = z.infer<typeof schema>;

const RUNNING = ['active', 'reloading', 'activating'];

/**
 * Reload (never restart) Caddy when a file it reads changed after it last loaded its config. Judged
 * from the host, not from a handler: it runs in task order (before the certificate check that needs
 * the new config), and a reload that failed in an earlier run is retried instead of forgotten.
 */
export default defineModule({
  name: 'caddy_reload',
  summary: 'Reload Caddy (never restart it) when its Caddyfile or a file it refers to changed after it last loaded them',
  schema,
  facts: (a: Args) => ({ loaded: caddyLoaded(a.service, a.files) }),
  plan: (a: Args, { loaded }: { loaded: CaddyLoaded }) => planReload(a, loaded),
});

function planReload(a: Args, l: CaddyLoaded): Plan {
  const reload = (why: string): Plan => ({ steps: [run(['systemctl', 'reload', a.service])], reason: `reload ${a.service}: ${why}` });
  // before the package is installed (check on a fresh host): installing starts it with its stock config
  if (l.loadState === undefined || l.loadState === 'not-found') return reload(`not installed yet: its package starts it with a stock config that ${a.files[0]} replaces`);
  if (!RUNNING.includes(l.activeState ?? '')) {
    return { steps: [], reason: `${a.service} is ${l.activeState ?? 'not running'}: it reads ${a.files.join(', ')} when it starts` };
  }
  // only in check mode (apply wrote them already): what the earlier tasks are about to change
  const pending = Object.entries(a.contents)
    .filter(([path, text]) => a.files.includes(path) && l.sha256[path] !== sha256(text))
    .map(([path]) => path);
  if (pending.length) return reload(`${pending.join(', ')} ${pending.length > 1 ? 'change' : 'changes'} in this run`);
  if (!l.loadedAt) return reload(`it has no record of loading a config (no ${l.autosave ?? 'autosave.json'})`);
  if (l.newer.length) return reload(`${l.newer.join(', ')} changed after it last loaded its config (${l.loadedAt})`);
  return { steps: [], reason: `${a.service} (pid ${l.mainPid ?? '?'}) runs the current ${a.files.join(', ')}: loaded ${l.loadedAt}, not changed since` };
}

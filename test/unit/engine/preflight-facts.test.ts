/**
 * A task's preflight sees its facts as the play's first round trip read them, and its refusal stops the play
 * before the first task changes anything (the ufw declaration's lockout judgment needs the rules on the host).
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule } from '../../../src/core/module.js';
import { probe } from '../../../src/core/probe.js';
import { shq } from '../../../src/core/quote.js';
import { runHost } from '../../../src/engine/host-run.js';
import type { PlayInstance, TaskInstance } from '../../../src/engine/types.js';
import { modules } from '../../../src/modules/index.js';
import { LocalTransport } from '../../../src/transport/local.js';
import type { ConnectionSpec } from '../../../src/transport/types.js';

const spec: ConnectionSpec = { name: 'local', host: 'localhost', port: 22, user: 'root', knownHostsFiles: [], acceptNewHostKeys: false, connectTimeoutMs: 5000, kind: 'local' };
const rules = join(mkdtempSync(join(tmpdir(), 'ss-preflight-')), 'rules');

/** refuses when the host's file (read by its probe) holds "deny"; its plan would only write a marker */
const guarded = defineModule({
  name: 'guarded',
  summary: 'test',
  schema: z.object({ marker: z.string() }),
  facts: () => ({ rules: probe('test:rules', `cat ${shq(rules)} 2>/dev/null || true`, (out) => out.trim()) }),
  preflight: (_a, _ctx, facts) => (facts?.rules === 'deny' ? `the host's rules say deny (read: ${facts.rules})` : undefined),
  plan: () => ({ steps: [], reason: 'nothing' }),
});

const task = (name: string, module: TaskInstance['module'], args: unknown): TaskInstance => ({ name, module, args: module.schema.parse(args), tags: [], notify: [], become: false, noLog: false });
const play = (dir: string): PlayInstance => ({
  name: 'p',
  become: false,
  tasks: [task('earlier change', modules.file, { path: join(dir, 'earlier'), state: 'directory' }), task('judged', guarded, { marker: 'x' })],
  handlers: [],
});
const apply = (dir: string) => runHost(spec, () => new LocalTransport(spec), [play(dir)], { check: false, forks: 1, guardTimeoutSec: 30 }, () => undefined);

describe("preflight on the play's first facts", () => {
  it('refuses on what the host holds, before an earlier task of the play changes anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-preflight-'));
    writeFileSync(rules, 'deny\n');
    const report = await apply(dir);
    expect(report.tasks.map((t) => [t.name, t.status])).toEqual([['judged', 'failed']]);
    expect(report.tasks[0].reason).toBe("refused before any task of this play ran: the host's rules say deny (read: deny)");
    expect(existsSync(join(dir, 'earlier'))).toBe(false);
  });

  it('lets the play run when the host holds nothing it objects to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-preflight-'));
    writeFileSync(rules, 'allow\n');
    const report = await apply(dir);
    expect(report.tasks.map((t) => [t.name, t.status])).toEqual([
      ['earlier change', 'changed'],
      ['judged', 'ok'],
    ]);
  });
});

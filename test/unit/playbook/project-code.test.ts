import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectCode } from '../../../src/cli/project-code.js';
import { InputError } from '../../../src/core/input-error.js';
import { loadPlaybook } from '../../../src/playbook/index.js';

const API = join(import.meta.dirname, '..', '..', '..', 'src', 'index.ts');

/** A project as a team keeps it: playbooks/ beside roles/ and modules/. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-project-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

const MODULE = `import { defineModule, fileContent, run, z } from ${JSON.stringify(API)};
export default defineModule({
  name: 'marker_file',
  summary: 'a file holding one word',
  schema: z.object({ path: z.string().startsWith('/'), word: z.string().regex(/^\\w+$/) }),
  facts: (a) => ({ file: fileContent(a.path) }),
  plan: (a, f) => (f.file.content === a.word + '\\n' ? { steps: [], reason: 'same' } : { steps: [run(['true'])], reason: 'write' }),
});
`;
const ROLE = `import { defineRole, z } from ${JSON.stringify(API)};
export default defineRole({
  name: 'motd',
  summary: 'a message of the day',
  vars: z.object({ motd_team: z.string().default('ops') }),
  tasks: (v) => [{ name: 'motd', module: 'copy', args: { dest: '/etc/motd', content: v.motd_team } }],
});
`;

describe("a project's own roles and modules", () => {
  it('are found beside the playbook (or one level up) next to the built-ins, and a playbook can use them', async () => {
    const dir = project({ 'modules/marker_file.ts': MODULE, 'roles/motd/index.ts': ROLE, 'playbooks/site.yml': '- hosts: all\n  roles: [motd, ssh]\n  tasks:\n    - marker_file: { path: /etc/team, word: ops }\n' });
    const code = await loadProjectCode([join(dir, 'playbooks')]);
    expect(Object.keys(code.ownModules)).toEqual(['marker_file']);
    expect([...code.ownRoles]).toEqual(['motd']);
    expect(code.modules.apt).toBeDefined();
    expect(code.roles.ssh).toBeDefined();
    const pb = await loadPlaybook(join(dir, 'playbooks', 'site.yml'), { modules: code.modules, roles: code.roles });
    expect(pb.plays[0].items.map((i) => (i.kind === 'role' ? i.role : i.kind === 'task' ? i.module : 'block'))).toEqual(['motd', 'ssh', 'marker_file']);
  });

  it('a module named like a built-in is refused with where it is and what to do', async () => {
    const dir = project({ 'modules/apt.ts': MODULE.replace("'marker_file'", "'apt'") });
    const err = await loadProjectCode([join(dir, 'playbooks')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).format()).toMatch(/modules\/apt\.ts[\s\S]*built into shipshape[\s\S]*rename/);
  });

  it("a role's internal modules cannot be named by a playbook", async () => {
    const dir = project({ 'playbooks/site.yml': '- hosts: all\n  tasks:\n    - caddy_reload: {}\n' });
    const code = await loadProjectCode([join(dir, 'playbooks')]);
    const err = await loadPlaybook(join(dir, 'playbooks', 'site.yml'), { modules: code.modules, roles: code.roles }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).format()).toMatch(/site\.yml:3/);
  });
});

describe("a mistake in a role's task arguments", () => {
  it("is reported at the role's own file and line, before any host is contacted", async () => {
    const { execFile } = await import('node:child_process');
    const ROOT = join(import.meta.dirname, '..', '..', '..');
    const role = `import { defineRole, z } from ${JSON.stringify(API)};
export default defineRole({
  name: 'broken',
  summary: 'a role with a mode that is not a mode',
  vars: z.object({}),
  tasks: () => [
    { name: 'motd file', module: 'copy', args: { dest: '/etc/motd', content: 'hi', mode: 'rwx' } },
  ],
});
`;
    const dir = project({
      'roles/broken/index.ts': role,
      'playbooks/site.yml': '- hosts: all\n  roles: [broken]\n',
      'inventory/hosts.yml': 'all:\n  hosts:\n    web1: { host: 127.0.0.1, port: 1, user: root }\n',
    });
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'check', join(dir, 'playbooks', 'site.yml'), '-i', join(dir, 'inventory')],
        { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 },
        (err, _out, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/roles\/broken\/index\.ts:7:\d+/);
    expect(r.stderr).toMatch(/mode/);
  });
});

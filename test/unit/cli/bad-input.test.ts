/**
 * Bad input, as the operator meets it: the real CLI in a child process, a mistake in a playbook,
 * inventory or flag. Each must exit 64 with `file:line:column`, the offending name and the nearest
 * valid one, before any host is contacted. The only host in the inventory is a TCP listener of this
 * test: a connection attempt of any kind would show up in its counter.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The CLI from its TypeScript sources (what bin/shipshape falls back to without a build): a unit run
 * must test the code as it is now, not a dist/ built earlier.
 */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let server: Server;
let connections = 0;
let dir: string;

beforeAll(async () => {
  server = createServer((s: Socket) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  dir = mkdtempSync(join(tmpdir(), 'ss-bad-input-'));
  writeFileSync(join(dir, 'hosts.yml'), `all:\n  hosts:\n    web1:\n      host: 127.0.0.1\n      port: ${port}\n      user: root\n`);
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A playbook file with this text; its path. */
function playbook(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** `check` (which only reads hosts) is enough: input is refused before the mode matters; apply too. */
async function refused(pb: string, extra: string[] = []): Promise<Run> {
  const before = connections;
  const r = await cli(['apply', pb, '-i', dir, '--yes', ...extra]);
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(64);
  // nothing ran: no progress, no recap, no connection
  expect(r.stdout).toBe('');
  expect(connections).toBe(before);
  return r;
}

const TASK = (body: string) => `- hosts: all\n  tasks:\n    - name: app dir\n${body}`;

describe('bad input exits 64 before contacting any host', () => {
  it('the listener host itself is reachable: a good playbook does connect (the counter works)', async () => {
    const pb = playbook('good.yml', TASK('      file:\n        path: /srv/app\n        state: directory\n'));
    const before = connections;
    const r = await cli(['check', pb, '-i', dir]);
    expect(r.code).toBe(4);
    expect(connections).toBeGreaterThan(before);
  });

  it('malformed YAML: file:line:column of the mistake', async () => {
    // `state` is indented one column less than `path`
    const pb = playbook('yaml.yml', TASK('      file:\n        path: /srv/app\n       state: directory\n'));
    const r = await refused(pb);
    expect(r.stderr).toContain(`${pb}:6:1: invalid YAML`);
    // the offending line is shown
    expect(r.stderr).toContain('6 |        state: directory');
  });

  it('malformed YAML in the inventory: its file:line:column', async () => {
    const inv = mkdtempSync(join(tmpdir(), 'ss-bad-inv-'));
    writeFileSync(join(inv, 'hosts.yml'), 'all:\n  hosts:\n    web1:\n      host: 127.0.0.1\n     user: root\n');
    const pb = playbook('inv-ok.yml', TASK('      file:\n        path: /srv/app\n        state: directory\n'));
    const r = await cli(['check', pb, '-i', inv]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`${join(inv, 'hosts.yml')}:5:1: invalid YAML`);
  });

  it('unknown task key: named, with the nearest valid key', async () => {
    const pb = playbook('key.yml', '- hosts: all\n  tasks:\n    - nmae: app dir\n      file:\n        path: /srv/app\n        state: directory\n');
    const r = await refused(pb);
    expect(r.stderr).toContain(`${pb}:3:7: unknown key \`nmae\` in task`);
    expect(r.stderr).toContain('did you mean `name`?');
  });

  it('unknown module argument: named, with the nearest argument of that module', async () => {
    const pb = playbook('arg.yml', TASK('      file:\n        path: /srv/app\n        stat: directory\n'));
    const r = await refused(pb);
    expect(r.stderr).toContain(`${pb}:6:9: unknown argument \`stat\` for \`file\``);
    expect(r.stderr).toContain('did you mean `state`?');
  });

  it("an argument of Ansible's module that shipshape does not take yet: said so, with what to do instead, and nothing else", async () => {
    const pb = playbook('not-yet.yml', TASK('      ansible.builtin.apt:\n        deb: /tmp/app.deb\n'));
    const r = await refused(pb);
    expect(r.stderr).toContain(`${pb}:5:9: \`deb\` is an argument of Ansible's \`apt\` that shipshape does not support yet`);
    expect(r.stderr).toContain('fetch the file with get_url');
    // not "did you mean", and not the "apt needs name" the missing deb would otherwise cause
    expect(r.stderr).not.toContain('did you mean');
    expect(r.stderr).not.toContain('apt needs');
  });

  it('unknown module: named, with the nearest module', async () => {
    const pb = playbook('module.yml', TASK('      fiel:\n        path: /srv/app\n'));
    const r = await refused(pb);
    expect(r.stderr).toContain(`${pb}:4:7: unknown module \`fiel\``);
    expect(r.stderr).toContain('did you mean `file`?');
  });

  it('unknown role: named, with the nearest built-in role', async () => {
    const pb = playbook('role.yml', '- hosts: all\n  roles:\n    - firewal\n');
    const r = await refused(pb);
    expect(r.stderr).toContain(`${pb}:3:7: unknown role \`firewal\``);
    expect(r.stderr).toContain('did you mean `firewall`?');
  });

  it('a mode written as the decimal 644 (Ansible would apply 01204): refused, with what to write', async () => {
    const pb = playbook('mode.yml', TASK('      file:\n        path: /srv/app\n        state: directory\n        mode: 644\n'));
    const r = await refused(pb);
    expect(r.stderr).toContain(`${pb}:7:15: \`mode\` written as a decimal number`);
    expect(r.stderr).toContain('write `mode: "0644"`');
  });

  it('every mistake of a file in one run, in file order', async () => {
    const pb = playbook('two.yml', '- hosts: all\n  tasks:\n    - nmae: app dir\n      file:\n        path: /srv/app\n        stat: directory\n');
    const r = await refused(pb);
    const at = (s: string) => r.stderr.indexOf(s);
    expect(at(`${pb}:3:7: unknown key \`nmae\``)).toBeGreaterThanOrEqual(0);
    expect(at(`${pb}:6:9: unknown argument \`stat\``)).toBeGreaterThan(at(`${pb}:3:7:`));
  });

  it('--limit naming no host of the inventory', async () => {
    const pb = playbook('limit.yml', TASK('      file:\n        path: /srv/app\n        state: directory\n'));
    const r = await refused(pb, ['--limit', 'nosuch']);
    expect(r.stderr).toContain('--limit: `nosuch` is neither a host nor a group in the inventory');
    const near = await refused(pb, ['--limit', 'web2']);
    expect(near.stderr).toContain('did you mean `web1`?');
  });

  it('--help lists every exit code the command can end with, as the README does (130 for Ctrl-C; 4 wins over drift)', async () => {
    const apply = (await cli(['apply', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(apply).toContain('64 bad command line or input files (nothing was contacted), 130 interrupted');
    const check = (await cli(['check', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(check).toContain('4 a host was unreachable (even where others drifted: its own drift is unknown)');
    expect(check).toContain('130 interrupted (Ctrl-C)');
  });

  it('a misspelt backup action: the nearest one, nothing contacted', async () => {
    const before = connections;
    const r = await cli(['backup', 'lst', '-i', dir]);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe('backup lst: not an action\n  did you mean `list`?; one of run, list, verify, restore, key\n');
    expect(connections).toBe(before);
  });

  it('--limit matching no host of the plays', async () => {
    const pb = playbook('limit2.yml', TASK('      file:\n        path: /srv/app\n        state: directory\n'));
    const r = await refused(pb, ['--limit', 'db*']);
    expect(r.stderr).toContain('no host matches --limit db*');
  });
});

/**
 * Secrets and no_log, through every output path of the real CLI (a child process, hosts reached with
 * `connection: local` in a scratch directory): plain lines, -D diffs, step output of a failed task,
 * the recap, --json, input-error code frames and -e JSON errors. A secret value must never appear.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BECOME_PW = 'Sup3r-S3cret-pw';
const DB_PW = 'db-Pa55-7781';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

let dir: string;
let pb: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ss-redact-'));
  writeFileSync(join(dir, 'hosts.yml'), `all:\n  hosts:\n    box:\n      connection: local\n      become_password: "${BECOME_PW}"\n`);
  mkdirSync(join(dir, 'group_vars'));
  writeFileSync(join(dir, 'group_vars', 'all.yml'), `db_password: "${DB_PW}"\n`);
  pb = join(dir, 'play.yml');
  writeFileSync(
    pb,
    `- hosts: all
  tasks:
    - name: app config
      copy:
        dest: ${dir}/app.conf
        content: "password={{ db_password }} sudo=${BECOME_PW}\\n"
    - name: quiet step
      no_log: true
      copy:
        dest: ${dir}/quiet.conf
        content: "quiet-content-4411\\n"
    - name: secret step fails
      no_log: true
      command:
        argv: [sh, -c, "echo step-output-9931 {{ db_password }}; exit 3"]
`,
  );
});

const expectClean = (text: string) => {
  expect(text).not.toContain(BECOME_PW);
  expect(text).not.toContain(DB_PW);
  expect(text).not.toContain('quiet-content-4411');
  expect(text).not.toContain('step-output-9931');
};

describe('no secret value and nothing of a no_log task reaches any output', () => {
  it('plain lines, -D diffs, failed step output, host error, recap', async () => {
    const r = await cli(['check', pb, '-i', dir, '-D', '-v']);
    expect(r.stdout).toContain('app config');
    expect(r.stdout).toContain('********');
    expectClean(r.stdout + r.stderr);
    const a = await cli(['apply', pb, '-i', dir, '-D', '-v', '--yes']);
    expect(a.code).toBe(1);
    expect(a.stdout).toMatch(/FAILED +secret step fails: \(hidden: no_log\)/);
    expectClean(a.stdout + a.stderr);
  });

  it('--json', async () => {
    const r = await cli(['apply', pb, '-i', dir, '--json', '--yes']);
    const doc = JSON.parse(r.stdout);
    expect(doc.hosts.box.tasks.map((t: { status: string }) => t.status)).toEqual(['ok', 'ok', 'failed']);
    expectClean(r.stdout + r.stderr);
  });

  it('an input error whose code frame holds a secret value', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, `- hosts: all\n  tasks:\n    - name: "${BECOME_PW}"\n      nmae: x\n      file: { path: /tmp/x, state: touch }\n    - { name: "${DB_PW}", fiel: {} }\n`);
    const r = await cli(['check', bad, '-i', dir]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`${bad}:4:7`);
    expectClean(r.stdout + r.stderr);
  });

  it('-e with broken JSON or a bare value never echoes it', async () => {
    const r = await cli(['check', pb, '-i', dir, '-e', `{"become_password": "${BECOME_PW}`]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--extra-vars');
    const bare = await cli(['check', pb, '-i', dir, '-e', DB_PW]);
    expect(bare.code).toBe(64);
    expectClean(r.stderr + bare.stderr);
  });
});

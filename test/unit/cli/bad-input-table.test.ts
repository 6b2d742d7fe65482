/**
 * Bad input, forty-odd ways: every malformed inventory, host/group vars file, playbook, role variable
 * and flag below is refused by the same preparation `apply` and `check` run before any connection
 * (an InputError is exit 64 in the CLI, see bad-input.test.ts), naming the file and line where the
 * mistake is, with what to do. The only host is a TCP listener of this test: no case may connect.
 * No message may show the inventory's become_password.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/input-error.js';
import { prepareRun, type RunFlags } from '../../../src/cli/run-command.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SECRET = 'Bad-Input-S3cret';
let server: Server;
let connections = 0;
let port = 0;

beforeAll(async () => {
  server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const HOSTS = () => `all:\n  hosts:\n    web1:\n      host: 127.0.0.1\n      port: ${port}\n      user: root\n      become_password: "${SECRET}"\n`;
const PLAY = `- hosts: all\n  tasks:\n    - name: app dir\n      file:\n        path: /srv/app\n        state: directory\n`;
const task = (body: string) => `- hosts: all\n  tasks:\n    - name: t\n${body}`;

interface Case {
  /** what is wrong */
  what: string;
  /** files of the scratch project; hosts.yml and site.yml default to a good inventory and playbook */
  files?: Record<string, string>;
  flags?: Partial<RunFlags>;
  /** the file (relative to the project) and line the first error must name */
  at: [string, number] | string;
  /** a fragment of the message or its hint */
  says: RegExp;
}

const cases: Case[] = [
  // inventory
  { what: 'INI inventory host line without key=value', files: { 'hosts.yml': '[web]\nweb1 ansible_host\n' }, at: ['hosts.yml', 2], says: /expected key=value/ },
  { what: 'bad indentation', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      host: 1.2.3.4\n     user: root\n' }, at: ['hosts.yml', 5], says: /invalid YAML/ },
  { what: 'unknown group key', files: { 'hosts.yml': 'all:\n  hostz:\n    web1: {}\n' }, at: ['hosts.yml', 2], says: /hostz/ },
  { what: 'port out of range', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      port: 99999\n' }, at: ['hosts.yml', 4], says: /1 to 65535/ },
  { what: 'port not a number', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      port: twenty\n' }, at: ['hosts.yml', 4], says: /1 to 65535/ },
  { what: 'become not a boolean', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      become: maybe\n' }, at: ['hosts.yml', 4], says: /true or false/ },
  { what: 'unknown connection', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      connection: sshh\n' }, at: ['hosts.yml', 4], says: /did you mean `ssh`/ },
  { what: 'password login', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      ansible_password: hunter22\n' }, at: ['hosts.yml', 4], says: /password/ },
  { what: 'a key under two names', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      host: 10.0.0.1\n      ansible_host: 10.0.0.2\n' }, at: ['hosts.yml', 5], says: /host/ },
  { what: 'become_password not quoted', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      become_password: 123456\n' }, at: ['hosts.yml', 4], says: /quoted string/ },
  { what: 'empty user', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      user: ""\n' }, at: ['hosts.yml', 4], says: /non-empty/ },
  { what: 'duplicate key', files: { 'hosts.yml': 'all:\n  hosts:\n    web1:\n      host: 10.0.0.1\n      host: 10.0.0.2\n' }, at: ['hosts.yml', 5], says: /unique|duplicate/i },
  { what: 'backwards host range', files: { 'hosts.yml': 'all:\n  hosts:\n    web[3:1]:\n' }, at: ['hosts.yml', 3], says: /range/ },
  {
    what: 'YAML alias bomb in the inventory',
    files: { 'hosts.yml': `all:\n  vars:\n    a0: &a0 [x,x,x,x,x,x,x,x,x]\n${[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `    a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]`).join('\n')}\n  hosts:\n    web1: {}\n` },
    at: 'hosts.yml',
    says: /aliases/,
  },
  // group_vars and host_vars: the error names the vars file, not the play
  { what: 'group_vars YAML error', files: { 'group_vars/all.yml': 'a: 1\nb: c: d\n' }, at: ['group_vars/all.yml', 2], says: /invalid YAML/ },
  { what: 'host_vars port 0', files: { 'host_vars/web1.yml': '# ports\nport: 0\n' }, at: ['host_vars/web1.yml', 2], says: /1 to 65535/ },
  { what: 'group_vars become not a boolean', files: { 'group_vars/all.yml': 'become: sometimes\n' }, at: ['group_vars/all.yml', 1], says: /true or false/ },
  { what: 'host_vars unknown connection', files: { 'host_vars/web1.yml': 'x: 1\nconnection: winrm\n' }, at: ['host_vars/web1.yml', 2], says: /ssh` or `local/ },
  { what: 'group_vars not a mapping', files: { 'group_vars/all.yml': '- a\n- b\n' }, at: ['group_vars/all.yml', 1], says: /mapping/ },
  { what: 'group_vars template of an undefined variable', files: { 'group_vars/all.yml': 'identity_file: "{{ nope_key }}"\n' }, at: ['group_vars/all.yml', 1], says: /nope_key/ },
  { what: 'group_vars password login', files: { 'group_vars/web.yml': 'ansible_ssh_pass: x\n', 'hosts.yml': `all:\n  children:\n    web:\n      hosts:\n        web1: {}\n` }, at: ['group_vars/web.yml', 1], says: /password/ },
  { what: 'role variable of the wrong type in group_vars', files: { 'group_vars/all.yml': '# ssh\nssh_port: twenty-two\n', 'site.yml': '- hosts: all\n  roles: [ssh]\n' }, at: ['group_vars/all.yml', 2], says: /ssh_port/ },
  { what: 'role variable of the wrong type in host_vars', files: { 'host_vars/web1.yml': 'a: 1\nssh_port: "{{ 22 }}x"\n', 'site.yml': '- hosts: all\n  roles: [ssh]\n' }, at: ['host_vars/web1.yml', 2], says: /ssh_port/ },
  // playbooks
  { what: 'unknown task key', files: { 'site.yml': '- hosts: all\n  tasks:\n    - nmae: x\n      file: { path: /srv, state: directory }\n' }, at: ['site.yml', 3], says: /did you mean `name`/ },
  { what: 'unknown module', files: { 'site.yml': task('      fiel: { path: /srv }\n') }, at: ['site.yml', 4], says: /did you mean `file`/ },
  { what: 'unknown module argument', files: { 'site.yml': task('      file:\n        path: /srv\n        stat: directory\n') }, at: ['site.yml', 6], says: /did you mean `state`/ },
  { what: 'mode out of range', files: { 'site.yml': task('      file:\n        path: /srv\n        mode: 99999\n') }, at: ['site.yml', 6], says: /mode/ },
  { what: 'relative path in file', files: { 'site.yml': task('      file:\n        path: srv/app\n        state: directory\n') }, at: ['site.yml', 5], says: /absolute path/ },
  { what: 'owner read as an option', files: { 'site.yml': task('      file:\n        path: /srv/app\n        owner: --reference=/etc/shadow\n') }, at: ['site.yml', 6], says: /not starting with -/ },
  { what: 'copy group read as an option', files: { 'site.yml': task('      copy:\n        dest: /srv/x\n        content: x\n        group: -v\n') }, at: ['site.yml', 7], says: /not starting with -/ },
  { what: 'sshd setting with a newline', files: { 'site.yml': task('      sshd_config:\n        settings:\n          Banner: "/etc/issue\\nPermitRootLogin yes"\n') }, at: ['site.yml', 6], says: /one line/ },
  { what: 'sshd keyword with a space', files: { 'site.yml': task('      sshd_config:\n        settings:\n          "PermitRootLogin yes\\nX": "no"\n') }, at: ['site.yml', 6], says: /keyword/ },
  { what: 'ufw port as free text', files: { 'site.yml': task('      ufw:\n        rules:\n          - { port: "22 from any", proto: tcp }\n') }, at: ['site.yml', 6], says: /port must be a number/ },
  { what: 'ufw source not an address', files: { 'site.yml': task('      ufw:\n        rules:\n          - { port: 22, from_ip: "anywhere" }\n') }, at: ['site.yml', 6], says: /from_ip/ },
  { what: 'copy dest relative', files: { 'site.yml': task('      copy:\n        dest: etc/x\n        content: x\n') }, at: ['site.yml', 5], says: /absolute path/ },
  { what: 'copy with content and src', files: { 'site.yml': task('      copy:\n        dest: /etc/x\n        content: x\n        src: y\n') }, at: ['site.yml', 4], says: /exactly one of content or src/ },
  { what: 'validate without %s', files: { 'site.yml': task('      copy:\n        dest: /etc/x\n        content: x\n        validate: visudo -c\n') }, at: ['site.yml', 7], says: /%s/ },
  { what: 'clear-text user password', files: { 'site.yml': task('      user:\n        name: bob\n        password: hunter2\n') }, at: ['site.yml', 6], says: /crypt hash/ },
  { what: 'template src missing', files: { 'site.yml': task('      template:\n        src: nope.j2\n        dest: /etc/x\n') }, at: ['site.yml', 3], says: /nope\.j2 not found/ },
  { what: 'undefined variable in an argument', files: { 'site.yml': task('      file:\n        path: "{{ app_root }}/x"\n') }, at: ['site.yml', 3], says: /app_root/ },
  { what: 'broken when expression', files: { 'site.yml': task('      file: { path: /srv }\n      when: "x ==="\n') }, at: ['site.yml', 5], says: /./ },
  { what: 'notify of no handler', files: { 'site.yml': task('      file: { path: /srv }\n      notify: restart ap\n  handlers:\n    - name: restart app\n      service: { name: app, state: restarted }\n') }, at: ['site.yml', 5], says: /no handler named/ },
  { what: 'refused Ansible keyword', files: { 'site.yml': '- hosts: all\n  serial: 1\n  tasks: []\n' }, at: ['site.yml', 2], says: /serial/ },
  { what: 'delegate_to on a task', files: { 'site.yml': task('      file: { path: /srv }\n      delegate_to: db1\n') }, at: ['site.yml', 5], says: /delegate_to/ },
  { what: 'unknown role', files: { 'site.yml': '- hosts: all\n  roles:\n    - firewal\n' }, at: ['site.yml', 3], says: /did you mean `firewall`/ },
  { what: 'role variable of the wrong type', files: { 'site.yml': '- hosts: all\n  roles:\n    - { role: ssh, vars: { ssh_port: "twenty-two" } }\n' }, at: ['site.yml', 3], says: /ssh_port/ },
  { what: 'play without hosts', files: { 'site.yml': '- name: p\n  tasks: []\n' }, at: ['site.yml', 1], says: /hosts/ },
  { what: 'vars_files missing', files: { 'site.yml': '- hosts: all\n  vars_files: [vars/nope.yml]\n  tasks: []\n' }, at: ['site.yml', 2], says: /nope\.yml/ },
  {
    what: 'YAML alias bomb in the playbook',
    files: { 'site.yml': `- hosts: all\n  vars:\n    a0: &a0 [x,x,x,x,x,x,x,x,x]\n${[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `    a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]`).join('\n')}\n  tasks: []\n` },
    at: 'site.yml',
    says: /aliases/,
  },
  // flags
  { what: '-e broken JSON holding a secret', flags: { extraVars: [`{"become_password": "${SECRET}`] }, at: '--extra-vars', says: /not valid JSON/ },
  { what: '-e without =', flags: { extraVars: ['justavalue'] }, at: '--extra-vars', says: /key=value/ },
  { what: '--limit of no host', flags: { limit: 'web2' }, at: '--limit', says: /did you mean `web1`/ },
];

/** The case's scratch project: its directory. */
function project(c: Case): string {
  const dir = mkdtempSync(join(tmpdir(), 'ss-bad-'));
  const files = { 'hosts.yml': HOSTS(), 'site.yml': PLAY, ...c.files };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

async function attempt(c: Case): Promise<InputError> {
  const dir = project(c);
  const flags: RunFlags = { inventory: dir, forks: 1, extraVars: [], color: false, guardTimeout: 120, updateInventory: true, ...c.flags };
  try {
    await prepareRun(join(dir, 'site.yml'), flags);
  } catch (err) {
    if (err instanceof InputError) {
      (err as InputError & { dir: string }).dir = dir;
      return err;
    }
    throw err;
  }
  throw new Error(`${c.what}: was accepted`);
}

describe('bad input: refused before any connection, at the file and line of the mistake', () => {
  it('there are at least 40 distinct cases', () => {
    expect(new Set(cases.map((c) => c.what)).size).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)('$what', async (c) => {
    const before = connections;
    const err = await attempt(c);
    const dir = (err as InputError & { dir: string }).dir;
    const text = err.format();
    if (typeof c.at === 'string') expect(err.file).toBe(c.at.startsWith('--') ? c.at : join(dir, c.at));
    else expect(`${err.file}:${err.line}`).toBe(`${join(dir, c.at[0])}:${c.at[1]}`);
    expect(text).toMatch(c.says);
    expect(text).not.toContain(SECRET);
    expect(connections).toBe(before);
  });
});

/**
 * The same cases through the real CLI, one child process each: `apply` exits 64, names the file and
 * line, shows no secret, and the listener in the inventory sees no connection. bin/shipshape runs the
 * build when it is newer than every source file (four times cheaper than compiling on the fly, which
 * matters for fifty processes); otherwise the sources through tsx, so a unit run always tests the code
 * as it is now.
 */
const BUILT = join(ROOT, 'dist', 'src', 'cli', 'main.js');
function newest(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
}
const CLI = existsSync(BUILT) && statSync(BUILT).mtimeMs > Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'roles'))) ? [join(ROOT, 'bin', 'shipshape')] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}\n${stderr}` }),
    );
  });
}

function argsOf(c: Case, dir: string): string[] {
  const f = c.flags ?? {};
  return ['apply', join(dir, 'site.yml'), '-i', dir, '--yes', ...(f.extraVars ?? []).flatMap((e) => ['-e', e]), ...(f.limit ? ['-l', f.limit] : [])];
}

describe('bad input through the real CLI: exit 64 for every case, no connection, no secret', () => {
  it('every flag a case uses is passed on the command line', () => {
    for (const c of cases) expect(Object.keys(c.flags ?? {}).filter((k) => !['extraVars', 'limit'].includes(k))).toEqual([]);
  });

  it.concurrent.each(cases)('$what', async (c) => {
    const before = connections;
    const dir = project(c);
    const r = await cli(argsOf(c, dir));
    expect(r.code, r.out).toBe(64);
    if (typeof c.at === 'string') expect(r.out).toContain(c.at.startsWith('--') ? c.at : join(dir, c.at));
    else expect(r.out).toContain(`${join(dir, c.at[0])}:${c.at[1]}`);
    expect(r.out).toMatch(c.says);
    expect(r.out).not.toContain(SECRET);
    // other cases run at the same time: none of them may have connected either
    expect(connections).toBe(before);
    expect(connections).toBe(0);
  }, 120_000);
});

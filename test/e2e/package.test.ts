/**
 * The package as a team adopts it: `npm pack`, installed into an empty folder with no checkout nearby,
 * with the team's own role and module in their repository; `npx shipshape` applies the site playbook
 * to fresh lab hosts (Debian 12 and 13) from there, and the types catch a wrong argument in a role.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freshHosts, hostExec, siteLabVars, sshLogin, stopwatch, writeInventory, type JsonReport, type Lab, type LabHost } from './support.js';

const execP = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const TS_VERSION = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'typescript', 'package.json'), 'utf8')).version as string;

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}
async function sh(cmd: string, args: string[], cwd: string, timeout = 600_000): Promise<Out> {
  // nothing of the checkout on the way: no NODE_PATH, no node_modules/.bin of ours
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', NO_COLOR: '1', npm_config_update_notifier: 'false' };
  try {
    const r = await execP(cmd, args, { cwd, env, timeout, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const ROLE = `import { defineRole, z } from 'shipshape';

export default defineRole({
  name: 'motd',
  summary: 'a message of the day naming the team',
  vars: z.object({ motd_team: z.string().default('ops') }),
  tasks: (v) => [{ name: 'motd', module: 'copy', args: { dest: '/etc/motd', content: \`Managed by \${v.motd_team}\\n\`, mode: '0644' } }],
});
`;
const MODULE = `import { defineModule, fileContent, run, z } from 'shipshape';

export default defineModule({
  name: 'marker_file',
  summary: 'a file that holds exactly one word',
  schema: z.object({ path: z.string().startsWith('/'), word: z.string().regex(/^\\w+$/) }),
  facts: (a) => ({ file: fileContent(a.path) }),
  plan: (a, f) =>
    f.file.exists && f.file.content === \`\${a.word}\\n\`
      ? { steps: [], reason: \`\${a.path} says \${a.word}\` }
      : { steps: [run(['sh', '-c', 'printf "%s\\\\n" "$1" > "$2"', 'marker', a.word, a.path])], reason: \`write \${a.word} to \${a.path}\` },
});
`;
// a mistake a role author makes: apt has no argument "package"
const BAD_ROLE = `import { defineRole, z } from 'shipshape';

export default defineRole({
  name: 'bad',
  summary: 'a wrong argument',
  vars: z.object({}),
  tasks: () => [{ name: 'curl', module: 'apt', args: { package: 'curl' } }],
});
`;

describe('the installed package', () => {
  let lab12: Lab;
  let lab13: Lab;
  let hosts: LabHost[];
  let project: string;
  let inventory: string;
  const { timings, timed: time } = stopwatch();

  beforeAll(async () => {
    const pack = mkdtempSync(join(tmpdir(), 'ss-pack-'));
    const [packed, l12, l13] = await Promise.all([
      // dist/ is built by test:e2e already; without scripts, pack does not rebuild it under other files' running CLIs
      time('npm pack', () => sh('npm', ['pack', '--ignore-scripts', '--pack-destination', pack], ROOT)),
      time('fresh h131 (Debian 12)', () => freshHosts(['h131'])),
      time('fresh h231 (Debian 13)', () => freshHosts(['h231'], { dist: 'trixie' })),
    ]);
    expect(packed.code, packed.stderr).toBe(0);
    [lab12, lab13] = [l12, l13];
    hosts = [...lab12.hosts, ...lab13.hosts];
    const tarball = join(pack, readdirSync(pack).find((f) => f.endsWith('.tgz'))!);

    project = mkdtempSync(join(tmpdir(), 'ss-adopter-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'our-infra', private: true, type: 'module' }));
    const installed = await time('npm install', () =>
      sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, `typescript@${TS_VERSION}`], project),
    );
    expect(installed.code, installed.stderr).toBe(0);

    mkdirSync(join(project, 'roles', 'motd'), { recursive: true });
    mkdirSync(join(project, 'modules'));
    mkdirSync(join(project, 'playbooks'));
    mkdirSync(join(project, 'typecheck'));
    writeFileSync(join(project, 'roles', 'motd', 'index.ts'), ROLE);
    writeFileSync(join(project, 'modules', 'marker_file.ts'), MODULE);
    writeFileSync(join(project, 'typecheck', 'bad-role.ts'), BAD_ROLE);
    // the site playbook as the package ships it, then the team's own play
    const site = parse(readFileSync(join(project, 'node_modules', 'shipshape', 'playbooks', 'site.yml'), 'utf8')) as unknown[];
    site.push({ name: 'ours', hosts: 'all', become: true, roles: ['motd'], tasks: [{ name: 'team marker', marker_file: { path: '/etc/team', word: 'platform' } }] });
    writeFileSync(join(project, 'playbooks', 'site.yml'), stringify(site));
    inventory = writeInventory(lab12, hosts, {
      vars: { ...siteLabVars(lab12), motd_team: 'platform' },
    });
  });

  afterAll(() => console.log(timings.join('\n')));

  it('npx shipshape lists the built-in roles and modules and the project own, marked', async () => {
    const roles = await sh('npx', ['shipshape', 'roles'], project);
    expect(roles.code, roles.stderr).toBe(0);
    expect(roles.stdout).toMatch(/^motd\s+\(project\) a message of the day/m);
    for (const r of ['deploy_user', 'ssh', 'firewall', 'docker', 'caddy']) expect(roles.stdout).toMatch(new RegExp(`^${r}\\s`, 'm'));
    const modules = await sh('npx', ['shipshape', 'modules'], project);
    expect(modules.stdout).toMatch(/^marker_file\s+\(project\)/m);
    // role internals stay in their roles
    expect(modules.stdout).not.toMatch(/^caddy_reload|^docker_ufw/m);
    const schema = await sh('npx', ['shipshape', 'schema', 'playbook'], project);
    expect(JSON.parse(schema.stdout).$defs.args_marker_file).toBeDefined();
  });

  it("the types catch a wrong argument in a team's role at compile time; the good role and module compile", async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true }, include: ['roles', 'modules'] }),
    );
    const good = await sh('npx', ['tsc', '-p', '.'], project);
    expect(good.code, good.stdout).toBe(0);
    const bad = await sh('npx', ['tsc', '--noEmit', '--strict', '--skipLibCheck', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', 'typecheck/bad-role.ts'], project);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/typecheck\/bad-role\.ts\(\d+,\d+\): error TS\d+/);
    expect(bad.stdout).toContain("'package' does not exist");
  });

  it('applies the site playbook plus the team role and module from there: converged, then nothing to change', async () => {
    const first = await time('first apply, 2 hosts', () => sh('npx', ['shipshape', 'apply', 'playbooks/site.yml', '-i', inventory, '--json'], project, 900_000));
    expect(first.code, first.stderr + first.stdout.slice(0, 2000)).toBe(0);
    const report = JSON.parse(first.stdout) as JsonReport;
    for (const h of hosts) {
      expect(report.hosts[h.name].failed, h.name).toBe(0);
      expect(report.hosts[h.name].changed, h.name).toBeGreaterThan(10);
    }
    for (const h of hosts) {
      // the outcome, not "it ran": the team's files are there, deploy logs in with sudo, root is refused
      expect((await hostExec(h.name, 'cat /etc/motd /etc/team')).stdout).toBe('Managed by platform\nplatform\n');
      expect((await sshLogin(lab12, 'deploy', h.addr, 'sudo -n true && echo sudo-ok')).stdout).toContain('sudo-ok');
      expect((await sshLogin(lab12, 'root', h.addr, 'true')).code).not.toBe(0);
      const docker = await sshLogin(lab12, 'deploy', h.addr, 'docker version --format {{.Server.Version}}');
      expect(docker.code, `${h.name}: ${docker.stderr}`).toBe(0);
    }
    const again = await time('second apply', () => sh('npx', ['shipshape', 'apply', 'playbooks/site.yml', '-i', inventory, '--json'], project));
    expect(again.code, again.stderr).toBe(0);
    const r2 = JSON.parse(again.stdout) as JsonReport;
    for (const h of hosts) expect(r2.hosts[h.name].changed, h.name).toBe(0);
    const check = await sh('npx', ['shipshape', 'check', 'playbooks/site.yml', '-i', inventory], project);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});

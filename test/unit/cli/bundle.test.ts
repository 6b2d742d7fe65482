/**
 * The start-up bundle (scripts/bundle.mjs, run by `npm run build`): the CLI, the public API and the
 * built-in roles share their code through chunks. What must hold, judged by what the bundle contains
 * and what a run of it loads (never by time): each module exists once, so a role and the CLI agree on
 * zod and defineRole; a run loads nothing from src/, from per-file dist/ or zod's own files; a
 * module that finds files relative to itself still finds them from its chunk.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
// inside the repository, so the packages kept outside the bundle resolve from its node_modules
const CACHE = join(ROOT, 'node_modules', '.cache');

interface Meta {
  inputs: Record<string, unknown>;
  outputs: Record<string, { inputs: Record<string, unknown>; entryPoint?: string }>;
}

let dir: string;
let meta: Meta;
/** input (relative to the repository) -> the .js outputs holding it (relative to the bundle) */
const holders = new Map<string, string[]>();

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true });
  dir = mkdtempSync(join(CACHE, 'shipshape-bundle-test-'));
  const metaFile = join(dir, 'meta.json');
  // a chunk of an "earlier build", which the bundle must remove (and only it)
  mkdirSync(join(dir, 'src', 'chunks'), { recursive: true });
  writeFileSync(join(dir, 'src', 'chunks', 'stale-OLDHASH.js'), '');
  // the output folder given relative to the current directory (not the repository): it once deleted every chunk
  const rel = relative(CACHE, dir);
  await run(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), rel], { cwd: CACHE, env: { ...process.env, SHIPSHAPE_BUNDLE_META: metaFile }, timeout: 120_000 });
  await run(process.execPath, [join(ROOT, 'scripts', 'code-cache.mjs'), rel], { cwd: CACHE, timeout: 120_000 });
  meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Meta;
  for (const [out, o] of Object.entries(meta.outputs)) {
    if (!/\.c?js$/.test(out)) continue;
    for (const input of Object.keys(o.inputs)) holders.set(input, [...(holders.get(input) ?? []), relative(dir, join(ROOT, out))]);
  }
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the start-up bundle', () => {
  it('given a relative output folder, keeps the chunks it wrote and removes only an earlier build\'s', () => {
    const chunks = readdirSync(join(dir, 'src', 'chunks'));
    const written = Object.keys(meta.outputs).filter((o) => o.includes('/src/chunks/')).map((o) => o.split('/').pop()!);
    expect(written.length).toBeGreaterThan(1);
    expect(chunks).not.toContain('stale-OLDHASH.js');
    expect(chunks.sort()).toEqual(written.sort());
  });

  it('holds every module once: no second copy of a role, of src/ or of zod', () => {
    const twice = [...holders].filter(([, outs]) => outs.length > 1);
    expect(twice).toEqual([]);
    const inputs = [...holders.keys()];
    for (const role of ['ssh', 'firewall', 'caddy', 'backup', 'docker']) {
      expect(inputs, role).toContain(`roles/${role}/index.ts`);
      // a built-in role is its own entry: the role loader imports dist/roles/NAME/index.js and gets the bundled one
      expect(holders.get(`roles/${role}/index.ts`), role).toEqual([join('roles', role, 'index.js')]);
    }
    expect(inputs.filter((i) => i.includes('node_modules/zod/')).length).toBeGreaterThan(10);
    // zod, yaml, commander and the SSH library each in their one CommonJS file, compiled from V8's code cache
    // (vendor-load.ts); node-ssh's ssh2 is the vendored one, not a second copy
    for (const [pkg, file] of [['zod', 'zod.cjs'], ['yaml', 'yaml.cjs'], ['commander', 'commander.cjs'], ['ssh2', 'ssh2.cjs'], ['node-ssh', 'node-ssh.cjs'], ['tweetnacl', 'ssh2.cjs'], ['make-dir', 'node-ssh.cjs']]) {
      const held = new Set(inputs.filter((i) => i.includes(`node_modules/${pkg}/`)).flatMap((i) => holders.get(i)!));
      expect([...held], pkg).toEqual([join('src', 'vendor', file)]);
    }
    // only English of zod's translations: the others were half the bundle, compiled at every start
    expect(inputs.filter((i) => /node_modules\/zod\/v4\/locales\/(?!en\.js)/.test(i))).toEqual([]);
  });

  it('a module that finds files relative to its own URL sits as deep in the bundle as in the sources', () => {
    const located = [...holders.keys()].filter((i) => !i.includes('node_modules') && !i.includes(':') && /import\.meta\.url/.test(readFileSync(join(ROOT, i), 'utf8')));
    // the role loader (built-in roles at ../../roles/) and the backup role's program text are among them
    expect(located).toEqual(expect.arrayContaining(['src/playbook/roles-loader.ts', 'roles/backup/program.ts']));
    for (const input of located) {
      const depth = (p: string) => p.split(/[\\/]/).length;
      for (const out of holders.get(input)!) expect(depth(out), `${input} -> ${out}`).toBe(depth(input));
    }
    expect(holders.get('roles/backup/program.ts')).toEqual([join('roles', 'backup', 'index.js')]);
  });

  it('a built-in role is built with the zod the public API gives a project role', async () => {
    const api = (await import(pathToFileURL(join(dir, 'src', 'index.js')).href)) as typeof import('../../../src/index.js');
    const ssh = (await import(pathToFileURL(join(dir, 'roles', 'ssh', 'index.js')).href)) as { default: { vars: unknown } };
    expect(ssh.default.vars).toBeInstanceOf(api.z.ZodObject);
  });

  it('a check of the site playbook loads no module from src/, per-file dist/ or node_modules (only the bundle and its vendored packages, from the code cache) and compiles no zod parser', async () => {
    const work = mkdtempSync(join(dir, 'run-'));
    const log = join(work, 'loaded.txt');
    writeFileSync(join(work, 'hook.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, ctx, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, ctx); }\n`);
    // and counts zod's compiled parsers (new Function): the run asks for none, they cost more than they save at start
    const compiled = join(work, 'compiled.txt');
    writeFileSync(
      join(work, 'register.mjs'),
      [
        `import { register } from 'node:module';`,
        `import { writeFileSync } from 'node:fs';`,
        `register(${JSON.stringify(pathToFileURL(join(work, 'hook.mjs')).href)});`,
        `let n = 0;`,
        `globalThis.Function = new Proxy(Function, { construct(t, a) { n++; return Reflect.construct(t, a); } });`,
        `process.on('exit', () => writeFileSync(${JSON.stringify(compiled)}, String(n)));`,
        `process.on('exit', () => writeFileSync(${JSON.stringify(join(work, 'code-cache.json'))}, JSON.stringify(globalThis[Symbol.for('shipshape.codeCache')] ?? {})));`,
      ].join('\n'),
    );
    // a copy: beside the repository's playbooks/ its roles/ sources would count as the project's own roles
    writeFileSync(join(work, 'site.yml'), readFileSync(join(ROOT, 'playbooks', 'site.yml')));
    // nothing listens on port 1: the run gets as far as connecting, then reports the host unreachable
    writeFileSync(join(work, 'hosts.yml'), 'all:\n  vars:\n    deploy_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test"]\n  hosts:\n    web1: { host: 127.0.0.1, port: 1 }\n');
    const r = await run(process.execPath, ['--import', pathToFileURL(join(work, 'register.mjs')).href, join(dir, 'src', 'cli', 'main.js'), 'check', join(work, 'site.yml'), '-i', join(work, 'hosts.yml'), '--json'], { timeout: 120_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const report = JSON.parse(r.stdout) as { hosts: Record<string, { unreachable?: boolean }> };
    expect(report.hosts.web1.unreachable).toBe(true);
    const loaded = readFileSync(log, 'utf8').trim().split('\n').filter((u) => u.startsWith('file:'));
    const inBundle = loaded.filter((u) => u.startsWith(pathToFileURL(dir + sep).href));
    // the entry, the roles it imports and the chunks they share
    expect(inBundle.length).toBeGreaterThan(10);
    expect(inBundle.filter((u) => u.includes('/roles/')).length).toBe(10);
    const outside = loaded.filter((u) => !inBundle.includes(u) && !u.startsWith(pathToFileURL(work).href));
    expect(outside).toEqual([]);
    // one: zod's own probe whether new Function is allowed at all
    expect(Number(readFileSync(compiled, 'utf8'))).toBeLessThanOrEqual(1);
    // the vendored packages came from the build's code cache: V8 accepted it (same V8, same flags at compile)
    expect(JSON.parse(readFileSync(join(work, 'code-cache.json'), 'utf8'))).toEqual({ commander: 'used', zod: 'used', yaml: 'used', ssh2: 'used', 'node-ssh': 'used' });
  });
});

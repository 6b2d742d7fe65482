// After the bundle (scripts/bundle.mjs): V8's compiled code of the vendored packages (dist/src/vendor/NAME.cjs,
// see src/cli/vendor-load.ts), kept beside each as NAME.HASH.v8cache (HASH: of the file's content, stamped on
// its first line by the bundle). Made by the bundled CLI itself: a check of the
// site playbook against a host that refuses at once (127.0.0.1 port 1), in a scratch HOME, so what the cache
// holds is what a run compiles up to its first connection. Nothing is contacted and nothing outside the scratch
// folder is written. Without a cache (or with one another Node made) the CLI is as correct, only slower to start:
// so a failed warm-up is a warning, never a failed build (test/unit/cli/bundle.test.ts checks the cache is used).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const outdir = resolve(process.argv[2] ?? join(root, 'dist'));
const vendorDir = join(outdir, 'src', 'vendor');
for (const f of readdirSync(vendorDir)) if (f.endsWith('.v8cache')) rmSync(join(vendorDir, f));

const work = mkdtempSync(join(tmpdir(), 'shipshape-code-cache-'));
try {
  // a copy: beside the repository's playbooks/ its roles/ sources would count as the project's own roles
  writeFileSync(join(work, 'site.yml'), readFileSync(join(root, 'playbooks', 'site.yml')));
  writeFileSync(
    join(work, 'hosts.yml'),
    'all:\n  vars:\n    deploy_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl warm-up"]\n  hosts:\n    web1: { host: 127.0.0.1, port: 1 }\n',
  );
  writeFileSync(join(work, 'known_hosts'), '');
  const env = { ...process.env, HOME: work, XDG_STATE_HOME: join(work, 'state'), XDG_CONFIG_HOME: join(work, 'config'), SHIPSHAPE_WRITE_CODE_CACHE: '1' };
  delete env.NODE_OPTIONS;
  delete env.SSH_AUTH_SOCK;
  try {
    execFileSync(process.execPath, [join(outdir, 'src', 'cli', 'main.js'), 'check', join(work, 'site.yml'), '-i', join(work, 'hosts.yml'), '--json'], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  } catch (err) {
    // exit 4: the host was unreachable, as intended
    if (err.status !== 4) process.stderr.write(`warning: code-cache warm-up run failed (exit ${err.status}), the CLI starts slower: ${err.stderr}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const caches = readdirSync(vendorDir).filter((f) => f.endsWith('.v8cache'));
const missing = readdirSync(vendorDir)
  .filter((f) => f.endsWith('.cjs'))
  .filter((f) => !caches.some((c) => c.startsWith(f.replace(/\.cjs$/, '.'))));
if (missing.length) process.stderr.write(`warning: no code cache for ${missing.join(', ')}: the CLI starts slower\n`);

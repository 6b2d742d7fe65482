// Start-up (issue 15): zod, yaml, commander and the SSH library (ssh2, node-ssh) are most of the JavaScript a
// run compiles before its first connection, and Node 20
// has no compile cache for ES modules. The build (scripts/bundle.mjs) puts each of them in one CommonJS file
// (dist/src/vendor/NAME.cjs) and every `import ... from 'zod'` of the bundle in a small module that takes
// its exports from here; scripts/code-cache.mjs then runs a check once and keeps V8's compiled code of each
// file beside it (NAME.HASH.v8cache). Compiled with that cache, a package costs neither its parse nor the
// compiling of the functions the run calls. One load per package and process, so the CLI, the built-in roles
// and a project's role still share one zod. V8 refuses a cache made by another V8 or under other V8 flags
// (NODE_OPTIONS=--max-old-space-size...; a run's own settings are put aside while it compiles, see v8-flags.ts):
// the file is then compiled as without a cache, nothing else changes.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { withDefaultV8Flags } from './v8-flags.js';

export type CodeCacheState = 'used' | 'rejected' | 'missing';

// per process, not per module instance: a second copy of this module (a loader that namespaces what it
// imports) still gets the same zod
const global = globalThis as Record<symbol, unknown>;
/** how each package's code was compiled in this process (read by the bundle test) */
const states = (global[Symbol.for('shipshape.codeCache')] ??= {}) as Record<string, CodeCacheState>;
const loaded = (global[Symbol.for('shipshape.vendor')] ??= new Map<string, unknown>()) as Map<string, unknown>;

/** The exports of a vendored package (`zod`, `yaml`, `commander`, `ssh2`, `node-ssh`), loaded on first use. */
export function vendor(name: string): unknown {
  if (!loaded.has(name)) loaded.set(name, load(name));
  return loaded.get(name);
}

function load(name: string): unknown {
  // two directories deep like this file: the bundle's chunks are dist/src/chunks/
  const file = fileURLToPath(new URL(`../vendor/${name}.cjs`, import.meta.url));
  const script = compile(name, file);
  const module = { exports: {} as unknown };
  // a vendored package another one requires (node-ssh's ssh2) is the vendored copy, anything else Node's
  const nodeRequire = createRequire(file);
  const vendored = new Set(readdirSync(dirname(file)).filter((f) => f.endsWith('.cjs')).map((f) => f.slice(0, -4)));
  const req = Object.assign((id: string) => (vendored.has(id) ? vendor(id) : nodeRequire(id)), nodeRequire);
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, req, module, file, dirname(file));
  return module.exports;
}

/**
 * The file compiled in Node's CommonJS wrapper, with its code cache. Its own function: the file's text read
 * here is not kept by the package's `require` closure (in load's scope it was, for the whole run: 1.6 MB
 * beside the wrapped copy V8 keeps for compiling lazily).
 */
function compile(name: string, file: string): Script {
  const source = readFileSync(file, 'utf8');
  // the build stamps each file with a hash of its content: the cache made for exactly this text (V8 itself
  // compares only the length)
  const stamp = /^\/\/ shipshape vendored ([0-9a-f]+)\n/.exec(source)?.[1];
  const cacheFile = stamp ? file.replace(/\.cjs$/, `.${stamp}.v8cache`) : undefined;
  let cachedData: Buffer | undefined;
  try {
    cachedData = cacheFile ? readFileSync(cacheFile) : undefined;
  } catch {
    cachedData = undefined;
  }
  // the wrapper Node itself puts around a CommonJS file
  const script = withDefaultV8Flags(() => new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData }));
  states[name] = !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  if (process.env.SHIPSHAPE_WRITE_CODE_CACHE === '1' && cacheFile) process.once('exit', () => withDefaultV8Flags(() => writeCache(script, cacheFile)));
  return script;
}

/** At the end of the build's warm-up run: the code of every function the run compiled. */
function writeCache(script: Script, cacheFile: string): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, cacheFile);
}

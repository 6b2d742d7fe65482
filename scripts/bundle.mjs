// Start-up (issue 15): Node 20 spends most of a run's start resolving, reading and compiling ~290
// separate ES modules (zod alone is 95). After tsc has written dist/ (declarations, and per-file
// JavaScript that test helpers import), this bundles the three kinds of entry point over it, at the
// same paths: dist/src/cli/main.js (the CLI, what bin/shipshape runs), dist/src/index.js (the public
// API a project's roles import as 'shipshape') and dist/roles/NAME/index.js (the built-in roles the
// role loader imports). Code they share goes into chunks that all of them import, so every module,
// zod included, exists once per process: a built-in role, the CLI and a project's own role see the
// same defineRole, the same redaction registry, the same zod. The commands' lazy imports stay lazy
// (separate chunks). Packages loaded only on use (listr2, the wizard's prompts, nunjucks, jsdiff, tsx)
// stay outside, loaded from node_modules as before.
//
// zod, yaml and commander are each built apart as one CommonJS file (dist/src/vendor/NAME.cjs) that
// src/cli/vendor-load.ts compiles with V8's code cache (made by scripts/code-cache.mjs after the build):
// in the bundle, `import { z } from 'zod'` reads from a small module that takes the package's exports from
// that loader, once per process.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const root = join(import.meta.dirname, '..');
// a relative folder is taken from the current directory, like any command's argument, and made absolute here:
// esbuild would take it from absWorkingDir (the repository) and the chunk cleanup below compares absolute
// paths, so a relative one matched no written chunk and every chunk was deleted
const outdir = resolve(process.argv[2] ?? join(root, 'dist'));

/** The entry points, relative to the repository (outbase): their outputs replace tsc's files of the same name. */
function entryPoints() {
  const roles = readdirSync(join(root, 'roles'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'roles', d.name, 'index.ts')))
    .map((d) => `roles/${d.name}/index.ts`)
    .sort();
  return ['src/cli/main.ts', 'src/index.ts', ...roles];
}

// zod's \`z.locales\` namespace holds 60-odd translations of its messages (half the bundle's size, all
// compiled at every start); shipshape's messages are English, the locale zod sets by default. A
// project's role could still call z.config(z.locales.en()): only \`en\` is kept.
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir) ? { path: join(args.resolveDir, '..', 'locales', 'en.js'), namespace: 'zod-en' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-en' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, resolveDir: root }));
  },
};

/**
 * The packages compiled from V8's code cache (see src/cli/vendor-load.ts); the source imports no subpath of them.
 * node-ssh's `require('ssh2')` is left to the loader, which hands it the one vendored ssh2.
 */
const VENDORED = ['zod', 'yaml', 'commander', 'ssh2', 'node-ssh'];
// ssh2's optional native parts stay where npm built them: required by their path in node_modules, as ssh2
// itself requires them (in a try: without them ssh2 uses its JavaScript crypto, as before)
const nativeParts = {
  name: 'native-parts',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => ({ path: relative(join(root, 'node_modules'), resolve(args.resolveDir, args.path)).split(sep).join('/'), external: true }));
  },
};
const vendorDir = join(outdir, 'src', 'vendor');
mkdirSync(vendorDir, { recursive: true });
const vendorResults = [];
for (const name of VENDORED) {
  // what `import` of the package gives a module in Node, default export included where there is one
  const hasDefault = 'default' in (await import(name));
  vendorResults.push(
    await build({
      absWorkingDir: root,
      // through the package's import entry (zod's ES build: the English-only plugin applies to it)
      stdin: { contents: `export * from ${JSON.stringify(name)};${hasDefault ? ` export { default } from ${JSON.stringify(name)};` : ''}`, resolveDir: root, sourcefile: `vendored-entry:${name}` },
      outfile: join(vendorDir, `${name}.cjs`),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: [...VENDORED.filter((n) => n !== name), 'cpu-features'],
      plugins: [englishOnlyZod, nativeParts],
      metafile: true,
      logLevel: 'warning',
    }),
  );
}

// V8 checks a cache against its source's length only: each file opens with a hash of its content, which names
// the cache made for it (NAME.HASH.v8cache), so a cache of an earlier build is never taken for this one
for (const name of VENDORED) {
  const file = join(vendorDir, `${name}.cjs`);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, `// shipshape vendored ${createHash('sha256').update(text).digest('hex').slice(0, 16)}\n${text}`);
}
const keep = new Set(VENDORED.map((n) => `${n}.cjs`));
for (const f of readdirSync(vendorDir)) if (!keep.has(f)) rmSync(join(vendorDir, f));

// `import ... from 'zod'` in the bundle: the package's exports, each under its own name, from the loader
const loader = join(root, 'src', 'cli', 'vendor-load.ts');
const vendored = {
  name: 'vendored',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${VENDORED.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'vendored' }));
    b.onLoad({ filter: /.*/, namespace: 'vendored' }, async (args) => {
      const ns = await import(args.path);
      const names = Object.keys(ns).filter((n) => n !== 'default');
      const lines = [`import { vendor } from ${JSON.stringify(loader)};`, `const m = vendor(${JSON.stringify(args.path)});`];
      names.forEach((n, i) => lines.push(`const v${i} = m[${JSON.stringify(n)}];`));
      lines.push(`export { ${names.map((n, i) => `v${i} as ${n}`).join(', ')} };`);
      if ('default' in ns) lines.push('export default m.default;');
      return { contents: lines.join('\n'), resolveDir: root, loader: 'js' };
    });
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: entryPoints(),
  outbase: '.',
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // two directories deep, like the src/ files they hold: a module that finds files relative to its own
  // URL (the role loader's `../../roles/`) finds the same ones from its chunk
  chunkNames: 'src/chunks/[name]-[hash]',
  external: ['nunjucks', 'diff', 'listr2', '@inquirer/*', 'tsx', 'tsx/*'],
  // bundled CommonJS packages (commander, yaml) call require() for Node's own modules
  banner: { js: "import { createRequire as __shipshapeRequire } from 'node:module'; const require = __shipshapeRequire(import.meta.url);" },
  // not minified: stack traces keep the functions' names; `node --enable-source-maps` maps them to src/
  sourcemap: 'linked',
  sourcesContent: false,
  plugins: [englishOnlyZod, vendored],
  metafile: true,
  logLevel: 'warning',
});

// chunks of an earlier build have other hashes: removed once the new ones are written (not before, so a
// CLI already running from dist/ keeps finding the chunks it loads lazily for as long as possible)
const chunks = join(outdir, 'src', 'chunks');
const written = new Set(Object.keys(result.metafile.outputs).map((o) => resolve(root, o)));
for (const f of readdirSync(chunks)) if (!written.has(join(chunks, f))) rmSync(join(chunks, f));

if (process.env.SHIPSHAPE_BUNDLE_META) {
  const { writeFileSync } = await import('node:fs');
  // the vendored packages' inputs and outputs too: the bundle test sees every module in one place
  const meta = { inputs: { ...result.metafile.inputs }, outputs: { ...result.metafile.outputs } };
  for (const r of vendorResults) Object.assign(meta.inputs, r.metafile.inputs), Object.assign(meta.outputs, r.metafile.outputs);
  writeFileSync(process.env.SHIPSHAPE_BUNDLE_META, JSON.stringify(meta));
}

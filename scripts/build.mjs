// Builds dist/:
// - cli-main.cjs: the CLI in one CommonJS file. One file loads faster than hundreds of modules, and
//   CommonJS can be compiled through a V8 code cache on Node 20 (ES modules cannot). Code that only
//   some commands need (YAML plans, JSON Schema checks, the inspector server, the database clients)
//   is in the file but runs only when imported, so a plain run does not pay for it.
// - cli.js: the bin, which loads cli-main.cjs through its code cache (src/cli/bin.cts). It is
//   CommonJS (dist/package.json says so), which Node starts a few ms sooner than an ES module.
// - index.mjs: the library, as ES modules, its on-demand parts in chunks of their own.
// - viewer.js: the viewer page's script, with its layout library: served by the inspector server.
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { CLI_BUNDLE, cliBundleOptions, dependencyStartupPlugin } from './build-options.mjs';

const node = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', legalComments: 'none' };

rmSync('dist', { recursive: true, force: true });
await build(cliBundleOptions);
const cliBundle = readFileSync(CLI_BUNDLE);
// The bin reads the bundle as latin1, which is right only for ASCII: esbuild escapes non-ASCII in
// code, and minifying drops the comments that could hold some.
const nonAscii = cliBundle.findIndex((byte) => byte > 0x7f);
if (nonAscii !== -1) throw new Error(`${CLI_BUNDLE}: non-ASCII byte at offset ${nonAscii}; the bin reads it as latin1`);
await build({
  ...node,
  entryPoints: { cli: 'src/cli/bin.cts' },
  outdir: 'dist',
  format: 'cjs',
  define: { CLI_BUNDLE_HASH: JSON.stringify(createHash('sha256').update(cliBundle).digest('hex').slice(0, 16)) },
  banner: { js: '#!/usr/bin/env node' },
});
writeFileSync('dist/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
await build({
  ...node,
  entryPoints: { index: 'src/index.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  // The library's users get execa without its read of process.stdin at import too.
  plugins: [dependencyStartupPlugin],
  // The application's own OpenTelemetry API (its tracer provider, its active context), not a copy.
  external: ['@opentelemetry/api'],
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
await build({
  entryPoints: ['src/inspect/viewer/main.ts'],
  outfile: 'dist/viewer.js',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  minify: true,
  logLevel: 'warning',
  legalComments: 'none',
});
chmodSync('dist/cli.js', 0o755);

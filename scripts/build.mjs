// Bundles the CLI and the library into dist/: one file each loads faster than hundreds of modules.
// Code that is imported on demand (YAML plans, JSON Schema checks) lands in chunks of its own,
// so a run that does not need it does not load it.
import { chmodSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { cli: 'src/cli/main.ts', index: 'src/index.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  // The bin runs Node with a young generation of 2 MiB, sized for memory: the orchestrator's objects are short-lived
  // (one step's spawn), and V8's default of up to 32 MiB would be most of a long run's peak RSS.
  banner: {
    js: "#!/usr/bin/env -S node --max-semi-space-size=2 --optimize-for-size\nimport { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
// The viewer page's script, with its layout library: served by the inspector server, no network needed.
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

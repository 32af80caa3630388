// Bundles the CLI and the library into dist/: one file each loads faster than hundreds of modules.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

const shared = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
};

await build({
  ...shared,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli.js',
  banner: { js: `#!/usr/bin/env node\n${shared.banner.js}` },
});
await build({ ...shared, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
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

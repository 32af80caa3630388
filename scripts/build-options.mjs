// The esbuild options of the CLI's bundle, shared by the build and by the bench (which rebuilds it
// in memory, with a source map, to say which package the time of each bundled function goes to).
export const CLI_BUNDLE = 'dist/cli-main.cjs';

/** @type {import('esbuild').BuildOptions} */
export const cliBundleOptions = {
  entryPoints: ['src/cli/main.ts'],
  outfile: CLI_BUNDLE,
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
  format: 'cjs',
  // Fewer bytes to read, and no comments: the bundle must be ASCII (the bin reads it as latin1).
  // Short names too: a third less to read and a smaller code cache, a few ms of every start. A
  // source map beside the bundle (not named in it, so Node never loads it) turns the stack traces
  // that --debug prints back into the sources' files and lines (src/cli/debug-stack.ts).
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  sourcemap: 'external',
  sourcesContent: false,
  // The bin hands the bundle its own URL as `__bundle_url`: `import.meta.url` then means what it does in ESM.
  define: { 'import.meta.url': '__bundle_url' },
  // The file is CommonJS's module wrapper around the code, a function expression the bin compiles
  // as it is read: wrapping it at run time made V8 copy the whole 1.4 MB source into the young
  // heap, which took a garbage collection at every start.
  banner: { js: '(function (exports, require, module, __filename, __dirname, __bundle_url) {' },
  footer: { js: '})' },
};

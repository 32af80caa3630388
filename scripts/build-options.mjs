// The esbuild options of the CLI's bundle, shared by the build and by the bench (which rebuilds it
// in memory, with a source map, to say which package the time of each bundled function goes to),
// and the plugin that trims dependencies' startup costs, which the library's bundle uses too.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const CLI_BUNDLE = 'dist/cli-main.cjs';

// `import process from 'node:process'` (and path, tty): a default import of a Node built-in, which
// esbuild's CommonJS output turns into a fresh copy of the module object, every property made a
// getter, in each importing file (execa alone does it ten times). Rewritten to what they are: the
// global `process` is that module's default export, and a default import of path or tty is the
// module itself, as require() returns it.
const NODE_DEFAULT_IMPORT = /^import ([A-Za-z_$][\w$]*) from ['"]node:(process|path|tty)['"];?[ \t]*$/gm;
const LAZY_STREAMS = [
  "// Rewritten by autonomy-orchestrator's build (scripts/build-options.mjs): each stream is read at its first use.",
  "export const STANDARD_STREAMS = ['stdin', 'stdout', 'stderr'].reduce(",
  '\t(streams, name, index) => Object.defineProperty(streams, index, {get: () => process[name], enumerable: true}),',
  '\t[],',
  ');',
].join('\n');

// Exact rewrites of dependencies' files, by the end of their path: each `from` must be found once.
const REWRITES = [
  {
    // execa reads process.stdin when it is imported, which makes Node open the stdin stream (and
    // load the modules of a file or socket stream) in every run, though no program of a run reads it.
    file: 'execa/lib/utils/standard-stream.js',
    edits: [['export const STANDARD_STREAMS = [process.stdin, process.stdout, process.stderr];', LAZY_STREAMS]],
  },
  {
    // The signal names' table (human-signals) is built at import; execa reads it only to describe
    // a program killed by a signal. A require() makes esbuild initialise it at that first use.
    file: 'execa/lib/terminate/signal.js',
    edits: [
      ["import {signalsByName} from 'human-signals';", ''],
      ['signalsByName[signal].description', "require('human-signals').signalsByName[signal].description"],
    ],
  },
  {
    // execa's `verbose` line formatter loads figures and yoctocolors, which build their symbol
    // and colour tables at import (a fifth of a MiB of garbage at every start); the orchestrator
    // never sets `verbose`.
    file: 'execa/lib/verbose/log.js',
    edits: [
      ["import {defaultVerboseFunction} from './default.js';", ''],
      ['defaultVerboseFunction(verboseObject)', "require('./default.js').defaultVerboseFunction(verboseObject)"],
    ],
  },
];

/**
 * Startup costs of dependencies, removed as esbuild reads their files. Each rewrite keeps what the
 * code does; one whose text is not found fails the build, so that an upgrade is looked at again
 * instead of shipping without it.
 * @type {import('esbuild').Plugin}
 */
export const dependencyStartupPlugin = {
  name: 'dependency-startup',
  setup(build) {
    const rewritten = new Set();
    build.onStart(() => {
      rewritten.clear();
    });
    build.onLoad({ filter: /[\\/]node_modules[\\/].*\.m?js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      let contents = source.replace(NODE_DEFAULT_IMPORT, (_line, name, builtin) =>
        builtin === 'process' ? (name === 'process' ? '' : `const ${name} = process;`) : `const ${name} = require('node:${builtin}');`);
      const rewrite = REWRITES.find(({ file }) => path.replaceAll('\\', '/').endsWith(`/node_modules/${file}`));
      if (rewrite) {
        for (const [from, to] of rewrite.edits) {
          if (contents.split(from).length !== 2) throw new Error(`${path}: expected "${from}" once; look at scripts/build-options.mjs again`);
          contents = contents.replace(from, () => to);
        }
        rewritten.add(rewrite.file);
      }
      return contents === source ? undefined : { contents, loader: 'js', resolveDir: dirname(path) };
    });
    build.onEnd((result) => {
      const missed = REWRITES.filter(({ file }) => !rewritten.has(file)).map(({ file }) => file);
      if (result.errors.length === 0 && missed.length > 0) {
        return { errors: [{ text: `not bundled from where scripts/build-options.mjs expects: ${missed.join(', ')}` }] };
      }
      return undefined;
    });
  },
};

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
  plugins: [dependencyStartupPlugin],
  // The queue engine (a MiB of its own) and its cron parser are loaded from node_modules, and only
  // by the queue commands: every other start would read them for nothing. So is OpenTelemetry,
  // only when an OTLP endpoint is set (src/cli/trace-export.ts).
  external: ['bullmq', 'cron-parser', '@opentelemetry/*'],
  // An import() of one of those becomes a require() at that moment: the bundle runs as a vm.Script,
  // whose own dynamic import goes through an experimental loader that warns on stderr.
  supported: { 'dynamic-import': false },
  footer: { js: '})' },
};

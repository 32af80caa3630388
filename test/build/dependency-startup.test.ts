// The build rewrites a few of its dependencies' files as it bundles them (scripts/build-options.mjs)
// so that a run starts sooner. These tests bundle the real files with the same plugin and run the
// result in a node of its own: what execa does must be unchanged, and a dependency whose text no
// longer matches must stop the build rather than ship without the rewrite.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { dependencyStartupPlugin } from '../../scripts/build-options.mjs';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'dependency-startup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function bundle(contents: string, resolveDir: string): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir, sourcefile: 'entry.mjs', loader: 'js' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
    plugins: [dependencyStartupPlugin],
  });
  return result.outputFiles[0]!.text;
}

/** Runs `script` (CommonJS) beside the bundle in a fresh node; returns its JSON line and its stderr. */
function runBeside(name: string, bundled: string, script: string): { result: Record<string, unknown>; stderr: string } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bundle.cjs'), bundled);
  writeFileSync(join(dir, 'main.cjs'), script);
  const run = spawnSync(process.execPath, [join(dir, 'main.cjs')], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  expect(run.status, run.stderr).toBe(0);
  return { result: JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>, stderr: run.stderr };
}

describe('the build rewrites of dependencies', () => {
  it('leaves execa working as before, and no longer reading process.stdin when it is imported', async () => {
    const execaLib = join(root, 'node_modules/execa/lib');
    const bundled = await bundle(
      [
        `export { STANDARD_STREAMS, isStandardStream } from ${JSON.stringify(join(execaLib, 'utils/standard-stream.js'))};`,
        `export { getSignalDescription } from ${JSON.stringify(join(execaLib, 'terminate/signal.js'))};`,
        "export { execa } from 'execa';",
      ].join('\n'),
      root,
    );
    const { result, stderr } = runBeside('execa', bundled, `
      const stdin = Object.getOwnPropertyDescriptor(process, 'stdin');
      let stdinReads = 0;
      Object.defineProperty(process, 'stdin', { ...stdin, get() { stdinReads += 1; return stdin.get.call(process); } });
      const m = require('./bundle.cjs');
      const readsAtImport = stdinReads;
      (async () => {
        const child = await m.execa('/bin/echo', ['hello'], { verbose: 'short', stdin: 'ignore' });
        console.log(JSON.stringify({
          readsAtImport,
          length: m.STANDARD_STREAMS.length,
          stdinFirst: m.STANDARD_STREAMS[0] === process.stdin,
          stdoutIsStandard: m.isStandardStream(process.stdout),
          stderrIndex: m.STANDARD_STREAMS.indexOf(process.stderr),
          otherIsStandard: m.isStandardStream({}),
          sigterm: m.getSignalDescription('SIGTERM'),
          childOutput: child.stdout,
        }));
      })();
    `);
    expect(result).toEqual({
      readsAtImport: 0,
      length: 3,
      stdinFirst: true,
      stdoutIsStandard: true,
      stderrIndex: 2,
      otherIsStandard: false,
      sigterm: 'Termination',
      childOutput: 'hello',
    });
    // The verbose line still goes through figures and yoctocolors, loaded at that first use.
    const plain = stripVTControlCharacters(stderr);
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] \[0\] \$ \/bin\/echo hello$/m);
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] \[0\] [✔√] \(done in \d+m?s\)$/m);
  });

  it('turns default imports of node:process, node:path and node:tty into the modules themselves', async () => {
    const project = join(work, 'defaults');
    mkdirSync(join(project, 'node_modules/dep'), { recursive: true });
    writeFileSync(join(project, 'node_modules/dep/package.json'), JSON.stringify({ name: 'dep', type: 'module', main: 'index.js' }));
    writeFileSync(join(project, 'node_modules/dep/index.js'), [
      "import proc from 'node:process';",
      "import process from 'node:process';",
      "import path from 'node:path';",
      "import tty from 'node:tty';",
      'export const seen = [proc === globalThis.process, process === globalThis.process, path.join("a", "b"), typeof tty.isatty, path === require("node:path")];',
    ].join('\n'));
    // The plugin insists on its execa files: this project bundles the real ones too.
    const bundled = await bundle(`export { seen } from 'dep'; import ${JSON.stringify(join(root, 'node_modules/execa/index.js'))};`, project);
    const { result } = runBeside('defaults', bundled, "console.log(JSON.stringify({ seen: require('./bundle.cjs').seen }));");
    expect(result).toEqual({ seen: [true, true, join('a', 'b'), 'function', true] });
  });

  it('stops the build when a rewritten file no longer holds the text it expects', async () => {
    const project = join(work, 'changed');
    const streams = join(project, 'node_modules/execa/lib/utils');
    mkdirSync(streams, { recursive: true });
    writeFileSync(join(project, 'node_modules/execa/package.json'), JSON.stringify({ name: 'execa', type: 'module' }));
    writeFileSync(join(streams, 'standard-stream.js'), 'export const STANDARD_STREAMS = [process.stdin];\n');
    await expect(bundle("import './node_modules/execa/lib/utils/standard-stream.js';", project))
      .rejects.toThrow(/standard-stream\.js: expected "export const STANDARD_STREAMS = \[process\.stdin, process\.stdout, process\.stderr\];" once/);
  });

  it('stops the build when a file it rewrites is not bundled at all', async () => {
    await expect(bundle('export const x = 1;', root))
      .rejects.toThrow(/not bundled from where scripts\/build-options\.mjs expects: execa\/lib\/utils\/standard-stream\.js, execa\/lib\/terminate\/signal\.js, execa\/lib\/verbose\/log\.js/);
  });
});

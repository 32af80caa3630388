// Runs dist/cli.js inside a process that notes when things happen, for the CLI time breakdown.
// Usage: node bench/cli-probe.mjs <path/to/cli.js> [cli args...]
// Prints one JSON line to fd 3 at exit: absolute times (ms since the epoch, high resolution).
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const origin = performance.timeOrigin;
const userCodeAt = performance.now();
const [, , cli, ...args] = process.argv;
process.argv = [process.argv[0], cli, ...args];
let loadedAt = 0;
process.on('exit', () => {
  const exitAt = performance.now();
  // The CLI exits as soon as its work is done: a command that finishes in the microtasks after
  // the bundle ran (--version) has exited before import() resolved, so all of it was loading.
  if (loadedAt === 0) loadedAt = exitAt;
  const line = JSON.stringify({ origin, userCodeAt, loadedAt, exitAt, exitCode: process.exitCode ?? 0 });
  writeSync(3, `${line}\n`);
});
await import(pathToFileURL(cli).href);
loadedAt = performance.now();

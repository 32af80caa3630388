// The yardstick for a step: `node bench/spawn-loop.mjs N BIN [ARGS...]` runs BIN N times, one after
// the other, with a bare child_process.spawn (stdio ignored), and prints the loop's milliseconds.
import { spawn } from 'node:child_process';

const [count, bin, ...args] = process.argv.slice(2);
const n = Number(count);
const started = performance.now();
for (let i = 0; i < n; i++) {
  await new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', resolve);
  });
}
process.stdout.write(`${performance.now() - started}\n`);

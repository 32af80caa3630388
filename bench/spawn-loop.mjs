// The yardsticks for a step:
//   node bench/spawn-loop.mjs [--parallel P] [--execa DIR] N BIN [ARGS...]
// runs BIN N times, P at a time (default 1), and prints the loop's milliseconds. By default each
// run is a bare child_process.spawn (stdio ignored). With --execa DIR each is an execa call with the
// options a stage's program gets (its own process group, no cleanup hook, no buffering, stdout and
// stderr into two files created in DIR for the call, the environment copied once): what a step
// costs before any of the orchestrator's own work.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

const argv = process.argv.slice(2);
let parallel = 1;
let execaDir = null;
while (argv[0]?.startsWith('--')) {
  const flag = argv.shift();
  if (flag === '--parallel') parallel = Number(argv.shift());
  else if (flag === '--execa') execaDir = argv.shift();
  else throw new Error(`spawn-loop: unknown flag ${flag}`);
}
const [count, bin, ...args] = argv;
const n = Number(count);
const { execa } = execaDir === null ? { execa: null } : await import('execa');
const inherited = { ...process.env };

const bare = () =>
  new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', resolve);
  });
const viaExeca = async (i) => {
  const out = openSync(join(execaDir, `${i}.stdout.log`), 'w', 0o600);
  const err = openSync(join(execaDir, `${i}.stderr.log`), 'w', 0o600);
  try {
    await execa(bin, args, { env: { ...inherited, ORCHESTRATOR_STEP: String(i) }, extendEnv: false, detached: true, cleanup: false, reject: false, stdin: 'ignore', stdout: out, stderr: err });
  } finally {
    closeSync(out);
    closeSync(err);
  }
};
const one = execa === null ? bare : viaExeca;

const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(parallel, n) }, async () => {
    while (next < n) await one(next++);
  }),
);
process.stdout.write(`${performance.now() - started}\n`);

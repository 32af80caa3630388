/**
 * Writes the sample checkpoints of the current schema version in snapshots/checkpoints/ from real runs of the built
 * CLI. Run once when the checkpoint schema version changes (keep the old samples: they must go
 * on resuming), after `node scripts/build.mjs`:
 *
 *   node --import tsx test/checkpoint/make-samples.ts
 *
 * The V0 samples (v0-*.json) are written by hand in V0's format and are not touched here.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_SCHEMA_VERSION } from '../../src/checkpoint/schema.js';
import { ROOT, STAGE, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

const OUT = join(ROOT, 'snapshots', 'checkpoints');

interface Sample {
  name: string;
  executor: string[];
  extra?: string[];
  expectExit: number;
  /** Stop the run with this signal once the executor has started. */
  interruptWith?: NodeJS.Signals;
}

const SAMPLES: Sample[] = [
  { name: `v${CHECKPOINT_SCHEMA_VERSION}-done`, executor: ['ok'], expectExit: 0 },
  { name: `v${CHECKPOINT_SCHEMA_VERSION}-failed-at-execution`, executor: ['fail', '7'], expectExit: 1 },
  { name: `v${CHECKPOINT_SCHEMA_VERSION}-blocked`, executor: ['ok'], extra: ['--simulate-blocked'], expectExit: 3 },
  {
    name: `v${CHECKPOINT_SCHEMA_VERSION}-interrupted-in-execution`,
    executor: ['started-then-sleep'],
    expectExit: 143,
    interruptWith: 'SIGTERM',
  },
];

async function makeSample(sample: Sample): Promise<void> {
  const dir = tempDir('ao-sample-');
  const started = join(dir, 'executor-started');
  const executorArgs = sample.executor[0] === 'started-then-sleep' ? [...sample.executor, started] : sample.executor;
  const args = [
    dir,
    '--kill-grace-ms',
    '300',
    '--manager-bin',
    STAGE,
    '--manager-arg',
    'ok',
    '--executor-bin',
    STAGE,
    ...executorArgs.flatMap((arg) => ['--executor-arg', arg]),
    ...(sample.extra ?? []),
  ];
  let exitCode: number | null;
  if (sample.interruptWith) {
    const run = startCli(args);
    await waitFor(() => existsSync(started), 10_000, 'the executor to start');
    run.child.kill(sample.interruptWith);
    exitCode = (await run.done).exitCode;
  } else {
    exitCode = (await runCli(args)).exitCode;
  }
  if (exitCode !== sample.expectExit) throw new Error(`${sample.name}: exit ${exitCode}, expected ${sample.expectExit}`);
  // Run-specific absolute paths would tie the sample to this machine; none is needed to resume.
  const text = readFileSync(join(dir, 'orchestrator_checkpoint.json'), 'utf8')
    .replaceAll(dir, '/tmp/ao-sample')
    .replaceAll(ROOT, '/work/autonomy-orchestrator');
  JSON.parse(text);
  writeFileSync(join(OUT, `${sample.name}.json`), text);
  process.stdout.write(`wrote ${join(OUT, `${sample.name}.json`)}\n`);
}

mkdirSync(OUT, { recursive: true });
for (const sample of SAMPLES) await makeSample(sample);

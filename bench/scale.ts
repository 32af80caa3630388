/**
 * `npm run bench:scale`: costs that must not grow with a run's length, as ratios measured in one run.
 *
 *   1. per-step cost of a plan of N trivial steps (/bin/true) vs one of 100 steps (target <= 1.2x);
 *      per-step = (wall of the run - wall of a run with no steps) / steps
 *   2. resuming an N-step run with N-1 steps done: time from the CLI's spawn to its last step's
 *      start, vs a fresh run's time to its first step's start
 *   3. peak RSS of the N-step run (/usr/bin/time %M, else the report's maxRSS), target <= 100 MiB
 *
 * Flags: --steps N (default 10000), --smoke (N = 1000; exits 1 only when a figure is far past
 * its target), --json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const json = args.includes('--json');
const stepsAt = args.indexOf('--steps');
const N = stepsAt >= 0 ? Number(args[stepsAt + 1]) : smoke ? 1000 : 10_000;
const SMALL = 100;
const TARGET = { perStepRatio: 1.2, resumeRatio: 2, rssMiB: 100 };
const FAR = { perStepRatio: 4, resumeRatio: 10, rssMiB: 300 };
const TIME = '/usr/bin/time';
const log = (message: string) => process.stderr.write(`bench:scale: ${message}\n`);

const work = mkdtempSync(join(tmpdir(), 'ao-bench-scale-'));

interface Run {
  wallMs: number;
  exitCode: number | null;
  maxRssKib: number;
  checkpointBytes: number;
  reportBytes: number;
}

function planOf(n: number, options: { lastNeedsApproval?: boolean; stampFirst?: string; stampLast?: string } = {}) {
  const steps = Array.from({ length: n }, (_, i) => {
    const stamp = i === 0 ? options.stampFirst : i === n - 1 ? options.stampLast : undefined;
    if (stamp) return { id: `s${i}`, bin: 'sh', args: ['-c', `date +%s%N > ${stamp}`], requiresApproval: i === n - 1 && !!options.lastNeedsApproval };
    return { id: `s${i}`, bin: '/bin/true' };
  });
  return { stages: { execution: steps } };
}

function runCli(name: string, argv: string[]): Run {
  const out = join(work, name);
  const timeOut = join(work, `${name}.time`);
  const command = [process.execPath, cli, ...argv];
  const started = performance.now();
  const result = existsSync(TIME)
    ? spawnSync(TIME, ['-f', '%M', '-o', timeOut, ...command], { stdio: 'ignore' })
    : spawnSync(command[0]!, command.slice(1), { stdio: 'ignore' });
  const wallMs = performance.now() - started;
  const report = existsSync(join(out, 'orchestrator_run_report.json'))
    ? (JSON.parse(readFileSync(join(out, 'orchestrator_run_report.json'), 'utf8')) as { orchestrator_max_rss_kib: number })
    : null;
  const timeKib = existsSync(timeOut) ? Number(readFileSync(timeOut, 'utf8').trim().split('\n').pop()) : NaN;
  const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);
  return {
    wallMs,
    exitCode: result.status,
    maxRssKib: Number.isFinite(timeKib) ? timeKib : (report?.orchestrator_max_rss_kib ?? 0),
    checkpointBytes: size(join(out, 'orchestrator_checkpoint.json')),
    reportBytes: size(join(out, 'orchestrator_run_report.json')),
  };
}

function freshRun(name: string, n: number, extra: Parameters<typeof planOf>[1] = {}): Run {
  const plan = join(work, `${name}.plan.json`);
  writeFileSync(plan, JSON.stringify(planOf(n, extra)));
  return runCli(name, [join(work, name), '--plan', plan]);
}

/** The run of median wall time (its other figures come with it). */
function medianRun(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(runs.length / 2)]!;
}

const stampMs = (path: string) => Number(BigInt(readFileSync(path, 'utf8').trim()) / 1_000_000n);

try {
  log(`node ${process.version}; ${SMALL} vs ${N} steps${smoke ? ' (smoke)' : ''}; work dir ${work}`);
  // The first run after a build writes the bin's code cache: a warm-up, not a sample. The short
  // runs are cheap, so each is the median of several, interleaved; the long run is one.
  freshRun('warmup', 0);
  const empties: Run[] = [];
  const smalls: Run[] = [];
  for (let i = 0; i < 5; i++) {
    empties.push(freshRun(`empty${i}`, 0));
    smalls.push(freshRun(`small${i}`, SMALL));
  }
  const empty = medianRun(empties);
  const small = medianRun(smalls);
  log(`${SMALL} steps: ${small.wallMs.toFixed(0)} ms (median of 5); now ${N} steps...`);
  const big = freshRun('big', N);
  const perStep = (run: Run, n: number) => (run.wallMs - empty.wallMs) / n;
  const perStepRatio = perStep(big, N) / perStep(small, SMALL);

  log(`resume: ${N - 1} steps done, the last waits for an approval...`);
  const firstStamp = join(work, 'first.stamp');
  const lastStamp = join(work, 'last.stamp');
  const fresh0 = Date.now();
  const freshHalt = freshRun('resume', N, { stampFirst: firstStamp, lastNeedsApproval: true, stampLast: lastStamp });
  const toFirstStepMs = stampMs(firstStamp) - fresh0;
  const resumePlan = join(work, 'resume.plan.json');
  spawnSync(process.execPath, [cli, 'approve', join(work, 'resume'), '--gate', `step:execution/s${N - 1}`], { stdio: 'ignore' });
  const resume0 = Date.now();
  const resumed = runCli('resume', [join(work, 'resume'), '--plan', resumePlan, '--resume']);
  const toLastStepMs = stampMs(lastStamp) - resume0;
  const resumeRatio = toLastStepMs / toFirstStepMs;

  const results = {
    steps: { small: SMALL, big: N },
    wallMs: { empty: empty.wallMs, small: small.wallMs, big: big.wallMs },
    perStepMs: { small: perStep(small, SMALL), big: perStep(big, N) },
    perStepRatio,
    checkpointBytes: { small: small.checkpointBytes, big: big.checkpointBytes },
    reportBytes: { small: small.reportBytes, big: big.reportBytes },
    resume: { freshToFirstStepMs: toFirstStepMs, resumeToLastStepMs: toLastStepMs, ratio: resumeRatio, haltExit: freshHalt.exitCode, resumeExit: resumed.exitCode },
    maxRssMiB: { small: small.maxRssKib / 1024, big: big.maxRssKib / 1024 },
  };
  const verdict = (value: number, target: number, far: number) => (value <= target ? 'PASS' : value <= far ? 'MISS' : 'FAR');
  const verdicts = {
    perStepRatio: verdict(perStepRatio, TARGET.perStepRatio, FAR.perStepRatio),
    resumeRatio: verdict(resumeRatio, TARGET.resumeRatio, FAR.resumeRatio),
    rss: verdict(results.maxRssMiB.big, TARGET.rssMiB, FAR.rssMiB),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify({ smoke, targets: TARGET, far: FAR, verdicts, ...results }, null, 2)}\n`);
  } else {
    const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    console.log(`per-step cost   ${results.perStepMs.small.toFixed(2)} ms (${SMALL} steps) vs ${results.perStepMs.big.toFixed(2)} ms (${N} steps): ${perStepRatio.toFixed(2)}x, target <= ${TARGET.perStepRatio}x  ${verdicts.perStepRatio}`);
    console.log(`  (walls: no steps ${empty.wallMs.toFixed(0)} ms, ${SMALL} steps ${small.wallMs.toFixed(0)} ms, ${N} steps ${big.wallMs.toFixed(0)} ms)`);
    console.log(`  final checkpoint ${kb(small.checkpointBytes)} vs ${kb(big.checkpointBytes)} (durable at every step: a journal line within a stage, whole at stage changes), report ${kb(small.reportBytes)} vs ${kb(big.reportBytes)} (rewritten at stage changes, at the end, and in between at most once per 20x its last write time)`);
    console.log(`resume          ${toLastStepMs} ms to start step ${N} of ${N} (${N - 1} done) vs ${toFirstStepMs} ms for a fresh run to start its first: ${resumeRatio.toFixed(2)}x, target <= ${TARGET.resumeRatio}x  ${verdicts.resumeRatio}`);
    console.log(`peak RSS        ${results.maxRssMiB.small.toFixed(1)} MiB (${SMALL} steps), ${results.maxRssMiB.big.toFixed(1)} MiB (${N} steps), target <= ${TARGET.rssMiB} MiB  ${verdicts.rss}`);
  }
  const far = Object.entries(verdicts).filter(([, v]) => v === 'FAR');
  if (smoke && far.length > 0) {
    log(`FAR past target: ${far.map(([k]) => k).join(', ')}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

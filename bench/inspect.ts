/**
 * `npm run bench:inspect`: what `--inspect` costs a long run, and how the viewer copes with it,
 * as figures measured in one run (ratios against the same run without `--inspect`).
 *
 *   1. wall of an N-step plan (/bin/true steps) with and without --inspect, and their ratio
 *   2. the exit tail: from the end of the last step to the CLI's exit, with and without
 *   3. while the --inspect run goes: the latency of `GET /` and `GET /api/report` (median, max),
 *      and in Chromium (when /usr/bin/chromium or CHROMIUM_PATH is there) the time from opening
 *      the page to the graph showing `execution` active
 *   4. a replay of that run (`inspect <dir>`) in Chromium: from opening the page to ready
 *   5. a replay of a 10,000-step run (`inspect <dir> --plan`; its records are copies of a real run's,
 *      test/support/big-run.ts) in Chromium: ready, and one move of its clock
 *
 * Flags: --steps N (default 1000), --replay-steps M (default 10000), --json. Start-up figures are taken with NODE_EXTRA_CA_CERTS unset.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const args = process.argv.slice(2);
const json = args.includes('--json');
const stepsAt = args.indexOf('--steps');
const N = stepsAt >= 0 ? Number(args[stepsAt + 1]) : 1000;
const replayStepsAt = args.indexOf('--replay-steps');
const M = replayStepsAt >= 0 ? Number(args[replayStepsAt + 1]) : 10_000;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const log = (message: string) => process.stderr.write(`bench:inspect: ${message}\n`);
const work = mkdtempSync(join(tmpdir(), 'ao-bench-inspect-'));
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

interface Outcome {
  wallMs: number;
  exitAtMs: number;
  exitCode: number | null;
  stderr: string;
}

function start(argv: string[], onStderr: (text: string) => void = () => {}) {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    onStderr(stderr);
  });
  const done = new Promise<Outcome>((resolve) =>
    child.on('close', (exitCode) => resolve({ wallMs: performance.now() - started, exitAtMs: Date.now(), exitCode, stderr })),
  );
  return { child, done };
}

/** From the end of the last execution (the report's own times) to the process's exit. */
function exitTailMs(dir: string, exitAtMs: number): number {
  const report = JSON.parse(readFileSync(join(dir, 'orchestrator_run_report.json'), 'utf8')) as {
    stage_executions: { started_at_unix_ms: number; duration_ms: number }[];
  };
  const end = Math.max(...report.stage_executions.map((e) => e.started_at_unix_ms + e.duration_ms));
  return exitAtMs - end;
}

const urlOf = (stderr: string) => /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(stderr)?.[1] ?? null;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function timed(url: string): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  return performance.now() - t0;
}

async function browser() {
  if (!existsSync(CHROMIUM)) {
    log(`no Chromium at ${CHROMIUM}: the page timings are left out`);
    return null;
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

try {
  const plan = join(work, 'plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, stages: { execution: Array.from({ length: N }, (_, i) => ({ id: `s${i}`, bin: '/bin/true' })) } }));
  log(`node ${process.version}; ${N} steps; work dir ${work}`);
  await start([join(work, 'warmup'), '--plan', plan]).done; // writes the bin's code cache

  log('without --inspect...');
  const plainDir = join(work, 'plain');
  const plain = await start([plainDir, '--plan', plan]).done;

  log('with --inspect, polling the server and opening the page while it runs...');
  const chromium = await browser();
  const liveDir = join(work, 'live');
  let url: string | null = null;
  const live = start([liveDir, '--plan', plan, '--inspect'], (stderr) => (url ??= urlOf(stderr)));
  while (url === null) await new Promise((r) => setTimeout(r, 5));
  const pageLatencies: number[] = [];
  const reportLatencies: number[] = [];
  let ended = false;
  void live.done.then(() => (ended = true));
  const polling = (async () => {
    while (!ended) {
      try {
        pageLatencies.push(await timed(url!));
        reportLatencies.push(await timed(new URL(`/api/report?token=${new URL(url!).searchParams.get('token')}`, url!).href));
      } catch {
        break; // the server stopped with the run
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  let pageUsableMs: number | null = null;
  if (chromium) {
    const page = await chromium.newPage();
    const t0 = performance.now();
    try {
      await page.goto(url);
      await page.locator('#state-execution.active, #state-done.active').first().waitFor({ timeout: 120_000 });
      pageUsableMs = performance.now() - t0;
    } catch (error) {
      log(`the live page did not show the run: ${String(error)}`);
    }
    await page.close();
  }
  const inspected = await live.done;
  await polling;

  let replayReadyMs: number | null = null;
  if (chromium) {
    log('replaying the --inspect run...');
    let replayUrl: string | null = null;
    const replay = start(['inspect', liveDir], (stderr) => (replayUrl ??= urlOf(stderr)));
    while (replayUrl === null) await new Promise((r) => setTimeout(r, 5));
    const page = await chromium.newPage();
    const t0 = performance.now();
    await page.goto(replayUrl);
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached', timeout: 120_000 });
    replayReadyMs = performance.now() - t0;
    await page.close();
    replay.child.kill('SIGINT');
    await replay.done;
  }

  let bigReplay: { readyMs: number; clockMs: number } | null = null;
  if (chromium) {
    log(`replaying a ${M}-step run...`);
    const { bigRun } = await import('../test/support/big-run.js');
    const { out, planPath } = await bigRun(join(work, 'big'), M);
    let replayUrl: string | null = null;
    const replay = start(['inspect', out, '--plan', planPath], (stderr) => (replayUrl ??= urlOf(stderr)));
    while (replayUrl === null) await new Promise((r) => setTimeout(r, 5));
    const page = await chromium.newPage();
    const t0 = performance.now();
    await page.goto(replayUrl);
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached', timeout: 120_000 });
    const readyMs = performance.now() - t0;
    const t1 = performance.now();
    await page.locator('#time').fill(String(Math.round(Number(await page.locator('#time').getAttribute('max')) / 2)));
    await page.locator('#stages .progress').first().textContent();
    bigReplay = { readyMs, clockMs: performance.now() - t1 };
    await page.close();
    replay.child.kill('SIGINT');
    await replay.done;
  }
  await chromium?.close();

  const results = {
    steps: N,
    wallMs: { plain: plain.wallMs, inspect: inspected.wallMs },
    inspectRatio: inspected.wallMs / plain.wallMs,
    exitTailMs: { plain: exitTailMs(plainDir, plain.exitAtMs), inspect: exitTailMs(liveDir, inspected.exitAtMs) },
    exitCodes: { plain: plain.exitCode, inspect: inspected.exitCode },
    duringRun: {
      getPage: { samples: pageLatencies.length, medianMs: median(pageLatencies), maxMs: Math.max(...pageLatencies) },
      getReport: { samples: reportLatencies.length, medianMs: median(reportLatencies), maxMs: Math.max(...reportLatencies) },
      pageUsableMs,
    },
    replayReadyMs,
    bigReplay: bigReplay ? { steps: M, ...bigReplay } : null,
  };
  if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    const ms = (n: number | null) => (n === null ? 'n/a' : `${n.toFixed(0)} ms`);
    console.log(`${N} steps: ${ms(plain.wallMs)} plain, ${ms(inspected.wallMs)} with --inspect (${results.inspectRatio.toFixed(2)}x)`);
    console.log(`exit tail (last step's end to exit): ${ms(results.exitTailMs.plain)} plain, ${ms(results.exitTailMs.inspect)} with --inspect`);
    const { getPage, getReport } = results.duringRun;
    console.log(`during the run: GET / median ${ms(getPage.medianMs)} max ${ms(getPage.maxMs)} (${getPage.samples} samples); GET /api/report median ${ms(getReport.medianMs)} max ${ms(getReport.maxMs)}`);
    console.log(`live page shows the run after ${ms(pageUsableMs)}; a replay of the run is ready after ${ms(replayReadyMs)}`);
    if (bigReplay) console.log(`a ${M}-step replay is ready after ${ms(bigReplay.readyMs)}; a move of its clock takes ${ms(bigReplay.clockMs)}`);
  }
  if (plain.exitCode !== 0 || inspected.exitCode !== 0) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}

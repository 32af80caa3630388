/**
 * Metric 4 (issue "a step costs what a spawn costs"): what a step costs, beside what the same
 * programs cost without the orchestrator, measured interleaved in one run (each round runs every
 * variant once, in shuffled order; figures are medians over rounds). Every process runs with
 * NODE_EXTRA_CA_CERTS unset, as on a user's machine.
 *
 *   trivial   N steps of /bin/true in one stage, concurrency 1:
 *             (CLI run of N steps - CLI run of no steps) / N   vs   a bare child_process.spawn loop / N
 *   sleeping  the same with `/bin/sleep 0.05`: the overhead a step adds around a program that takes time
 *   parallel  M steps of `/bin/sleep 0.05` at --concurrency 8: CLI run - CLI run of no steps
 *             vs   `xargs -P 8 -n 1 /bin/sleep` over the same M arguments
 *   floors    what Node itself gets to, printed beside: the trivial loop with execa called as a stage
 *             calls it (log files, own process group: a step before any of the orchestrator's own
 *             work), and the parallel one as a bare child_process.spawn loop 8 at a time
 *   plan      a 40,000-step plan (JSON, and the same as YAML) whose first step fails, so the run is
 *             mostly loading it: wall time and peak RSS of the CLI, beside `node` reading and
 *             JSON.parse-ing the same JSON file
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { median, shuffled } from './stats.js';

export interface StepsOptions {
  rounds: number;
  trivialSteps: number;
  sleepingSteps: number;
  parallelSteps: number;
  planSteps: number;
}

export interface PerStep {
  steps: number;
  /** median over rounds of (CLI run - empty CLI run) / steps */
  cliMs: number;
  /** median over rounds of the bare spawn loop / steps */
  rawMs: number;
  /** cliMs - rawMs */
  extraMs: number;
  /** median over rounds of an execa loop (a stage's options) / steps: the floor execa sets */
  execaMs?: number;
  /** each round's own (cli - empty) / steps - raw / steps, min and max */
  roundExtraMin: number;
  roundExtraMax: number;
}

export interface StepsResult {
  rounds: number;
  emptyRunMs: number;
  trivial: PerStep;
  sleeping: PerStep;
  parallel: {
    steps: number;
    cliMs: number;
    xargsMs: number;
    ratio: number;
    wholeRatio: number;
    roundRatioMin: number;
    roundRatioMax: number;
    /** a bare child_process.spawn loop, 8 at a time, over the same steps: Node's own floor */
    nodeMs: number;
  };
  plan: {
    steps: number;
    json: { wallMs: number; maxRssMiB: number; exitCode: number | null };
    yaml: { wallMs: number; maxRssMiB: number; exitCode: number | null };
    /** node reading and JSON.parse-ing the JSON plan */
    parseOnly: { wallMs: number; maxRssMiB: number };
  };
}

const TIME = '/usr/bin/time';
const SLEEP = existsSync('/bin/sleep') ? '/bin/sleep' : '/usr/bin/sleep';

export function measureSteps(root: string, opts: StepsOptions): StepsResult {
  const cli = join(root, 'dist', 'cli.js');
  const work = mkdtempSync(join(tmpdir(), 'ao-bench-steps-'));
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  let seq = 0;
  try {
    const planFile = (name: string, steps: object[], concurrency = 1) => {
      const path = join(work, `${name}.plan.json`);
      writeFileSync(path, JSON.stringify({ concurrency, stages: { execution: steps } }));
      return path;
    };
    const steps = (n: number, bin: string, args: string[] = []) => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, bin, args }));
    const plans = {
      empty: planFile('empty', []),
      trivial: planFile('trivial', steps(opts.trivialSteps, '/bin/true')),
      sleeping: planFile('sleeping', steps(opts.sleepingSteps, SLEEP, ['0.05'])),
      parallel: planFile('parallel', steps(opts.parallelSteps, SLEEP, ['0.05']), 8),
    };
    const wall = (command: string, args: string[], input?: string): { ms: number; stdout: string } => {
      const started = performance.now();
      const result = spawnSync(command, args, { env, input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'ignore'], encoding: 'utf8' });
      const ms = performance.now() - started;
      if (result.status !== 0) throw new Error(`bench: ${command} ${args.slice(0, 3).join(' ')} exited ${result.status}`);
      return { ms, stdout: result.stdout };
    };
    const runCli = (plan: string) => {
      const out = join(work, `o${++seq}`);
      const { ms } = wall(process.execPath, [cli, out, '--plan', plan]);
      rmSync(out, { recursive: true, force: true });
      return ms;
    };
    const loop = (n: number, bin: string, args: string[], flags: string[] = []) =>
      Number(wall(process.execPath, [join(root, 'bench', 'spawn-loop.mjs'), ...flags, String(n), bin, ...args]).stdout.trim());
    const logs = join(work, 'execa-logs');
    mkdirSync(logs);
    const xargs = (n: number) => wall('xargs', ['-P', '8', '-n', '1', SLEEP], `${Array(n).fill('0.05').join('\n')}\n`).ms;

    type Variant = 'empty' | 'trivial' | 'rawTrivial' | 'execaTrivial' | 'sleeping' | 'rawSleeping' | 'parallel' | 'xargs' | 'nodeParallel';
    const run: Record<Variant, () => number> = {
      empty: () => runCli(plans.empty),
      trivial: () => runCli(plans.trivial),
      rawTrivial: () => loop(opts.trivialSteps, '/bin/true', []),
      execaTrivial: () => loop(opts.trivialSteps, '/bin/true', [], ['--execa', logs]),
      sleeping: () => runCli(plans.sleeping),
      rawSleeping: () => loop(opts.sleepingSteps, SLEEP, ['0.05']),
      parallel: () => runCli(plans.parallel),
      xargs: () => xargs(opts.parallelSteps),
      nodeParallel: () => loop(opts.parallelSteps, SLEEP, ['0.05'], ['--parallel', '8']),
    };
    const variants = Object.keys(run) as Variant[];
    // Warm-up: the first CLI run after a build writes the code cache.
    run.empty();
    const samples = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
    for (let round = 0; round < opts.rounds; round++) for (const v of shuffled(variants)) samples[v].push(run[v]());

    const perStep = (cli: number[], raw: number[], n: number): PerStep => {
      const rounds = cli.map((c, i) => (c - samples.empty[i]!) / n - raw[i]! / n);
      const cliMs = median(cli.map((c, i) => (c - samples.empty[i]!) / n));
      const rawMs = median(raw) / n;
      return { steps: n, cliMs, rawMs, extraMs: cliMs - rawMs, roundExtraMin: Math.min(...rounds), roundExtraMax: Math.max(...rounds) };
    };
    const parallelRatios = samples.parallel.map((c, i) => (c - samples.empty[i]!) / samples.xargs[i]!);
    const parallelCli = median(samples.parallel.map((c, i) => c - samples.empty[i]!));
    const xargsMs = median(samples.xargs);

    // The big plan: one run of each form, then node parsing the JSON alone.
    const big = Array.from({ length: opts.planSteps }, (_, i) => ({ id: `s${i}`, bin: i === 0 ? '/bin/false' : '/bin/true', args: ['--step', `n${i}`] }));
    const bigJson = join(work, 'big.json');
    const bigYaml = join(work, 'big.yaml');
    writeFileSync(bigJson, JSON.stringify({ stages: { execution: big } }));
    writeFileSync(bigYaml, dump({ stages: { execution: big } }));
    const timed = (args: string[]) => {
      const timeOut = join(work, 'time.out');
      const started = performance.now();
      const result = existsSync(TIME)
        ? spawnSync(TIME, ['-f', '%M', '-o', timeOut, process.execPath, ...args], { env, stdio: 'ignore' })
        : spawnSync(process.execPath, args, { env, stdio: 'ignore' });
      const wallMs = performance.now() - started;
      const kib = existsSync(TIME) ? Number(readFileSync(timeOut, 'utf8').trim().split('\n').pop()) : Number.NaN;
      return { wallMs, maxRssMiB: kib / 1024, exitCode: result.status };
    };
    const bigRun = (plan: string) => {
      const out = join(work, `big${++seq}`);
      const result = timed([cli, out, '--plan', plan]);
      rmSync(out, { recursive: true, force: true });
      return result;
    };
    const json = bigRun(bigJson);
    const yaml = bigRun(bigYaml);
    const parseOnly = timed(['-e', `JSON.parse(require('fs').readFileSync(${JSON.stringify(bigJson)}, 'utf8'))`]);

    return {
      rounds: opts.rounds,
      emptyRunMs: median(samples.empty),
      trivial: { ...perStep(samples.trivial, samples.rawTrivial, opts.trivialSteps), execaMs: median(samples.execaTrivial) / opts.trivialSteps },
      sleeping: perStep(samples.sleeping, samples.rawSleeping, opts.sleepingSteps),
      parallel: {
        steps: opts.parallelSteps,
        cliMs: parallelCli,
        xargsMs,
        ratio: parallelCli / xargsMs,
        wholeRatio: median(samples.parallel) / xargsMs,
        roundRatioMin: Math.min(...parallelRatios),
        roundRatioMax: Math.max(...parallelRatios),
        nodeMs: median(samples.nodeParallel),
      },
      plan: { steps: opts.planSteps, json, yaml, parseOnly: { wallMs: parseOnly.wallMs, maxRssMiB: parseOnly.maxRssMiB } },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `npm run bench`: the orchestrator's costs as ratios and differences against baselines measured
 * in the same run on the same machine.
 *
 *   1. per-invocation overhead of a stage around a trivial program, vs a bare execa spawn
 *   2. a whole 5-stage CLI run with two trivial programs, vs `node -e 0`
 *   3. the orchestrator's peak RSS while a stage writes 1 GiB to stdout
 *   4. what a step costs beside a bare spawn, concurrency 8 beside `xargs -P 8`, loading a
 *      40,000-step plan, and the whole run without NODE_EXTRA_CA_CERTS (bench/steps.ts)
 *
 * Flags: --json (machine-readable output on stdout only), --smoke (short; 64 MiB; exits 1 only
 * when a figure is far past its target, for CI).
 */
import { loadavg, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliResult, type Breakdown, measureCli } from './cli.js';
import { type InProcessResult, measureInProcess } from './in-process.js';
import { type RssResult, measureRss } from './rss.js';
import type { Figure } from './stats.js';
import { type StepsResult, measureSteps } from './steps.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = new Set(process.argv.slice(2));
const json = argv.has('--json');
const smoke = argv.has('--smoke');
for (const flag of argv) {
  if (flag !== '--json' && flag !== '--smoke') {
    process.stderr.write(`bench: unknown flag ${flag} (use --json, --smoke)\n`);
    process.exit(2);
  }
}

const TARGET = {
  overheadMs: 1.5,
  ratio: 1.8,
  rssMiB: 100,
  // The step issue's: a step at most 1 ms over a bare spawn (trivial and sleeping programs),
  // concurrency 8 within 1.1x xargs -P 8, a 40,000-step plan loaded in 1 s and 150 MiB, the whole
  // run at most 2x `node -e 0` with NODE_EXTRA_CA_CERTS unset.
  stepExtraMs: 1,
  parallelRatio: 1.1,
  planLoadMs: 1000,
  planRssMiB: 150,
  cleanRatio: 2,
};
/**
 * Far past the target: three times the allowed overhead. Only these fail a --smoke run. A step's
 * far mark is 10 ms over a bare spawn (steps were about 5.5 ms over before the step issue), or four
 * bare spawns when the machine is so loaded that a spawn takes more than 2.5 ms: on a busy machine
 * a step stretches with the spawn and with the disk's syncs (+21 ms at load 12, a spawn then 7 ms).
 */
const FAR = {
  overheadMs: 3 * TARGET.overheadMs,
  ratio: 1 + 3 * (TARGET.ratio - 1),
  rssMiB: 3 * TARGET.rssMiB,
  stepExtraMs: 10,
  parallelRatio: 4,
  planLoadMs: 4 * TARGET.planLoadMs,
  planRssMiB: 3 * TARGET.planRssMiB,
  // Printed, never failing a smoke (as the core issue's reading without the certificates before it):
  // under load it stretches far more than the ratio with them, which already guards the start.
  cleanRatio: Number.POSITIVE_INFINITY,
};

const plan = smoke
  ? {
      inProcess: { warmup: 5, rounds: 40, blocks: 2 },
      cli: { warmup: 1, rounds: 8, blocks: 2, probeRounds: 3, profileRuns: 2 },
      rssBytes: 64 * 1024 * 1024,
      steps: { rounds: 2, trivialSteps: 200, sleepingSteps: 30, parallelSteps: 64, planSteps: 40_000 },
    }
  : {
      inProcess: { warmup: 25, rounds: 240, blocks: 4 },
      cli: { warmup: 3, rounds: 40, blocks: 4, probeRounds: 12, profileRuns: 8 },
      rssBytes: 1024 * 1024 * 1024,
      steps: { rounds: 5, trivialSteps: 1000, sleepingSteps: 100, parallelSteps: 200, planSteps: 40_000 },
    };

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

const started = performance.now();
const loadBefore = loadavg();
log(`node ${process.version}, ${cpus().length} CPUs, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, temp dir ${tmpdir()}${smoke ? ' (smoke)' : ''}`);

log(`1/4 in-process: ${plan.inProcess.rounds} rounds of {2 programs, 0 programs, bare execa, stage-style execa}...`);
const inProcess = await measureInProcess(root, plan.inProcess);
log(`2/4 CLI: ${plan.cli.rounds} rounds of {CLI run, node -e 0}, then breakdown and profile...`);
const cli = await measureCli(root, plan.cli);
log(`3/4 RSS: a stage writing ${plan.rssBytes / 1024 / 1024} MiB to stdout...`);
const rss = measureRss(root, plan.rssBytes);
log(
  `4/4 steps: ${plan.steps.rounds} rounds of {${plan.steps.trivialSteps} /bin/true, ${plan.steps.sleepingSteps} sleep 0.05, ` +
    `${plan.steps.parallelSteps} sleep 0.05 at concurrency 8, each beside its yardstick}, then a ${plan.steps.planSteps}-step plan...`,
);
const steps = measureSteps(root, plan.steps);
const loadAfter = loadavg();
const elapsedS = (performance.now() - started) / 1000;

type Verdict = 'PASS' | 'MISS' | 'FAR';
const verdict = (value: number, target: number, far: number): Verdict => (value <= target ? 'PASS' : value <= far ? 'MISS' : 'FAR');

const rssMiB = rss.reportMaxRssKib / 1024;
const rssCheckMiB = rss.timeMaxRssKib === null ? null : rss.timeMaxRssKib / 1024;
const rssWorstMiB = Math.max(rssMiB, rssCheckMiB ?? 0);
const verdicts = {
  overhead: verdict(inProcess.overheadPerInvocation.value, TARGET.overheadMs, FAR.overheadMs),
  // The stricter reading is printed for honesty, not a target of the core issue: it never fails a smoke.
  strict: verdict(inProcess.strictPerInvocation.value, TARGET.overheadMs, Number.POSITIVE_INFINITY),
  ratio: verdict(cli.ratio.value, TARGET.ratio, FAR.ratio),
  ...(cli.withoutExtraCaCerts ? { ratioWithoutExtraCaCerts: verdict(cli.withoutExtraCaCerts.ratio.value, TARGET.ratio, Number.POSITIVE_INFINITY) } : {}),
  rss: verdict(rssWorstMiB, TARGET.rssMiB, FAR.rssMiB),
  stepTrivial: verdict(steps.trivial.extraMs, TARGET.stepExtraMs, Math.max(FAR.stepExtraMs, 4 * steps.trivial.rawMs)),
  stepSleeping: verdict(steps.sleeping.extraMs, TARGET.stepExtraMs, Math.max(FAR.stepExtraMs, 4 * steps.trivial.rawMs)),
  parallel: verdict(steps.parallel.ratio, TARGET.parallelRatio, FAR.parallelRatio),
  planJson: verdict(Math.max(steps.plan.json.wallMs / TARGET.planLoadMs, steps.plan.json.maxRssMiB / TARGET.planRssMiB), 1, FAR.planLoadMs / TARGET.planLoadMs),
  planYaml: verdict(Math.max(steps.plan.yaml.wallMs / TARGET.planLoadMs, steps.plan.yaml.maxRssMiB / TARGET.planRssMiB), 1, FAR.planLoadMs / TARGET.planLoadMs),
  cleanRatio: verdict(cleanRatio().value, TARGET.cleanRatio, FAR.cleanRatio),
};

/** The whole run against `node -e 0` with NODE_EXTRA_CA_CERTS unset: the pair measured so, or the main pair when it is not set here. */
function cleanRatio(): Figure {
  return cli.withoutExtraCaCerts?.ratio ?? cli.ratio;
}

if (json) {
  process.stdout.write(
    `${JSON.stringify(
      {
        smoke,
        node: process.version,
        cpus: cpus().length,
        loadavg: { before: loadBefore, after: loadAfter },
        elapsed_s: elapsedS,
        targets: TARGET,
        far: FAR,
        verdicts,
        inProcess,
        cli,
        rss,
        steps,
      },
      null,
      2,
    )}\n`,
  );
} else {
  printHuman(inProcess, cli, rss, steps);
}

const far = Object.entries(verdicts).filter(([, v]) => v === 'FAR');
if (smoke && far.length > 0) {
  log(`FAR past target: ${far.map(([k]) => k).join(', ')}`);
  process.exitCode = 1;
}

/** A figure whose blocks disagree by more than a quarter of it (or 0.3 units) was taken on a busy machine. */
function noisy(f: Figure): boolean {
  return f.blockMax - f.blockMin > Math.max(0.25 * Math.abs(f.value), 0.3);
}

function spread(f: Figure, unit: string, digits = 2): string {
  return `[${f.blockMin.toFixed(digits)}..${f.blockMax.toFixed(digits)}${unit} over ${f.blocks.length} blocks${noisy(f) ? ', NOISY' : ''}]`;
}

function printHuman(ip: InProcessResult, c: CliResult, r: RssResult, st: StepsResult): void {
  const ms = (v: number, d = 2) => `${v.toFixed(d)} ms`;
  const signed = (v: number, d = 2) => `${v >= 0 ? '+' : ''}${v.toFixed(d)} ms`;
  const rows: string[][] = [
    ['metric', 'measured', 'baseline', 'ratio / difference', 'target', 'verdict'],
    [
      'stage overhead per invocation',
      `${ms((ip.two.median - ip.none.median) / 2)} /inv`,
      `${ms(ip.bare.median)} bare execa`,
      `${signed(ip.overheadPerInvocation.value)} ${spread(ip.overheadPerInvocation, '')}`,
      `<= +${TARGET.overheadMs} ms`,
      verdicts.overhead,
    ],
    [
      '  strict: whole run / 2',
      `${ms(ip.two.median / 2)} /inv`,
      `${ms(ip.bare.median)} bare execa`,
      `${signed(ip.strictPerInvocation.value)} ${spread(ip.strictPerInvocation, '')}`,
      `<= +${TARGET.overheadMs} ms`,
      verdicts.strict,
    ],
    [
      'CLI run, 5 stages, 2x /bin/true',
      ms(c.cli.median, 1),
      `${ms(c.nodeE0.median, 1)} node -e 0`,
      `${c.ratio.value.toFixed(2)}x ${spread(c.ratio, 'x')}`,
      `<= ${TARGET.ratio}x`,
      verdicts.ratio,
    ],
    ...(c.withoutExtraCaCerts
      ? [
          [
            '  same, NODE_EXTRA_CA_CERTS unset',
            ms(c.withoutExtraCaCerts.cli.median, 1),
            `${ms(c.withoutExtraCaCerts.nodeE0.median, 1)} node -e 0`,
            `${c.withoutExtraCaCerts.ratio.value.toFixed(2)}x ${spread(c.withoutExtraCaCerts.ratio, 'x')}`,
            `<= ${TARGET.ratio}x`,
            verdicts.ratioWithoutExtraCaCerts ?? '',
          ],
        ]
      : []),
    [
      '  same, OTEL_EXPORTER_OTLP_ENDPOINT set',
      ms(c.traced.cli.median, 1),
      `${ms((c.withoutExtraCaCerts ?? c).cli.median, 1)} untraced`,
      `${signed(c.traced.extraMs, 1)} paired`,
      'traces only',
      '',
    ],
    [
      `peak RSS, stage writes ${r.bytes / 1024 / 1024} MiB`,
      `${rssMiB.toFixed(1)} MiB report` + (rssCheckMiB === null ? '' : `, ${rssCheckMiB.toFixed(1)} MiB time`),
      `${(r.trivialReportMaxRssKib / 1024).toFixed(1)} MiB trivial run`,
      `+${((r.reportMaxRssKib - r.trivialReportMaxRssKib) / 1024).toFixed(1)} MiB`,
      `<= ${TARGET.rssMiB} MiB`,
      verdicts.rss,
    ],
    ...stepRows(st),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ');
  console.log('');
  console.log(line(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows.slice(1)) console.log(line(row));

  const q = (s: { median: number; p25: number; p75: number; n: number }) =>
    `median ${ms(s.median)} (p25 ${ms(s.p25)}, p75 ${ms(s.p75)}, n=${s.n})`;
  console.log('');
  console.log('1. In-process (library from dist/index.mjs, fresh output dir per iteration, shuffled interleaved order)');
  console.log(`   run, 2 programs       ${q(ip.two)}`);
  console.log(`   run, 0 programs       ${q(ip.none)}`);
  console.log(`   bare execa            ${q(ip.bare)}`);
  console.log(`   stage-style execa     ${q(ip.staged)}  (detached, stdio to log fds)`);
  console.log(`   durable 4 KB write    ${q(ip.durable)}  (temp+write+fsync+rename+dir fsync)`);
  console.log(`   per invocation (2-0)/2 ${ms(ip.perInvocation.value)} ${spread(ip.perInvocation, ' ms')}`);
  console.log(`   overhead, paired per round (median of each round's (2-0)/2 - bare): ${signed(ip.pairedOverhead)}`);
  console.log(`   stage-style spawn minus bare execa: ${signed(ip.stagedSpawnExtra.value)} ${spread(ip.stagedSpawnExtra, ' ms')}`);
  const extraCheckpoints = (ip.checkpointWritesPerRun.two - ip.checkpointWritesPerRun.none) / 2;
  console.log(
    `   checkpoint writes per run: ${ip.checkpointWritesPerRun.two} (2 programs), ${ip.checkpointWritesPerRun.none} (0 programs): ` +
      `${extraCheckpoints} more per invocation, ~${ms(extraCheckpoints * ip.durable.median)} of durable writes on the critical path`,
  );

  const b = (x: Breakdown) =>
    [x.spawnToOrigin, x.bootstrap, x.moduleLoad, x.run, x.teardown, x.total].map((v) => v.toFixed(1).padStart(7)).join(' ');
  console.log('');
  console.log(`2. CLI run: median ${ms(c.cli.median, 1)} (p25 ${ms(c.cli.p25, 1)}, p75 ${ms(c.cli.p75, 1)}), node -e 0 median ${ms(c.nodeE0.median, 1)} (p25 ${ms(c.nodeE0.p25, 1)}, p75 ${ms(c.nodeE0.p75, 1)}), n=${c.rounds} each`);
  console.log(`   difference ${signed(c.difference.value, 1)} ${spread(c.difference, ' ms', 1)}; ratio paired per round ${c.pairedRatio.toFixed(2)}x`);
  if (c.withoutExtraCaCerts) {
    const w = c.withoutExtraCaCerts;
    console.log(
      `   NODE_EXTRA_CA_CERTS is set here: Node reads those certificates at every start, before any user code. Without it ` +
        `(interleaved, same rounds): CLI ${ms(w.cli.median, 1)}, node -e 0 ${ms(w.nodeE0.median, 1)}, ${w.ratio.value.toFixed(2)}x; ` +
        `the CLI's own cost over node is ${ms(c.cli.median - c.nodeE0.median, 1)} with it and ${ms(w.cli.median - w.nodeE0.median, 1)} without.`,
    );
  } else {
    console.log('   NODE_EXTRA_CA_CERTS is not set here: node -e 0 is Node\'s bare start.');
  }
  console.log('   Breakdown (medians, ms; timed inside a probe process, bench/cli-probe.mjs):');
  console.log('                                  spawn  bootst  load    run    exit   total');
  console.log(`   empty module (~node -e 0)    ${b(c.breakdownEmpty)}`);
  console.log(`   dist/cli.js --version         ${b(c.breakdownVersion)}`);
  console.log(`   dist/cli.js 5-stage run       ${b(c.breakdownRun)}`);
  console.log('   (spawn: parent spawn call to child timeOrigin; bootst: timeOrigin to user code; load: import() of the bin:');
  console.log('    the bundle read, its code cache read, main()\'s synchronous start (all of --version, which exits before import()');
  console.log('    resolves); run: import resolved to exit event;');
  console.log('    exit: to parent seeing it)');
  console.log(
    `   first spawn in a fresh process (median of fresh processes): execa ${ms(c.coldSpawn.execaFirst)} (then ${ms(c.coldSpawn.execaSecond)}), ` +
      `child_process.spawn ${ms(c.coldSpawn.spawnFirst)} (then ${ms(c.coldSpawn.spawnSecond)})`,
  );
  console.log(
    `   the CLI recorded its programs (cold process): planning ${c.cliStageDurations.planning} ms, execution ${c.cliStageDurations.execution} ms`,
  );
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  console.log(
    `   bundle dist/cli-main.cjs ${kb(c.bundleTotalBytes)} (most of it runs only on demand): ` +
      c.bundleBytes.slice(0, 7).map((p) => `${p.pkg} ${kb(p.bytes)}`).join(', '),
  );
  console.log(
    `   CPU self time per CLI run by place (node --cpu-prof, ${c.profileTotalMs.toFixed(1)} ms sampled per run, profiler inflates):`,
  );
  for (const p of c.profile.slice(0, 14)) console.log(`     ${p.ms.toFixed(1).padStart(6)} ms  ${p.where}`);
  const empty = c.dependencyImport.find((d) => d.pkg === '(empty module)')?.ms ?? 0;
  console.log(
    `   import() of each dependency bundled alone (whole package re-exported, so no tree-shaking; fresh node, median of 3; ` +
      `minus the ${ms(empty, 1)} an empty module takes): ` +
      c.dependencyImport
        .filter((d) => d.pkg !== '(empty module)')
        .map((d) => `${d.pkg} +${ms(d.ms - empty, 1)} (${kb(d.bytes)})`)
        .join(', '),
  );

  console.log('');
  console.log(
    `3. RSS: stage wrote ${r.bytes} bytes (stdout log ${r.stdoutLogBytes} bytes, status ${r.status}) in ${ms(r.wallMs, 0)}; ` +
      `report maxRSS ${r.reportMaxRssKib} KiB, /usr/bin/time %M ${r.timeMaxRssKib ?? 'n/a'} KiB; ` +
      `trivial run ${r.trivialReportMaxRssKib} KiB / ${r.trivialTimeMaxRssKib ?? 'n/a'} KiB. Log deleted.`,
  );
  console.log('');
  console.log(
    `4. Steps (NODE_EXTRA_CA_CERTS unset; medians over ${st.rounds} interleaved rounds; a CLI run with no steps, ${ms(st.emptyRunMs, 1)}, is taken off each run):`,
  );
  const perStep = (name: string, p: StepsResult['trivial']) =>
    console.log(
      `   ${name.padEnd(22)} ${ms(p.cliMs)} a step vs bare spawn ${ms(p.rawMs)} (${p.steps} steps): ${signed(p.extraMs)}, ` +
        `rounds ${signed(p.roundExtraMin)}..${signed(p.roundExtraMax)}`,
    );
  perStep('concurrency 1, /bin/true', st.trivial);
  if (st.trivial.execaMs !== undefined) {
    console.log(
      `   ${''.padEnd(22)} floor: execa called as a stage calls it (two log files, own group) ${ms(st.trivial.execaMs)} a step: ` +
        `${signed(st.trivial.execaMs - st.trivial.rawMs)} over bare spawn before any of the orchestrator's own work`,
    );
  }
  perStep('concurrency 1, sleep 0.05', st.sleeping);
  console.log(
    `   concurrency 8, sleep 0.05  ${ms(st.parallel.cliMs, 0)} for ${st.parallel.steps} steps vs xargs -P 8 ${ms(st.parallel.xargsMs, 0)}: ` +
      `${st.parallel.ratio.toFixed(2)}x (rounds ${st.parallel.roundRatioMin.toFixed(2)}..${st.parallel.roundRatioMax.toFixed(2)}x); ` +
      `with the CLI's start, ${st.parallel.wholeRatio.toFixed(2)}x; floor: a bare spawn loop in Node, 8 at a time, ` +
      `${ms(st.parallel.nodeMs, 0)} (${(st.parallel.nodeMs / st.parallel.xargsMs).toFixed(2)}x xargs)`,
  );
  const load = (name: string, p: { wallMs: number; maxRssMiB: number }) => `${name} ${ms(p.wallMs, 0)}, ${p.maxRssMiB.toFixed(1)} MiB`;
  console.log(
    `   ${st.plan.steps}-step plan, first step fails: ${load('JSON', st.plan.json)}; ${load('YAML', st.plan.yaml)}; ` +
      `${load('node reading and JSON.parse-ing the JSON alone', st.plan.parseOnly)}`,
  );
  console.log('');
  const noisyFigures = [ip.overheadPerInvocation, ip.strictPerInvocation, c.ratio].filter(noisy).length;
  if (noisyFigures > 0 || loadBefore[0]! >= cpus().length) {
    console.log(
      `WARNING: ${noisyFigures} figure(s) NOISY (blocks disagree); load average ${loadBefore[0]!.toFixed(2)} on ${cpus().length} CPUs. ` +
        'Other work was competing for CPU or disk: re-run before trusting a PASS/MISS.',
    );
  }
  console.log(
    `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}; ` +
      `bench took ${elapsedS.toFixed(0)} s${smoke ? ' (smoke)' : ''}`,
  );
}

function stepRows(st: StepsResult): string[][] {
  const ms = (v: number, d = 2) => `${v.toFixed(d)} ms`;
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms`;
  const clean = cleanRatio();
  const planRow = (name: string, p: { wallMs: number; maxRssMiB: number }, v: Verdict) => [
    `${st.plan.steps}-step ${name} plan: load, peak RSS`,
    `${ms(p.wallMs, 0)}, ${p.maxRssMiB.toFixed(1)} MiB`,
    `${ms(st.plan.parseOnly.wallMs, 0)} node JSON.parse`,
    `${(p.wallMs / st.plan.parseOnly.wallMs).toFixed(2)}x`,
    `< ${TARGET.planLoadMs} ms, < ${TARGET.planRssMiB} MiB`,
    v,
  ];
  return [
    [
      `step, ${st.trivial.steps}x /bin/true, conc. 1`,
      `${ms(st.trivial.cliMs)} /step`,
      `${ms(st.trivial.rawMs)} bare spawn`,
      signed(st.trivial.extraMs),
      `<= +${TARGET.stepExtraMs} ms`,
      verdicts.stepTrivial,
    ],
    [
      `step, ${st.sleeping.steps}x sleep 0.05, conc. 1`,
      `${ms(st.sleeping.cliMs)} /step`,
      `${ms(st.sleeping.rawMs)} bare spawn`,
      signed(st.sleeping.extraMs),
      `<= +${TARGET.stepExtraMs} ms`,
      verdicts.stepSleeping,
    ],
    [
      `${st.parallel.steps}x sleep 0.05, conc. 8`,
      ms(st.parallel.cliMs, 0),
      `${ms(st.parallel.xargsMs, 0)} xargs -P 8`,
      `${st.parallel.ratio.toFixed(2)}x`,
      `<= ${TARGET.parallelRatio}x`,
      verdicts.parallel,
    ],
    planRow('JSON', st.plan.json, verdicts.planJson),
    planRow('YAML', st.plan.yaml, verdicts.planYaml),
    [
      'CLI run, NODE_EXTRA_CA_CERTS unset',
      ms((cli.withoutExtraCaCerts ?? cli).cli.median, 1),
      `${ms((cli.withoutExtraCaCerts ?? cli).nodeE0.median, 1)} node -e 0`,
      `${clean.value.toFixed(2)}x`,
      `<= ${TARGET.cleanRatio}x`,
      verdicts.cleanRatio,
    ],
  ];
}

/**
 * Metric 2: a whole 5-stage CLI run with two trivial programs against `node -e 0`, both spawned
 * processes, plus where the CLI's time goes (node startup, loading the bundle, the run, exit).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { mapBundle } from './bundle-map.js';
import { type Figure, type Summary, blocksOf, figure, median, shuffled, summarize } from './stats.js';

const now = () => performance.timeOrigin + performance.now();

export interface CliOptions {
  warmup: number;
  rounds: number;
  blocks: number;
  probeRounds: number;
  profileRuns: number;
}

export interface Breakdown {
  /** parent's spawn call until the child's performance.timeOrigin (exec, early native init) */
  spawnToOrigin: number;
  /** timeOrigin until the first line of user code (node bootstrap, ESM loader) */
  bootstrap: number;
  /** import() of dist/cli.js: read, compile and evaluate the bundle (plus main()'s synchronous start; all of a command that exits before import() resolves, like --version) */
  moduleLoad: number;
  /** import() resolved until the 'exit' event: the run itself */
  run: number;
  /** 'exit' event until the parent saw the process end (teardown) */
  teardown: number;
  total: number;
}

/** The same pair measured with NODE_EXTRA_CA_CERTS removed from the environment. */
export interface CleanPair {
  cli: Summary;
  nodeE0: Summary;
  ratio: Figure;
}

/** The CLI run with traces on (NODE_EXTRA_CA_CERTS unset), against the same run without. */
export interface TracedRun {
  cli: Summary;
  /** median over rounds of each round's traced minus untraced run */
  extraMs: number;
}

export interface CliResult {
  rounds: number;
  cli: Summary;
  nodeE0: Summary;
  ratio: Figure;
  difference: Figure;
  /**
   * Node reads the certificates NODE_EXTRA_CA_CERTS names at every start, before any user code,
   * which adds the same tens of ms to both sides and so flatters the ratio. Where it is set, the
   * pair is measured again without it, interleaved with the rest; null where it is not set.
   */
  withoutExtraCaCerts: CleanPair | null;
  /**
   * With OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP receiver: what loading the
   * OpenTelemetry SDK and sending a run's spans add (docs/traces.md). Without it nothing is loaded.
   */
  traced: TracedRun;
  /** median over rounds of each round's own cli / node: less sensitive to slow drifts in load */
  pairedRatio: number;
  /** the CLI run, timed inside a probe process */
  breakdownRun: Breakdown;
  /** `node -e 0`-equivalent: the probe loading nothing */
  breakdownEmpty: Breakdown;
  /** the bundle loaded with `--version` only: module load without a run */
  breakdownVersion: Breakdown;
  bundleBytes: Array<{ pkg: string; bytes: number }>;
  bundleTotalBytes: number;
  /** CPU self time by package/category from `node --cpu-prof`, summed over profileRuns runs, ms per run */
  profile: Array<{ where: string; ms: number }>;
  profileTotalMs: number;
  /** import() of each dependency bundled on its own, in a fresh node, ms */
  dependencyImport: Array<{ pkg: string; ms: number; bytes: number }>;
  /** in a fresh process: first and second spawn of /bin/true via execa and child_process.spawn, ms */
  coldSpawn: { execaFirst: number; execaSecond: number; spawnFirst: number; spawnSecond: number };
  /** report: in-run durations the CLI itself recorded for its two programs (cold process), ms */
  cliStageDurations: { planning: number; execution: number };
}

export async function measureCli(root: string, opts: CliOptions): Promise<CliResult> {
  const cliPath = join(root, 'dist/cli.js');
  const work = mkdtempSync(join(tmpdir(), 'ao-bench-cli-'));
  let seq = 0;
  const cliArgs = (dir: string) => [cliPath, dir, '--manager-bin', '/bin/true', '--executor-bin', '/bin/true'];

  const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS !== undefined;
  const cleanEnv = { ...process.env };
  delete cleanEnv.NODE_EXTRA_CA_CERTS;
  const time = (args: string[], env: NodeJS.ProcessEnv = process.env): number => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore', cwd: work, env });
    const elapsed = performance.now() - t0;
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status} ${r.signal ?? ''}`);
    return elapsed;
  };
  const receiver = await startOtlpReceiver();
  const tracedEnv = { ...cleanEnv, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
  type Variant = 'cli' | 'node' | 'cliClean' | 'nodeClean' | 'cliTraced';
  const runVariant = (variant: Variant): number => {
    const env = variant === 'cliTraced' ? tracedEnv : variant.endsWith('Clean') ? cleanEnv : process.env;
    if (variant.startsWith('node')) return time(['-e', '0'], env);
    const dir = join(work, `c${++seq}`);
    const elapsed = time(cliArgs(dir), env);
    rmSync(dir, { recursive: true, force: true });
    return elapsed;
  };

  const variants: Variant[] = extraCaCerts ? ['cli', 'node', 'cliClean', 'nodeClean', 'cliTraced'] : ['cli', 'node', 'cliTraced'];
  const samples: Record<Variant, number[]> = { cli: [], node: [], cliClean: [], nodeClean: [], cliTraced: [] };
  for (let i = 0; i < opts.warmup; i++) for (const v of shuffled(variants)) runVariant(v);
  for (let i = 0; i < opts.rounds; i++) {
    for (const v of shuffled(variants)) samples[v].push(runVariant(v));
  }
  const ratioOf = (cli: number[], node: number[]) => {
    const blocksCli = blocksOf(cli, opts.blocks);
    const blocksNode = blocksOf(node, opts.blocks);
    return figure(
      median(cli) / median(node),
      blocksCli.map((b, i) => median(b) / median(blocksNode[i] as number[])),
    );
  };
  receiver.stop();
  const untraced = extraCaCerts ? samples.cliClean : samples.cli;
  const traced = { cli: summarize(samples.cliTraced), extraMs: median(samples.cliTraced.map((t, i) => t - (untraced[i] as number))) };
  const withoutExtraCaCerts = extraCaCerts
    ? { cli: summarize(samples.cliClean), nodeE0: summarize(samples.nodeClean), ratio: ratioOf(samples.cliClean, samples.nodeClean) }
    : null;
  const bc = blocksOf(samples.cli, opts.blocks);
  const bn = blocksOf(samples.node, opts.blocks);
  const ratio = ratioOf(samples.cli, samples.node);
  const difference = figure(
    median(samples.cli) - median(samples.node),
    bc.map((b, i) => median(b) - median(bn[i] as number[])),
  );

  // Breakdown: the probe notes, inside the child, when user code starts, when the bundle is
  // loaded and when the process exits.
  const probe = join(root, 'bench/cli-probe.mjs');
  const probeOnce = (args: string[]): Breakdown => {
    const start = now();
    const r = spawnSync(process.execPath, [probe, ...args], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], cwd: work });
    const end = now();
    const out = r.output[3]?.toString() ?? '';
    if (r.status !== 0 || !out) throw new Error(`probe ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString() ?? ''}`);
    const p = JSON.parse(out) as { origin: number; userCodeAt: number; loadedAt: number; exitAt: number };
    const loadedAt = p.loadedAt;
    return {
      spawnToOrigin: p.origin - start,
      bootstrap: p.userCodeAt,
      moduleLoad: loadedAt - p.userCodeAt,
      run: p.exitAt - loadedAt,
      teardown: end - (p.origin + p.exitAt),
      total: end - start,
    };
  };
  const emptyModule = join(work, 'empty.mjs');
  writeFileSync(emptyModule, '');
  const runs: Breakdown[] = [];
  const empties: Breakdown[] = [];
  const versions: Breakdown[] = [];
  for (let i = 0; i < opts.probeRounds + 2; i++) {
    const dir = join(work, `p${i}`);
    const order = shuffled(['run', 'empty', 'version'] as const);
    for (const kind of order) {
      const b =
        kind === 'run'
          ? probeOnce(cliArgs(dir))
          : kind === 'empty'
            ? probeOnce([emptyModule])
            : probeOnce([cliPath, '--version']);
      if (i < 2) continue; // warm-up
      (kind === 'run' ? runs : kind === 'empty' ? empties : versions).push(b);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  // One ordinary CLI run: how long its two programs took, as the CLI itself recorded (a cold process).
  const reportDir = join(work, 'report-run');
  time(cliArgs(reportDir));
  const report = JSON.parse(readFileSync(join(reportDir, 'orchestrator_run_report.json'), 'utf8')) as {
    stage_executions: Array<{ stage: string; duration_ms: number }>;
  };
  const durationOf = (stage: string) => report.stage_executions.find((e) => e.stage === stage)?.duration_ms ?? Number.NaN;

  const bundle = await mapBundle(root);
  if (!bundle.matchesDist) console.error('bench: warning: the rebuilt bundle differs from dist/cli-main.cjs (rebuild first); the profile by package is approximate');
  const { profile, profileTotalMs } = profileCli(work, cliArgs, opts.profileRuns, bundle.packageAt, join(root, 'dist/cli-main.cjs'));
  const dependencyImport = importCosts(root, work);
  const coldSpawn = coldSpawnCosts(root, smokeRuns(opts));
  rmSync(work, { recursive: true, force: true });

  return {
    rounds: opts.rounds,
    cli: summarize(samples.cli),
    nodeE0: summarize(samples.node),
    ratio,
    difference,
    withoutExtraCaCerts,
    traced,
    pairedRatio: median(samples.cli.map((c, i) => c / (samples.node[i] as number))),
    breakdownRun: medianBreakdown(runs),
    breakdownEmpty: medianBreakdown(empties),
    breakdownVersion: medianBreakdown(versions),
    bundleBytes: bundle.bytesByPackage,
    bundleTotalBytes: bundle.totalBytes,
    profile,
    profileTotalMs,
    dependencyImport,
    coldSpawn,
    cliStageDurations: { planning: durationOf('planning'), execution: durationOf('execution') },
  };
}

function medianBreakdown(items: Breakdown[]): Breakdown {
  const m = (key: keyof Breakdown) => median(items.map((b) => b[key]));
  return {
    spawnToOrigin: m('spawnToOrigin'),
    bootstrap: m('bootstrap'),
    moduleLoad: m('moduleLoad'),
    run: m('run'),
    teardown: m('teardown'),
    total: m('total'),
  };
}

const FS_NATIVES = new Set(['fsync', 'rename', 'open', 'close', 'writeString', 'writeBuffer', 'mkdir', 'unlink', 'rmdir', 'readFileUtf8', 'read', 'lstat', 'stat', 'fstat', 'link']);

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { url: string; lineNumber: number; columnNumber: number; functionName: string };
    positionTicks?: Array<{ line: number; ticks: number }>;
  }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self CPU time by where it was spent, from `node --cpu-prof` of real CLI runs. */
function profileCli(
  work: string,
  cliArgs: (dir: string) => string[],
  runs: number,
  packageAt: (line: number, column: number) => string,
  bundlePath: string,
): { profile: Array<{ where: string; ms: number }>; profileTotalMs: number } {
  const profDir = join(work, 'prof');
  // --cpu-prof is a flag of its own: the bin keeps a code cache for it apart, which the first run writes.
  for (let i = -1; i < runs; i++) {
    const dir = join(work, `prof-run${i}`);
    spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', i < 0 ? join(work, 'prof-warmup') : profDir, ...cliArgs(dir)], {
      stdio: 'ignore',
      cwd: work,
    });
  }
  const totals = new Map<string, number>();
  let files = 0;
  const bundleUrls = new Set([bundlePath, pathToFileURL(bundlePath).href]);
  for (const name of readdirSync(profDir)) {
    if (!name.endsWith('.cpuprofile')) continue;
    files++;
    const prof = JSON.parse(readFileSync(join(profDir, name), 'utf8')) as CpuProfile;
    // A bundle function's time goes to the package it was written in (each module's top-level code
    // is a function of its own in the bundle: esbuild's lazy module wrappers).
    const where = new Map<number, Array<{ key: string; share: number }>>();
    for (const node of prof.nodes) {
      const { url, lineNumber, columnNumber, functionName } = node.callFrame;
      let key: string;
      if (bundleUrls.has(url)) key = `bundle code: ${packageAt(lineNumber, columnNumber)}`;
      else if (url === 'node:vm' && functionName === 'Script') key = 'the bundle: V8 code cache read (or compile) in vm.Script';
      else if (functionName === 'compileSourceTextModule') key = 'V8 compile of ESM source';
      else if (functionName === 'compileForInternalLoader') key = 'compile of lazily loaded node builtins';
      else if (url.startsWith('node:internal/modules') || url.startsWith('node:internal/vm')) key = 'node: module loader';
      else if (url.includes('child_process')) key = 'node: child_process (spawn, exit handling)';
      else if (url.startsWith('node:')) key = 'node: other internals';
      else if (url === '' && FS_NATIVES.has(functionName)) key = `fs syscall: ${functionName}`;
      else if (url === '' && functionName.startsWith('(')) key = `v8: ${functionName}`;
      else if (url === '') key = 'other native functions';
      else key = `other: ${url}`;
      where.set(node.id, [{ key, share: 1 }]);
    }
    prof.samples.forEach((id, i) => {
      const ms = (prof.timeDeltas[i] ?? 0) / 1000;
      for (const { key, share } of where.get(id) ?? [{ key: 'unknown', share: 1 }]) {
        totals.set(key, (totals.get(key) ?? 0) + ms * share);
      }
    });
  }
  const profile = [...totals]
    .map(([where, ms]) => ({ where, ms: ms / Math.max(files, 1) }))
    .sort((a, b) => b.ms - a.ms);
  return { profile, profileTotalMs: profile.reduce((s, p) => s + p.ms, 0) };
}

/**
 * What loading each runtime dependency costs when bundled alone the way dist/ is built (esbuild,
 * ESM, whole package re-exported), imported in a fresh node: median of 3 processes each.
 */
function importCosts(root: string, work: string): Array<{ pkg: string; ms: number; bytes: number }> {
  const pkgs = ['execa', 'commander', 'xstate', 'zod/mini', 'lowdb', '(empty module)'];
  return pkgs
    .map((pkg) => {
      const outfile = join(work, `dep-${pkg.replace(/[^a-z]/g, '-')}.mjs`);
      buildSync({
        stdin: { contents: pkg.startsWith('(') ? 'export {};' : `export * from ${JSON.stringify(pkg)};`, resolveDir: root, loader: 'js' },
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'silent',
        legalComments: 'none',
        outfile,
        banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      });
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const code = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(outfile).href)}); process.stdout.write(String(performance.now() - t));`;
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: work, encoding: 'utf8' });
        if (r.status === 0) times.push(Number(r.stdout));
      }
      return { pkg, ms: median(times), bytes: statSync(outfile).size };
    })
    .sort((a, b) => b.ms - a.ms);
}

function smokeRuns(opts: CliOptions): number {
  return Math.max(3, Math.min(9, opts.probeRounds));
}

/** A process's first spawn pays for lazy initialisation (node internals, execa's own); measure it alone. */
function coldSpawnCosts(root: string, runs: number): CliResult['coldSpawn'] {
  const code = `
    import { execa } from 'execa';
    import { spawn } from 'node:child_process';
    const viaSpawn = () => new Promise((resolve) => spawn('/bin/true', { stdio: 'ignore' }).on('exit', resolve));
    const viaExeca = () => execa('/bin/true');
    const first = process.argv[1] === 'execa' ? viaExeca : viaSpawn;
    let t = performance.now(); await first(); const a = performance.now() - t;
    t = performance.now(); await first(); const b = performance.now() - t;
    process.stdout.write(JSON.stringify([a, b]));`;
  const take = (which: 'execa' | 'spawn') => {
    const firsts: number[] = [];
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, which], { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) continue;
      const [a, b] = JSON.parse(r.stdout) as [number, number];
      firsts.push(a);
      seconds.push(b);
    }
    return [median(firsts), median(seconds)] as const;
  };
  const [execaFirst, execaSecond] = take('execa');
  const [spawnFirst, spawnSecond] = take('spawn');
  return { execaFirst, execaSecond, spawnFirst, spawnSecond };
}

/**
 * An OTLP/HTTP receiver that answers every request with 200, in a process of its own: the bench
 * runs the CLI with spawnSync, which would block a server in this process.
 */
async function startOtlpReceiver(): Promise<{ endpoint: string; stop: () => void }> {
  const script = [
    "const server = require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, { 'content-type': 'application/json' }); s.end('{}'); }); });",
    "server.listen(0, '127.0.0.1', () => console.log(server.address().port));",
  ].join('\n');
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`the OTLP receiver exited ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

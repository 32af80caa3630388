/**
 * Metric 1: what a stage adds around its program, measured in this process with the built library.
 *
 * Three variants run interleaved (shuffled order in each round), each on a fresh output dir:
 *   two     runOrchestration with manager=/bin/true and executor=/bin/true (2 invocations)
 *   none    runOrchestration with no programs (0 invocations; the 5 stages pass straight through)
 *   bare    execa('/bin/true')
 * plus, for the breakdown only,
 *   staged  execa('/bin/true') with the stage's own options (own process group, stdio to log files)
 *   durable one durable write of a 4 KB file (what each checkpoint and report write costs here)
 *
 * overhead per invocation = (median(two) - median(none)) / 2 - median(bare)
 * strict figure           = median(two) / 2 - median(bare)
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import type * as Library from '../src/index.js';
import { type Figure, type Summary, blocksOf, figure, median, shuffled, summarize } from './stats.js';

export interface InProcessOptions {
  warmup: number;
  rounds: number;
  blocks: number;
}

export interface InProcessResult {
  rounds: number;
  two: Summary;
  none: Summary;
  bare: Summary;
  staged: Summary;
  /** (two - none) / 2 - bare */
  overheadPerInvocation: Figure;
  /** two / 2 - bare */
  strictPerInvocation: Figure;
  /** (two - none) / 2: everything one invocation costs, spawn included */
  perInvocation: Figure;
  /** stage-style spawn minus bare spawn: what detached + fd stdio cost by themselves */
  stagedSpawnExtra: Figure;
  /** one durable write (temp + write + fsync + rename + dir fsync) of a 4 KB file, interleaved with the rest */
  durable: Summary;
  /** median over rounds of each round's own (two - none) / 2 - bare: less sensitive to slow drifts in load */
  pairedOverhead: number;
  checkpointWritesPerRun: { two: number; none: number };
}

type Variant = 'two' | 'none' | 'bare' | 'staged' | 'durable';

export async function measureInProcess(root: string, opts: InProcessOptions): Promise<InProcessResult> {
  const lib = (await import(pathToFileURL(join(root, 'dist/index.mjs')).href)) as typeof Library;
  const work = mkdtempSync(join(tmpdir(), 'ao-bench-inproc-'));
  let seq = 0;
  const samples: Record<Variant, number[]> = { two: [], none: [], bare: [], staged: [], durable: [] };
  const reportSized = JSON.stringify({ pad: 'x'.repeat(4000) });
  const writes = { two: 0, none: 0 };

  const runOnce = async (variant: Variant): Promise<number> => {
    const dir = join(work, `r${++seq}`);
    let elapsed: number;
    if (variant === 'durable') {
      mkdirSync(dir);
      const t0 = performance.now();
      durableWrite(dir, reportSized);
      elapsed = performance.now() - t0;
      rmSync(dir, { recursive: true, force: true });
    } else if (variant === 'bare') {
      const t0 = performance.now();
      await execa('/bin/true');
      elapsed = performance.now() - t0;
    } else if (variant === 'staged') {
      // The same spawn the stage makes (see src/run/stage-process.ts), without the orchestration.
      const t0 = performance.now();
      const out = openSync(join(work, `s${seq}.out`), 'w', 0o600);
      const err = openSync(join(work, `s${seq}.err`), 'w', 0o600);
      try {
        await execa('/bin/true', [], {
          env: {},
          extendEnv: true,
          detached: true,
          cleanup: false,
          reject: false,
          stdin: 'ignore',
          stdout: out as 3,
          stderr: err as 3,
        });
      } finally {
        closeSync(out);
        closeSync(err);
      }
      elapsed = performance.now() - t0;
      rmSync(join(work, `s${seq}.out`));
      rmSync(join(work, `s${seq}.err`));
    } else {
      const stages = variant === 'two' ? { planning: [{ id: 'manager', bin: '/bin/true' }], execution: [{ id: 'executor', bin: '/bin/true' }] } : {};
      const t0 = performance.now();
      const result = await lib.runOrchestration({ outputDir: dir, plan: { stages } });
      elapsed = performance.now() - t0;
      if (result.exitCode !== 0 || result.terminalState !== 'done') {
        throw new Error(`bench run ${variant} ended ${result.terminalState} (exit ${result.exitCode})`);
      }
      if (variant === 'two' && result.report.stage_executions.length !== 2) {
        throw new Error(`expected 2 executions, got ${result.report.stage_executions.length}`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    return elapsed;
  };

  // Count the checkpoint writes of one run of each kind (they are part of what is measured).
  for (const variant of ['two', 'none'] as const) {
    const dir = join(work, `count-${variant}`);
    let saves = 0;
    const store = new lib.FileCheckpointStore(join(dir, lib.CHECKPOINT_FILE));
    const save = store.save.bind(store);
    store.save = async (c) => {
      saves++;
      await save(c);
    };
    const stages = variant === 'two' ? { planning: [{ id: 'manager', bin: '/bin/true' }], execution: [{ id: 'executor', bin: '/bin/true' }] } : {};
    await lib.runOrchestration({ outputDir: dir, plan: { stages } }, { store });
    writes[variant] = saves;
    rmSync(dir, { recursive: true, force: true });
  }

  const variants: Variant[] = ['two', 'none', 'bare', 'staged', 'durable'];
  for (let i = 0; i < opts.warmup; i++) for (const v of shuffled(variants)) await runOnce(v);
  for (let i = 0; i < opts.rounds; i++) {
    for (const v of shuffled(variants)) samples[v].push(await runOnce(v));
  }

  rmSync(work, { recursive: true, force: true });

  const perInv = (two: number[], none: number[]) => (median(two) - median(none)) / 2;
  const overhead = (two: number[], none: number[], bare: number[]) => perInv(two, none) - median(bare);
  const strict = (two: number[], bare: number[]) => median(two) / 2 - median(bare);
  const b = {
    two: blocksOf(samples.two, opts.blocks),
    none: blocksOf(samples.none, opts.blocks),
    bare: blocksOf(samples.bare, opts.blocks),
    staged: blocksOf(samples.staged, opts.blocks),
  };
  const idx = b.two.map((_, i) => i);
  const at = (arr: number[][], i: number) => arr[i] as number[];
  return {
    rounds: opts.rounds,
    two: summarize(samples.two),
    none: summarize(samples.none),
    bare: summarize(samples.bare),
    staged: summarize(samples.staged),
    overheadPerInvocation: figure(
      overhead(samples.two, samples.none, samples.bare),
      idx.map((i) => overhead(at(b.two, i), at(b.none, i), at(b.bare, i))),
    ),
    strictPerInvocation: figure(
      strict(samples.two, samples.bare),
      idx.map((i) => strict(at(b.two, i), at(b.bare, i))),
    ),
    perInvocation: figure(perInv(samples.two, samples.none), idx.map((i) => perInv(at(b.two, i), at(b.none, i)))),
    stagedSpawnExtra: figure(
      median(samples.staged) - median(samples.bare),
      idx.map((i) => median(at(b.staged, i)) - median(at(b.bare, i))),
    ),
    durable: summarize(samples.durable),
    pairedOverhead: median(
      samples.two.map((two, i) => (two - (samples.none[i] as number)) / 2 - (samples.bare[i] as number)),
    ),
    checkpointWritesPerRun: writes,
  };
}

/** The durable write the checkpoint and report use: temp file, write, fsync, rename, directory fsync. */
function durableWrite(dir: string, text: string): void {
  const target = join(dir, 'doc.json');
  const temp = join(dir, '.doc.json.tmp');
  const fd = openSync(temp, 'w', 0o600);
  writeSync(fd, text);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, target);
  const dfd = openSync(dir, 'r');
  fsyncSync(dfd);
  closeSync(dfd);
}

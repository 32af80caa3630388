/**
 * Resume inside a loop: for every loop path (caps 1, and V0's adaptation) and every checkpoint its
 * uninterrupted run wrote while an attempt or a remediation cycle was under way, a run resumed
 * from that checkpoint ends as the uninterrupted run did, in the same attempt and cycle, and runs
 * only the programs that had not run yet when the checkpoint was written.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'vitest';
import { CHECKPOINT_FILE, REPORT_FILE } from '../../src/index.js';
import { reportOf, sideEffects } from '../support/cli.js';
import { type LoopPath, cycleFileIn, loopPaths, runLoopPath, transitionsOf } from './loop-model.js';
import { RecordingStore, type RunDirs, type SavedCheckpoint, plantSaved, runDirs } from './model-paths.js';

/** Also notes, for each checkpoint, how many programs had run and the executor's cycle file then. */
class CountingStore extends RecordingStore {
  readonly ranBefore: number[] = [];
  readonly cycleFile: (string | null)[] = [];
  constructor(
    path: string,
    reportPath: string,
    private readonly dirs: RunDirs,
  ) {
    super(path, reportPath);
  }
  override async save(checkpoint: Parameters<RecordingStore['save']>[0]): Promise<void> {
    this.ranBefore.push(sideEffects(this.dirs.sideEffects).length);
    const cycle = cycleFileIn(this.dirs);
    this.cycleFile.push(existsSync(cycle) ? readFileSync(cycle, 'utf8') : null);
    await super.save(checkpoint);
  }
}

function inLoop(saved: SavedCheckpoint): boolean {
  const loops = (saved.checkpoint as any).snapshot?.context?.loops;
  return loops !== undefined && (loops.executionAttempt > 1 || loops.remediationCycle > 0) && saved.checkpoint.terminal_state === null;
}

async function uninterrupted(path: LoopPath, context: TestContext) {
  const dirs = runDirs('ao-loop-resume-', context);
  mkdirSync(dirs.outputDir, { recursive: true });
  const store = new CountingStore(join(dirs.outputDir, CHECKPOINT_FILE), join(dirs.outputDir, REPORT_FILE), dirs);
  await runLoopPath(path, dirs, { store });
  return { report: reportOf(dirs.outputDir), runs: sideEffects(dirs.sideEffects), saved: store.saved, ranBefore: store.ranBefore, cycleFile: store.cycleFile };
}

const paths = [...loopPaths({ retries: 1, cycles: 1, adaptive: false }), ...loopPaths({ retries: 0, cycles: 0, adaptive: true })];

describe('the loop paths to resume from', () => {
  it('are 26, and 24 of them write checkpoints inside a loop (all but the two that end in the first attempt of the first round)', ({ expect }) => {
    expect(paths).toHaveLength(26);
    // Only `exec ok, review ok => done` (once per model) never retries nor cycles.
    const looping = paths.filter((p) => p.runs.length > 2 || p.runs[0]!.outcome === 'failed');
    expect(looping).toHaveLength(24);
  });
});

describe.concurrent('resuming from a checkpoint written inside a loop ends as the uninterrupted run', () => {
  for (const path of paths) {
    it(path.name, async (context) => {
      const { expect } = context;
      const original = await uninterrupted(path, context);
      expect(original.report.terminal_state).toBe(path.final);
      // A failed run's last checkpoint is the failed stage's start (--resume retries it, as V0): not a run under way.
      const underWay = path.final === 'failed' ? original.saved.slice(0, -1) : original.saved;
      const inside = underWay.map((saved, index) => ({ saved, index })).filter(({ saved }) => inLoop(saved));
      if (path.runs.length > 2 || path.runs.some((r) => r.outcome === 'failed' && r.stage === 'execution')) expect(inside.length).toBeGreaterThan(0);
      for (const { saved, index } of inside) {
        const loops = (saved.checkpoint as any).snapshot.context.loops;
        const where = `checkpoint ${index + 1}/${original.saved.length} (cycle ${loops.remediationCycle}, attempt ${loops.executionAttempt})`;
        const dirs = runDirs('ao-loop-resume-', context);
        mkdirSync(dirs.outputDir, { recursive: true });
        plantSaved(saved, dirs.outputDir);
        const cycle = original.cycleFile[index];
        if (cycle !== null && cycle !== undefined) writeFileSync(cycleFileIn(dirs), cycle);
        const result = await runLoopPath(path, dirs, { resume: true });
        const report = reportOf(dirs.outputDir);
        expect(report.terminal_state, where).toBe(path.final);
        expect(result.exitCode, where).toBe(path.final === 'done' ? 0 : 1);
        expect(report.transitions.map((t: any) => [t.from_stage, t.to_stage]), where).toEqual(transitionsOf(path));
        // No program that had run when the checkpoint was written runs again; the rest run once.
        expect(sideEffects(dirs.sideEffects), where).toEqual(original.runs.slice(original.ranBefore[index]));
        expect(report.loops, where).toEqual(original.report.loops);
      }
    });
  }
});

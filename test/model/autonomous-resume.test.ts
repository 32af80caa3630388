/**
 * Resume inside the autonomous loop: for every path with cap 1 (--autonomous-max-runs 2) and every
 * checkpoint its uninterrupted run wrote in the loop's second run, a run resumed from that
 * checkpoint ends as the uninterrupted run did, in run 2, and runs only the programs that had not
 * run yet when the checkpoint was written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'vitest';
import { CHECKPOINT_FILE, REPORT_FILE, runOrchestration } from '../../src/index.js';
import { reportOf, sideEffects } from '../support/cli.js';
import { type AutonomousPath, autonomousPaths, configFor } from './autonomous-model.js';
import { RecordingStore, type RunDirs, plantSaved, runDirs } from './model-paths.js';

/** Also notes, for each checkpoint, how many programs had run then. */
class CountingStore extends RecordingStore {
  readonly ranBefore: number[] = [];
  constructor(
    path: string,
    reportPath: string,
    private readonly dirs: RunDirs,
  ) {
    super(path, reportPath);
  }
  override async save(checkpoint: Parameters<RecordingStore['save']>[0]): Promise<void> {
    this.ranBefore.push(sideEffects(this.dirs.sideEffects).length);
    await super.save(checkpoint);
  }
}

async function uninterrupted(path: AutonomousPath, context: TestContext) {
  const dirs = runDirs('ao-auto-resume-', context);
  mkdirSync(dirs.outputDir, { recursive: true });
  const store = new CountingStore(join(dirs.outputDir, CHECKPOINT_FILE), join(dirs.outputDir, REPORT_FILE), dirs);
  await runOrchestration(configFor(path, dirs), { store });
  return { report: reportOf(dirs.outputDir), runs: sideEffects(dirs.sideEffects), saved: store.saved, ranBefore: store.ranBefore };
}

/** The fixture's invocation counts as they were when `ran` programs had run. */
function plantCounts(runs: string[], ran: number, dirs: RunDirs): void {
  for (const role of ['executor', 'reviewer']) {
    const count = runs.slice(0, ran).filter((line) => line.startsWith(`${role} `)).length;
    if (count > 0) writeFileSync(join(dirs.workDir, role), `${count}\n`);
  }
}

const paths = autonomousPaths(1).filter((p) => p.runs === 2);

describe('the autonomous paths to resume from', () => {
  it('are the 6 paths with cap 1 that reach a second run', ({ expect }) => {
    expect(paths).toHaveLength(6);
  });
});

describe.concurrent('resuming from a checkpoint written in the loop\'s second run ends as the uninterrupted run', () => {
  for (const path of paths) {
    it(path.name, async (context) => {
      const { expect } = context;
      const original = await uninterrupted(path, context);
      expect(original.report.terminal_state).toBe(path.final);
      // A run under way in loop run 2 (the last checkpoint of a run that ended is its end).
      const inside = original.saved
        .map((saved, index) => ({ saved, index }))
        .filter(({ saved, index }) => (saved.checkpoint as any).snapshot.context.loops.autonomous.run === 2 && saved.checkpoint.terminal_state === null && index < original.saved.length - 1);
      expect(inside.length).toBeGreaterThan(0);
      for (const { saved, index } of inside) {
        const where = `checkpoint ${index + 1}/${original.saved.length} (${String((saved.checkpoint as any).snapshot.value)})`;
        const dirs = runDirs('ao-auto-resume-', context);
        mkdirSync(dirs.outputDir, { recursive: true });
        plantSaved(saved, dirs.outputDir);
        plantCounts(original.runs, original.ranBefore[index]!, dirs);
        const result = await runOrchestration({ ...configFor(path, dirs), resume: true });
        const report = reportOf(dirs.outputDir);
        expect(report.terminal_state, where).toBe(path.final);
        expect(result.exitCode, where).toBe(path.final === 'done' ? 0 : 1);
        expect(report.autonomous_loop, where).toEqual({ ...original.report.autonomous_loop, runs: report.autonomous_loop.runs });
        expect(report.autonomous_loop.runs.map((r: any) => r.failure_signature), where).toEqual(original.report.autonomous_loop.runs.map((r: any) => r.failure_signature));
        // No program that had run when the checkpoint was written runs again; the rest run once.
        expect(sideEffects(dirs.sideEffects), where).toEqual(original.runs.slice(original.ranBefore[index]));
      }
    });
  }
});

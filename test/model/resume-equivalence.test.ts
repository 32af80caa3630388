/**
 * Resume equivalence: for every model path and every checkpoint its uninterrupted run wrote,
 * a run resumed from that checkpoint (and the report beside it at that moment) ends in the same
 * terminal state with the same transitions, and never runs again a stage the checkpoint lists
 * as completed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'vitest';
import { CHECKPOINT_FILE, REPORT_FILE } from '../../src/index.js';
import { reportOf, sideEffects } from '../support/cli.js';
import { type ModelPath, RecordingStore, type SavedCheckpoint, expectedOf, modelPaths, plantSaved, runDirs, runPath } from './model-paths.js';

const transitionPairs = (report: any) => report.transitions.map((t: any) => [t.from_stage, t.to_stage]);

async function uninterruptedRun(path: ModelPath, context: TestContext) {
  const dirs = runDirs('ao-resume-', context);
  mkdirSync(dirs.outputDir, { recursive: true });
  const store = new RecordingStore(join(dirs.outputDir, CHECKPOINT_FILE), join(dirs.outputDir, REPORT_FILE));
  const result = await runPath(path, dirs, { store });
  return { result, report: reportOf(dirs.outputDir), saved: store.saved };
}

async function resumedRun(path: ModelPath, saved: SavedCheckpoint, context: TestContext) {
  const dirs = runDirs('ao-resume-', context);
  mkdirSync(dirs.outputDir, { recursive: true });
  plantSaved(saved, dirs.outputDir);
  const result = await runPath(path, dirs, { resume: true });
  return { result, report: reportOf(dirs.outputDir), programRuns: sideEffects(dirs.sideEffects) };
}

const paths = [...modelPaths(false), ...modelPaths(true)];

describe('the paths to resume from', () => {
  it('are the 22 model paths', ({ expect }) => {
    expect(paths).toHaveLength(22);
  });
});

describe.concurrent('resuming from any checkpoint of a path ends as the uninterrupted run', () => {
  for (const path of paths) {
    it(path.name, async (context) => {
      const { expect } = context;
      const expected = expectedOf(path);
      const original = await uninterruptedRun(path, context);
      expect(original.report.terminal_state).toBe(expected.terminalState);
      expect(transitionPairs(original.report)).toEqual(expected.transitions);
      // At least the checkpoint written before the first program starts, and the last one.
      expect(original.saved.length).toBeGreaterThanOrEqual(2);

      // Attempts are counted per step; the V0 flags' steps are `manager` and `executor`.
      const STEP_OF: Record<string, string> = { planning: 'manager', execution: 'executor' };
      for (const [index, saved] of original.saved.entries()) {
        const where = `checkpoint ${index + 1}/${original.saved.length} (completed: ${saved.checkpoint.completed_stages.join(', ') || 'none'})`;
        const resumed = await resumedRun(path, saved, context);
        expect(resumed.report.terminal_state, where).toBe(original.report.terminal_state);
        expect(resumed.result.exitCode, where).toBe(expected.exitCode);
        expect(transitionPairs(resumed.report), where).toEqual(transitionPairs(original.report));
        const completed: string[] = saved.checkpoint.completed_stages;
        const ranStages = resumed.programRuns.map((line) => line.split(' ')[0]);
        expect(ranStages.filter((stage) => completed.includes(stage!)), where).toEqual([]);
        // ...and every other program on the path ran once more, counting on from the checkpoint's attempts.
        const attempts: Record<string, number> = 'attempts' in saved.checkpoint ? saved.checkpoint.attempts : {};
        const pathStages = expected.programRuns.map((line) => line.split(' ')[0]!);
        expect(resumed.programRuns, where).toEqual(
          pathStages
            .filter((stage) => !completed.includes(stage))
            .map((stage) => `${stage} ${(attempts[`${stage}/${STEP_OF[stage]}`] ?? 0) + 1}`),
        );
        // As V0: a done checkpoint executes nothing; otherwise each completed program stage is one
        // `skipped` record, and the others end as they did in the uninterrupted run.
        const executions =
          saved.checkpoint.terminal_state === 'done'
            ? []
            : expected.executions.map(([stage, status]) => [stage, completed.includes(stage!) ? 'skipped' : status]);
        expect(resumed.report.stage_executions.map((e: any) => [e.stage, e.status]), where).toEqual(executions);
      }
    });
  }
});

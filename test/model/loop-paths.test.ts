/**
 * Model-based test of the loops: every path of the machine with loop caps 0, 1 and 2 (retries
 * after the first execution attempt, remediation cycles), and with V0's one-time adaptation, is
 * taken by a real run whose executor and reviewer fail or pass as the path says.
 */
import { describe, it } from 'vitest';
import { reportOf, sideEffects } from '../support/cli.js';
import { type Caps, loopPaths, recordsOf, runLoopPath, transitionsOf } from './loop-model.js';
import { EXIT_CODE_OF, runDirs } from './model-paths.js';

/**
 * Counted by hand. With E attempts per execution visit and C cycles, a path ends in round r
 * (0..C) after r rounds that each succeeded in one of E attempts and failed review: it then fails
 * E attempts (1 way), or succeeds in one of E and passes review (E ways); or, in round C, fails
 * review once more (E ways). Paths = sum_{r=0..C} E^r (1 + E) + E^(C+1).
 */
const MODELS: { caps: Caps; paths: number }[] = [
  { caps: { retries: 0, cycles: 0, adaptive: false }, paths: 3 }, // E=1, C=0: 2 + 1
  { caps: { retries: 1, cycles: 1, adaptive: false }, paths: 13 }, // E=2, C=1: (1+2)·3 + 4
  { caps: { retries: 2, cycles: 2, adaptive: false }, paths: 79 }, // E=3, C=2: (1+3+9)·4 + 27
  // V0's flags at their least (--execution-max-iterations 1 --reviewer-remediation-max-cycles 0):
  // each budget may grow by one, once, in whichever round it runs out.
  { caps: { retries: 0, cycles: 0, adaptive: true }, paths: 13 },
  // --planning-context-artifact: one more path each, writing the context fails (planning fails).
  { caps: { retries: 0, cycles: 0, adaptive: false, planningContext: true }, paths: 4 },
  { caps: { retries: 1, cycles: 1, adaptive: false, planningContext: true }, paths: 14 },
];

/** Counted only (the real runs of caps 2 are walked above without the context). */
const COUNTED: { caps: Caps; paths: number }[] = [{ caps: { retries: 2, cycles: 2, adaptive: false, planningContext: true }, paths: 80 }];

describe('the loop model', () => {
  for (const { caps, paths } of [...MODELS, ...COUNTED]) {
    it(`has ${paths} paths with retries ${caps.retries}, cycles ${caps.cycles}${caps.adaptive ? ', adaptive' : ''}${caps.planningContext ? ', planning context' : ''}`, ({ expect }) => {
      const found = loopPaths(caps);
      expect(found).toHaveLength(paths);
      // Exactly one way to end done per successful final round, never another terminal state.
      for (const path of found) expect(['done', 'failed']).toContain(path.final);
    });
  }

  it('loops back from validation only with a cycle left, and re-enters execution only with an attempt left', ({ expect }) => {
    for (const path of loopPaths({ retries: 1, cycles: 1, adaptive: false })) {
      expect(path.runs.filter((r) => r.stage === 'validation').length).toBeLessThanOrEqual(2);
      for (const run of path.runs.filter((r) => r.stage === 'execution')) expect(Number(run.key.split('.')[1])).toBeLessThanOrEqual(2);
    }
  });
});

for (const { caps } of MODELS) {
  const paths = loopPaths(caps);
  describe.concurrent(`a real run takes each loop path (retries ${caps.retries}, cycles ${caps.cycles}${caps.adaptive ? ', adaptive' : ''}${caps.planningContext ? ', planning context' : ''})`, () => {
    for (const path of paths) {
      it(path.name, async (context) => {
        const { expect } = context;
        const dirs = runDirs('ao-loops-', context);
        const result = await runLoopPath(path, dirs);
        const report = reportOf(dirs.outputDir);
        expect(result.exitCode).toBe(EXIT_CODE_OF[path.final]);
        expect(report.terminal_state).toBe(path.final);
        expect(report.transitions.map((t: any) => [t.from_stage, t.to_stage])).toEqual(transitionsOf(path));
        expect(report.stage_executions.map((e: any) => [e.stage, e.idempotency_key, e.status])).toEqual(recordsOf(path));
        // Each program run once per run of the path, with the attempt and cycle the path says.
        expect(sideEffects(dirs.sideEffects)).toEqual(path.runs.map((r) => `${r.stage} ${r.key}`));
        expect(report.loops).toEqual({
          execution_attempt: path.loops.executionAttempt,
          execution_max_iterations: path.loops.settings.executionMaxIterations,
          remediation_cycle: path.loops.remediationCycle,
          remediation_max_cycles: path.loops.settings.remediationMaxCycles,
        });
        expect(report.adaptive_policy_decisions.map((d: any) => d.action)).toEqual(path.loops.adaptiveDecisions.map((d) => d.action));
      });
    }
  });
}

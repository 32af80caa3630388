/**
 * Model-based test: every path the machine can take from the start to a terminal state, given
 * the outcomes a stage's program can have, is taken by a real run with real fixture programs,
 * and the report, side effects and exit code say so.
 */
import { describe, it } from 'vitest';
import { reportOf, sideEffects } from '../support/cli.js';
import { OUTCOMES, expectedOf, modelPaths, runDirs, runPath } from './model-paths.js';

const pathsByMode = { unblocked: modelPaths(false), blocked: modelPaths(true) };

describe('the model', () => {
  // Counted by hand, for either value of simulateBlocked: planning ends the run in 5 ways
  // (failed, timeout, 2 × artifact_missing, spawn_failed), or passes; policy_ingestion always
  // passes; execution ends the run in the same 5 ways, or passes; validation and closure pass,
  // ending done (or blocked after validation). 5 + 5 + 1 = 11 paths.
  it('has 11 paths to a terminal state with and without simulateBlocked', ({ expect }) => {
    expect(pathsByMode.unblocked).toHaveLength(11);
    expect(pathsByMode.blocked).toHaveLength(11);
    const finals = (paths: { final: string }[]) => paths.map((p) => p.final).sort();
    const ways = (end: string) => [...Array(2).fill('timeout'), ...Array(8).fill('failed'), end].sort();
    expect(finals(pathsByMode.unblocked)).toEqual(ways('done'));
    expect(finals(pathsByMode.blocked)).toEqual(ways('blocked'));
  });

  it('visits stages in order and never enters closure when blocked', ({ expect }) => {
    const order = ['planning', 'policy_ingestion', 'execution', 'validation', 'closure'];
    for (const path of [...pathsByMode.unblocked, ...pathsByMode.blocked]) {
      expect(path.steps.map((s) => s.stage)).toEqual(order.slice(0, path.steps.length));
    }
    for (const path of pathsByMode.blocked) expect(path.steps.map((s) => s.stage)).not.toContain('closure');
    const longest = pathsByMode.blocked.find((p) => p.final === 'blocked');
    expect(longest?.steps.map((s) => s.stage)).toEqual(order.slice(0, 4));
  });

  it('offers every outcome in both program stages', ({ expect }) => {
    for (const stage of ['planning', 'execution']) {
      const seen = new Set(pathsByMode.unblocked.flatMap((p) => p.steps.filter((s) => s.stage === stage).map((s) => s.outcome)));
      expect([...seen].sort()).toEqual(Object.keys(OUTCOMES).sort());
    }
  });
});

for (const [mode, paths] of Object.entries(pathsByMode)) {
  describe.concurrent(`a real run takes each path (${mode})`, () => {
    for (const path of paths) {
      it(path.name, async (context) => {
        const { expect } = context;
        const dirs = runDirs('ao-model-', context);
        const expected = expectedOf(path);
        const result = await runPath(path, dirs);

        const report = reportOf(dirs.outputDir);
        expect(report.terminal_state).toBe(expected.terminalState);
        expect(report.transitions.map((t: any) => [t.from_stage, t.to_stage])).toEqual(expected.transitions);
        expect(report.stage_executions.map((e: any) => [e.stage, e.status])).toEqual(expected.executions);
        expect(report.stage_executions.map((e: any) => e.attempt)).toEqual(expected.executions.map(() => 1));
        expect(result.exitCode).toBe(expected.exitCode);
        expect(result.terminalState).toBe(expected.terminalState);
        expect(sideEffects(dirs.sideEffects)).toEqual(expected.programRuns);

        const last = path.steps.at(-1)!;
        if (last.outcome === 'success') {
          expect(report.failure).toBeNull();
        } else {
          expect(report.failure).toMatchObject({ stage: last.stage, status: OUTCOMES[last.outcome].status });
          expect(report.failure.error).toContain(OUTCOMES[last.outcome].error);
        }
      });
    }
  });
}

/**
 * Model-based test of the autonomous loop (--autonomous-loop): every path of the machine when each
 * run's executor and reviewer may pass or fail, with loop caps 0, 1 and 2 (runs started again
 * after the first: --autonomous-max-runs 1, 2, 3), each taken by a real run whose programs fail or
 * pass as the path says (test/fixtures/sequenced.sh counts their invocations).
 */
import { describe, it } from 'vitest';
import { runOrchestration } from '../../src/index.js';
import { reportOf, sideEffects } from '../support/cli.js';
import { autonomousPaths, configFor, recordsOf } from './autonomous-model.js';
import { EXIT_CODE_OF, runDirs } from './model-paths.js';

/** Counted by hand: each run ends done (exec ok, review ok) or failed in 2 ways; runs 1..R: sum 2^(r-1) done + 2^R failed. */
const COUNTS = [
  { cap: 0, paths: 3 },
  { cap: 1, paths: 7 },
  { cap: 2, paths: 15 },
];

describe('the autonomous loop model', () => {
  for (const { cap, paths } of COUNTS) {
    it(`has ${paths} paths with cap ${cap} (--autonomous-max-runs ${cap + 1})`, ({ expect }) => {
      const found = autonomousPaths(cap);
      expect(found).toHaveLength(paths);
      for (const path of found) expect(path.runs).toBeLessThanOrEqual(cap + 1);
    });
  }
});

for (const { cap } of COUNTS) {
  describe.concurrent(`a real run takes each autonomous loop path (cap ${cap})`, () => {
    for (const path of autonomousPaths(cap)) {
      it(path.name, async (context) => {
        const { expect } = context;
        const dirs = runDirs('ao-autonomous-', context);
        const result = await runOrchestration(configFor(path, dirs));
        const report = reportOf(dirs.outputDir);
        expect(result.exitCode).toBe(EXIT_CODE_OF[path.final]);
        expect(report.terminal_state).toBe(path.final);
        expect(report.stage_executions.map((e: any) => [e.stage, e.idempotency_key, e.status, e.autonomous_run])).toEqual(recordsOf(path));
        const perRole = { executor: 0, reviewer: 0 };
        expect(sideEffects(dirs.sideEffects)).toEqual(path.invocations.map((i) => `${i.role} ${++perRole[i.role]}`));
        expect(report.autonomous_loop.run).toBe(path.runs);
        expect(report.autonomous_loop.stop_reason).toBe(path.final === 'done' ? null : `Autonomous loop stopped: max runs reached (${path.maxRuns})`);
        // A new run enters planning again from where the last one ended.
        expect(report.transitions.filter((t: any) => t.to_stage === 'planning')).toHaveLength(path.runs);
      });
    }
  });
}

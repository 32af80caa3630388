/**
 * Model-based test of what decides after validation (V0's later order): the gates, the review
 * ensemble, --simulate-blocked, the final decision. For every combination of their inputs (each
 * absent, passing or failing; 54 in all) the machine's one path is read from its graph and checked
 * against an oracle written out by hand; a real run with those inputs ends the same way, with the
 * same report fields; and a run blocked there, resumed with passing inputs from the checkpoint it
 * left, ends done without running its executor again.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'vitest';
import { fromPromise } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { baseSettings, statesEntered } from './loop-model.js';
import type { LoopSettings } from '../../machines/loops.js';
import type { StageWorkInput, StageWorkOutput } from '../../machines/orchestration.js';
import { CHECKPOINT_FILE, type OrchestrationConfigInput, REPORT_FILE, orchestrationMachine, runOrchestration } from '../../src/index.js';
import { STAGE, reportOf, sideEffects } from '../support/cli.js';
import { EXIT_CODE_OF, RecordingStore, type RunDirs, runDirs } from './model-paths.js';

type Input = 'absent' | 'pass' | 'fail';
interface Combo {
  gates: Input;
  review: Input;
  simulateBlocked: boolean;
  decision: 'absent' | 'proceed' | 'block';
}

const GATES = { pass: { policyStatus: 'allow', ciStatus: 'success', reviewStatus: 'approved' }, fail: { policyStatus: 'deny' } } as const;
const VERDICTS = {
  pass: [{ reviewer_id: 'r', specialty: 'security', verdict: 'approve', confidence: 90, weight: 10 }],
  fail: [{ reviewer_id: 'r', specialty: 'security', verdict: 'reject', confidence: 90, weight: 10 }],
} as const;
// A block of full confidence and weight outweighs or ties anything: blocked either way.
const CONTRIBUTIONS = {
  proceed: [{ contributor_id: 'a', capability: 'plan', vote: 'proceed', confidence: 90, weight: 10 }],
  block: [{ contributor_id: 'a', capability: 'plan', vote: 'block', confidence: 100, weight: 100 }],
} as const;

const COMBOS: Combo[] = (['absent', 'pass', 'fail'] as const).flatMap((gates) =>
  (['absent', 'pass', 'fail'] as const).flatMap((review) =>
    [false, true].flatMap((simulateBlocked) => (['absent', 'proceed', 'block'] as const).map((decision) => ({ gates, review, simulateBlocked, decision }))),
  ),
);

function nameOf(c: Combo): string {
  return `gates ${c.gates}, review ${c.review}, decision ${c.decision}${c.simulateBlocked ? ', simulate-blocked' : ''}`;
}

/** The oracle: the states entered after validation, in V0's order, and what blocked the run (null: done). */
function oracle(c: Combo): { entered: string[]; blockedBy: string | null } {
  const entered: string[] = [];
  if (c.gates !== 'absent') {
    entered.push('gates');
    if (c.gates === 'fail') return { entered, blockedBy: 'gates' };
  }
  if (c.review !== 'absent') {
    entered.push('review_ensemble');
    if (c.review === 'fail') return { entered, blockedBy: 'review_ensemble' };
  }
  if (c.simulateBlocked) return { entered, blockedBy: 'simulated' };
  // A passing ensemble votes too, so the decision is taken.
  if (c.decision !== 'absent' || c.review === 'pass') {
    entered.push('decision');
    if (c.decision === 'block') return { entered, blockedBy: 'decision' };
  }
  entered.push('closure');
  return { entered, blockedBy: null };
}

function laterOf(c: Combo): OrchestrationConfigInput['later'] {
  return {
    ...(c.gates === 'absent' ? {} : GATES[c.gates]),
    ...(c.review === 'absent' ? {} : { reviewerVerdicts: [...VERDICTS[c.review]] }),
    ...(c.decision === 'absent' ? {} : { decisionContributions: [...CONTRIBUTIONS[c.decision]] }),
  } as OrchestrationConfigInput['later'];
}

/** The machine's settings for the combination, as the runner would build them. */
function settingsOf(c: Combo): LoopSettings {
  return baseSettings({
    gates: c.gates === 'absent' ? null : c.gates === 'pass' ? { policy: 'allow', ci: 'success', review: 'approved' } : { policy: 'deny', ci: 'missing', review: 'missing' },
    reviewerVerdicts: c.review === 'absent' ? [] : (VERDICTS[c.review] as never),
    decision: { contributions: c.decision === 'absent' ? [] : (CONTRIBUTIONS[c.decision] as never), reliability: [], threshold: 70, requireContributions: false },
  });
}

/** The machine's own path for the combination: every stage passes. */
function machinePath(c: Combo) {
  const paths = getSimplePaths(orchestrationMachine, {
    input: { runId: 'model', simulateBlocked: c.simulateBlocked, loops: settingsOf(c) },
    events: ((snapshot: { value: unknown; status: string }) =>
      snapshot.status === 'active' && typeof snapshot.value === 'string'
        ? [{ type: 'xstate.done.actor.stageWork', output: { stage: snapshot.value, status: 'success', error: null, completedSteps: [], spentCost: 0 } }]
        : []) as never,
  }).filter((path) => path.state.status === 'done');
  return paths;
}

/** The states the pure machine enters (see statesEntered). */
async function microsteps(c: Combo): Promise<string[]> {
  const machine = orchestrationMachine.provide({
    actors: { runStage: fromPromise<StageWorkOutput, StageWorkInput>(async ({ input }) => ({ stage: input.stage, status: 'success', error: null, completedSteps: [], spentCost: 0 })) },
  });
  return statesEntered(machine, { runId: 'model', simulateBlocked: c.simulateBlocked, loops: settingsOf(c) });
}

function configOf(c: Combo, dirs: RunDirs, resume = false): OrchestrationConfigInput {
  return {
    outputDir: dirs.outputDir,
    resume,
    simulateBlocked: c.simulateBlocked,
    later: laterOf(c),
    plan: { stages: { execution: [{ id: 'executor', bin: STAGE, args: ['ok'], env: { SIDE_EFFECTS: dirs.sideEffects } }] } },
  };
}

describe('the states after validation, as the machine has them', () => {
  it(`give one path for each of the ${COMBOS.length} combinations, entering the states the oracle names`, ({ expect }) => {
    expect(COMBOS).toHaveLength(54);
    for (const c of COMBOS) {
      const paths = machinePath(c);
      expect(paths, nameOf(c)).toHaveLength(1);
      const { blockedBy } = oracle(c);
      expect(String(paths[0]!.state.value), nameOf(c)).toBe(blockedBy === null ? 'done' : 'blocked');
    }
  });

  it('pass through the deciding states one microstep after another, in the oracle\'s order', async ({ expect }) => {
    for (const c of COMBOS) {
      const states = await microsteps(c);
      const after = states.slice(states.indexOf('validation') + 1).filter((s) => s !== 'done' && s !== 'blocked');
      expect(after, nameOf(c)).toEqual(oracle(c).entered);
    }
  });
});

async function run(c: Combo, context: TestContext, store?: RecordingStore) {
  const dirs = runDirs('ao-decision-paths-', context);
  mkdirSync(dirs.outputDir, { recursive: true });
  const recording = store ?? new RecordingStore(join(dirs.outputDir, CHECKPOINT_FILE), join(dirs.outputDir, REPORT_FILE));
  const result = await runOrchestration(configOf(c, dirs), { store: recording });
  return { dirs, result, report: reportOf(dirs.outputDir), saved: recording.saved };
}

describe.concurrent('a real run with each combination', () => {
  for (const c of COMBOS) {
    const { entered, blockedBy } = oracle(c);
    it(nameOf(c), async (context) => {
      const { expect } = context;
      const { dirs, result, report, saved } = await run(c, context);
      const final = blockedBy === null ? 'done' : 'blocked';
      expect(result.exitCode).toBe(EXIT_CODE_OF[final]);
      expect(report.terminal_state).toBe(final);
      expect(report.blocked?.reason ?? null).toBe(blockedBy);
      expect(report.transitions.map((t: any) => t.to_stage).includes('closure')).toBe(blockedBy === null);
      expect(report.gate_decisions.length > 0).toBe(entered.includes('gates'));
      expect(report.review_ensemble_result !== null).toBe(entered.includes('review_ensemble'));
      expect(report.final_decision !== null).toBe(entered.includes('decision'));
      // The deciding states are passed through within one step: no checkpoint rests in them.
      for (const s of saved) expect(['gates', 'review_ensemble', 'decision']).not.toContain((s.checkpoint as any).snapshot.value);
      if (blockedBy === null) return;

      // Resumed with every input passing (and no simulated block): done, and the executor did not run again.
      const passing: Combo = { gates: c.gates === 'absent' ? 'absent' : 'pass', review: c.review === 'absent' ? 'absent' : 'pass', simulateBlocked: false, decision: c.decision === 'absent' ? 'absent' : 'proceed' };
      const resumed = await runOrchestration(configOf(passing, dirs, true));
      expect(resumed.exitCode).toBe(0);
      expect(reportOf(dirs.outputDir).terminal_state).toBe('done');
      expect(sideEffects(dirs.sideEffects)).toEqual(['execution 1']);
    });
  }
});

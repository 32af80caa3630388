/**
 * Model-based test of the `pr_risk` state after closure: every path of the machine when each
 * validation may pass or fail and each fix may apply or fail to start (auto-fix with 0, 1 and 2
 * attempts), for each PR risk setting (none, scored only, --auto-merge-on-eligible with a threshold
 * of 6 and of 5). Each path's end, and the score it leaves, are checked against an oracle written out
 * by hand from upstream's rules: one failed validation pass or two score 6 (`test_stability`), none 0.
 * Each again with the delivery's dry run on (the `delivery` state between closure and pr_risk), which
 * changes no end.
 */
import { describe, it } from 'vitest';
import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { baseSettings, statesEntered } from './loop-model.js';
import type { LoopSettings, LoopState } from '../../machines/loops.js';
import type { DeliverySettings } from '../../machines/delivery.js';
import type { PrRiskSettings } from '../../machines/pr-risk.js';
import { orchestrationMachine } from '../../src/index.js';

const SETTINGS: Record<string, PrRiskSettings | null> = {
  none: null,
  scored: { threshold: 40, autoMerge: false },
  'auto-merge, threshold 6': { threshold: 6, autoMerge: true },
  'auto-merge, threshold 5': { threshold: 5, autoMerge: true },
};

const DELIVERY: DeliverySettings = { branch: 'feat/x', commitMessage: null, pr: null };

function settingsOf(max: number, prRisk: PrRiskSettings | null, delivery: DeliverySettings | null = null): LoopSettings {
  return baseSettings({
    autofix: { bin: 'fixer', args: [], maxAttempts: max },
    prRisk,
    delivery,
  });
}

function events(snapshot: { value: unknown; status: string }): EventObject[] {
  if (snapshot.status !== 'active') return [];
  const stage = String(snapshot.value);
  const done = (status: string) => ({ type: 'xstate.done.actor.stageWork', output: { stage, status, error: null, completedSteps: [], spentCost: 0 } });
  if (stage === 'autofix') {
    const attempt = (status: string) => ({ type: 'xstate.done.actor.autofixWork', output: { attempt: { attempt_number: 0, autofix_bin: 'fixer', exit_code: 0, status, started_at_unix_secs: 0, duration_ms: 0, reason_code: 'AUTOFIX_ATTEMPT_APPLIED' }, error: null } });
    return [attempt('applied'), attempt('spawn_failed')];
  }
  return stage === 'validation' ? [done('success'), done('failed')] : [done('success')];
}

/** The oracle: how a path that reached closure ends, and the score it leaves (null: not scored). */
function oracle(prRisk: PrRiskSettings | null, failedValidations: number): { end: string; score: number | null; code: string | null } {
  if (prRisk === null) return { end: 'done', score: null, code: null };
  const score = failedValidations === 0 ? 0 : failedValidations < 3 ? 6 : 12;
  if (!prRisk.autoMerge) return { end: 'done', score, code: null };
  return score <= prRisk.threshold ? { end: 'done', score, code: 'PR_RISK_ELIGIBLE_FOR_AUTO_MERGE' } : { end: 'blocked', score, code: 'PR_RISK_ABOVE_THRESHOLD' };
}

describe('the pr_risk state after closure (and the delivery\'s dry run before it), on every path', () => {
  let total = 0;
  let scored = 0;
  for (const max of [0, 1, 2]) {
    for (const [name, prRisk] of Object.entries(SETTINGS)) {
      for (const delivery of [null, DELIVERY]) {
        it(`auto-fix ${max} attempt(s), PR risk ${name}${delivery ? ', delivery dry run' : ''}`, ({ expect }) => {
          const paths = getSimplePaths(orchestrationMachine, { input: { runId: 'model', simulateBlocked: false, loops: settingsOf(max, prRisk, delivery) }, events: events as never }).filter(
            (path) => path.state.status === 'done',
          );
          total += paths.length;
          // Paths that passed closure: validation passed after 0..max failed passes.
          const closed = paths.filter((path) => (path.state.context.loops as LoopState).closureReached === true);
          expect(closed).toHaveLength(max + 1);
          for (const path of closed) {
            const loops = path.state.context.loops as LoopState;
            const failed = (loops.autofixAttempts ?? []).length;
            const want = oracle(prRisk, failed);
            expect(String(path.state.value), `${failed} failed validation(s)`).toBe(want.end);
            expect(loops.prRisk?.total_score ?? null).toBe(want.score);
            expect(loops.prRiskCode ?? null).toBe(want.code);
            if (loops.prRisk) scored++;
          }
          // A path that ended before closure is never scored by the machine.
          for (const path of paths.filter((p) => !closed.includes(p))) expect((path.state.context.loops as LoopState).prRisk).toBeUndefined();
        });
      }
    }
  }

  // Per setting: 0 attempts P, F; 1 attempt P, FAP, FAF, FS; 2 attempts P, FAP, FAFAP, FAFAF, FAFS, FS
  // (P pass, F fail, A fix applied, S fix cannot start): 2 + 4 + 6 paths, 1 + 2 + 3 of them reach closure.
  it('adds up: 2 + 4 + 6 paths per setting, 48 in all, twice (with and without delivery); the 3 scoring settings score 36 closures', ({ expect }) => {
    expect([total, scored]).toEqual([96, 36]);
  });

  it('a run that passes closure enters delivery, which records its commands, then pr_risk', async ({ expect }) => {
    const records: string[] = [];
    const machine = orchestrationMachine.provide({
      actors: { runStage: fromPromise(async ({ input }: { input: { stage: string } }) => ({ stage: input.stage, status: 'success', error: null, completedSteps: [], spentCost: 0 })) as never },
      actions: { recordLoop: (_: unknown, record: { command: string; idempotency_key: string }) => void records.push(`${record.idempotency_key} ${record.command}`) },
    });
    const states = await statesEntered(machine, { runId: 'model', simulateBlocked: false, loops: settingsOf(0, SETTINGS.scored!, DELIVERY) });
    expect(states.slice(states.indexOf('closure'))).toEqual(['closure', 'delivery', 'pr_risk', 'done']);
    expect(records).toEqual(['stage:Closure:delivery:1 delivery.git.switch_branch.dry_run', 'stage:Closure:delivery:2 delivery.git.add.dry_run']);
  });
});

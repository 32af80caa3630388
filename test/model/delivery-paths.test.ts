/**
 * Model-based test of a real delivery (the state `delivery_step` after closure): every path of the
 * machine when each of the delivery's commands may succeed, fail or time out. The oracle is written
 * out by hand from upstream's rules: all four commands succeed and the run is done (through pr_risk
 * when it is scored); the first that fails ends the run failed, one that times out timeout, the
 * commands after it never run, and the count that succeeded is what a resume goes on from.
 */
import { describe, it } from 'vitest';
import type { EventObject } from 'xstate';
import { fromPromise } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { baseSettings, statesEntered } from './loop-model.js';
import type { DeliverySettings, DeliveryStepInput } from '../../machines/delivery.js';
import type { LoopState } from '../../machines/loops.js';
import { orchestrationMachine } from '../../src/index.js';

const DELIVERY: DeliverySettings = { dryRun: false, branch: 'feat/x', commitMessage: 'Fix it', pr: { number: null, base: 'main', title: null, body: null } };
// Upstream's order, written out.
const COMMANDS = ['delivery.git.switch_branch', 'delivery.git.add', 'delivery.git.commit', 'delivery.gh.pr.create'];

function events(snapshot: { value: unknown; status: string; context: unknown }): (EventObject & { output: unknown })[] {
  if (snapshot.status !== 'active') return [];
  const state = String(snapshot.value);
  if (state === 'delivery_step') {
    const index = ((snapshot.context as { loops: LoopState }).loops.delivered ?? 0) + 1;
    const done = (status: string) => ({ type: 'xstate.done.actor.deliveryWork', output: { index, step: COMMANDS[index - 1], status, error: status === 'success' ? null : 'Delivery command failed' } });
    return [done('success'), done('failed'), done('timeout')];
  }
  return [{ type: 'xstate.done.actor.stageWork', output: { stage: state, status: 'success', error: null, completedSteps: [], spentCost: 0 } }];
}

describe('a real delivery, on every path', () => {
  for (const prRisk of [null, { threshold: 40, autoMerge: false }]) {
    it(`each command succeeds, fails or times out${prRisk ? ' (PR risk scored)' : ''}: 1 path done, 4 failed, 4 timed out`, ({ expect }) => {
      const input = { runId: 'model', simulateBlocked: false, loops: baseSettings({ delivery: DELIVERY, prRisk }) };
      const paths = getSimplePaths(orchestrationMachine, { input, events: events as never }).filter((path) => path.state.status === 'done');
      const ends = paths.map((path) => {
        const { loops, failure } = path.state.context as { loops: LoopState; failure: { step?: string; status: string } | null };
        return [String(path.state.value), loops.delivered ?? 0, failure?.step ?? null, failure?.status ?? null, loops.prRisk !== undefined];
      });
      const scored = prRisk !== null;
      expect(ends.sort()).toEqual(
        [
          ['done', 4, null, null, scored],
          ['failed', 0, COMMANDS[0], 'failed', false],
          ['failed', 1, COMMANDS[1], 'failed', false],
          ['failed', 2, COMMANDS[2], 'failed', false],
          ['failed', 3, COMMANDS[3], 'failed', false],
          ['timeout', 0, COMMANDS[0], 'timeout', false],
          ['timeout', 1, COMMANDS[1], 'timeout', false],
          ['timeout', 2, COMMANDS[2], 'timeout', false],
          ['timeout', 3, COMMANDS[3], 'timeout', false],
        ].sort(),
      );
    });
  }

  it('runs the commands one by one, each given its index and command, then pr_risk; a dry run runs none', async ({ expect }) => {
    const given: string[] = [];
    const machine = orchestrationMachine.provide({
      actors: {
        runStage: fromPromise(async ({ input }: { input: { stage: string } }) => ({ stage: input.stage, status: 'success', error: null, completedSteps: [], spentCost: 0 })) as never,
        runDeliveryStep: fromPromise(async ({ input }: { input: DeliveryStepInput }) => {
          given.push(`${input.index} ${input.step.id} ${input.step.bin} ${input.step.args.join(' ')}`);
          return { index: input.index, step: input.step.id, status: 'success', error: null };
        }) as never,
      },
    });
    const states = await statesEntered(machine, { runId: 'model', simulateBlocked: false, loops: baseSettings({ delivery: DELIVERY, prRisk: { threshold: 40, autoMerge: false } }) });
    expect(states.slice(states.indexOf('closure'))).toEqual(['closure', 'delivery_step', 'pr_risk', 'done']);
    expect(given).toEqual(['1 delivery.git.switch_branch git switch -c feat/x', '2 delivery.git.add git add -A', '3 delivery.git.commit git commit -m Fix it', '4 delivery.gh.pr.create gh pr create --base main --head feat/x']);
    given.length = 0;
    const dry = await statesEntered(machine, { runId: 'model', simulateBlocked: false, loops: baseSettings({ delivery: { ...DELIVERY, dryRun: true } }) });
    expect(dry.slice(dry.indexOf('closure'))).toEqual(['closure', 'delivery', 'done']);
    expect(given).toEqual([]);
  });
});

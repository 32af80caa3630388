/**
 * The run's lifecycle as states of the machine: an interrupt (a signal, an error of the run's own)
 * ends the run from whatever state it stands in, in `interrupted`; the wall clock is an actor the
 * machine invokes for the whole run. What a user sees of it (exit codes, the checkpoint, resume)
 * is tested in test/cli/; here, the machine itself.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, transition } from 'xstate';
import { type StageWorkInput, type StageWorkOutput, orchestrationMachine } from '../../src/index.js';
import type { OrchestrationEvent } from '../../machines/orchestration.js';

// Written out by hand: every state that is not final.
const NOT_FINAL = [
  'hard_gates', 'planning', 'planning_context', 'policy_ingestion', 'execution', 'validation', 'autofix', 'gates', 'review_ensemble',
  'decision', 'closure', 'delivery', 'delivery_step', 'pr_risk', 'autonomous_check', 'autonomous_decide', 'awaiting_approval', 'budget_exceeded', 'roi_below_floor',
];
const FINAL = ['done', 'blocked', 'failed', 'timeout', 'interrupted'];

const input = { runId: 'run_1_lifecycle', simulateBlocked: false };

describe('INTERRUPT', () => {
  it('takes every state that is not final to interrupted, recording what stopped the run', () => {
    const states = Object.keys(orchestrationMachine.root.states);
    expect([...states].sort()).toEqual([...NOT_FINAL, ...FINAL].sort());
    for (const value of NOT_FINAL) {
      const snapshot = orchestrationMachine.resolveState({ value, context: { ...baseContext() } });
      const [next] = transition(orchestrationMachine, snapshot, { type: 'INTERRUPT', by: 'SIGTERM' });
      expect([value, next.value, next.status]).toEqual([value, 'interrupted', 'done']);
      expect(next.context.interruptedBy).toBe('SIGTERM');
      // Nothing else of the context changes: the progress is what the checkpoint keeps.
      const { interruptedBy: _, ...rest } = next.context;
      expect(rest).toEqual(snapshot.context);
    }
  });

  it('is not a terminal state of the run: nothing leaves it, and a fresh run never records interruptedBy', () => {
    const machine = orchestrationMachine.provide({ actors: { runStage: fromPromise<StageWorkOutput, StageWorkInput>(() => new Promise(() => {})) as never } });
    const actor = createActor(machine, { input }).start();
    expect('interruptedBy' in actor.getSnapshot().context).toBe(false);
    actor.send({ type: 'INTERRUPT', by: 'SIGINT' });
    const events: OrchestrationEvent[] = [{ type: 'RESUME', approvals: [] }, { type: 'WALL_TIMEOUT' }, { type: 'INTERRUPT', by: 'SIGTERM' }];
    for (const event of events) {
      actor.send(event);
      const snapshot = actor.getSnapshot();
      expect([snapshot.value, snapshot.status, snapshot.context.interruptedBy]).toEqual(['interrupted', 'done', 'SIGINT']);
    }
  });

  it('stops the stage under way: its work is aborted, and the wall clock is stopped with the run', async () => {
    const aborted: string[] = [];
    let clockStopped = 0;
    let clockStarted = 0;
    const machine = orchestrationMachine.provide({
      actors: {
        runStage: fromPromise<StageWorkOutput, StageWorkInput>(
          ({ input: work, signal }) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => {
                aborted.push(work.stage);
                reject(new Error('aborted'));
              });
            }),
        ) as never,
        wallClock: fromCallback(() => {
          clockStarted += 1;
          return () => {
            clockStopped += 1;
          };
        }),
      },
    });
    const actor = createActor(machine, { input }).start();
    expect(actor.getSnapshot().value).toBe('planning');
    expect(clockStarted).toBe(1);
    actor.send({ type: 'INTERRUPT', by: 'SIGINT' });
    const end = actor.getSnapshot();
    expect([end.value, end.status, end.context.interruptedBy]).toEqual(['interrupted', 'done', 'SIGINT']);
    expect(aborted).toEqual(['planning']);
    expect(clockStopped).toBe(1);
  });
});

describe('the wall clock', () => {
  it('is invoked by the machine for the whole run; its WALL_TIMEOUT ends the stage under way in timeout', async () => {
    let expire: (() => void) | null = null;
    const machine = orchestrationMachine.provide({
      actors: {
        runStage: fromPromise<StageWorkOutput, StageWorkInput>(() => new Promise(() => {})) as never,
        wallClock: fromCallback(({ sendBack }) => {
          expire = () => sendBack({ type: 'WALL_TIMEOUT' });
        }),
      },
    });
    const actor = createActor(machine, { input }).start();
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual(['stageWork', 'wallClock']);
    // Persisted with the run, so that a resumed run's clock goes on.
    expect(Object.keys((actor.getPersistedSnapshot() as any).children).sort()).toEqual(['stageWork', 'wallClock']);
    expect(expire).not.toBeNull();
    expire!();
    const end = actor.getSnapshot();
    expect([end.value, end.status]).toEqual(['timeout', 'done']);
    expect(end.context.failure).toEqual({ stage: 'planning', status: 'timeout', error: 'the run exceeded its maxWallMs' });
  });
});

describe('WALL_TIMEOUT where no stage runs', () => {
  it('ends a halted run (resumed after its wall budget was spent) in timeout, at the stage it halted in', () => {
    for (const value of ['awaiting_approval', 'budget_exceeded', 'roi_below_floor']) {
      const halt = { reason: 'approval_required' as const, stage: 'execution' as const, gate: 'stage:execution' };
      const snapshot = orchestrationMachine.resolveState({ value, context: { ...baseContext(), halt } });
      const [next] = transition(orchestrationMachine, snapshot, { type: 'WALL_TIMEOUT' });
      expect([value, next.value, next.context.failure]).toEqual([value, 'timeout', { stage: 'execution', status: 'timeout', error: 'the run exceeded its maxWallMs' }]);
    }
  });

  it('ends the autonomous loop between two runs in timeout, at the stage the last run ended in', () => {
    const failure = { stage: 'validation' as const, status: 'failed' as const, error: 'x' };
    const snapshot = orchestrationMachine.resolveState({ value: 'autonomous_check', context: { ...baseContext(), failure } });
    const [next] = transition(orchestrationMachine, snapshot, { type: 'WALL_TIMEOUT' });
    expect([next.value, next.context.failure]).toEqual(['timeout', { stage: 'validation', status: 'timeout', error: 'the run exceeded its maxWallMs' }]);
  });

  it('in a stage, names that stage (the stage\'s own transition comes before the machine\'s)', () => {
    const snapshot = orchestrationMachine.resolveState({ value: 'policy_ingestion', context: { ...baseContext(), failure: null } });
    const [next] = transition(orchestrationMachine, snapshot, { type: 'WALL_TIMEOUT' });
    expect([next.value, next.context.failure?.stage]).toEqual(['timeout', 'policy_ingestion']);
  });
});

function baseContext() {
  return createActor(orchestrationMachine, { input }).getSnapshot().context;
}

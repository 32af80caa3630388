/**
 * The event log converts inspection events itself instead of loading `@statelyai/inspect` (whose
 * transports cost every run its start-up time). These tests hold that conversion to the package's:
 * the same run, watched by both, gives the same messages.
 */
import { join } from 'node:path';
import { createInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { expect, it } from 'vitest';
import { createMessageTap } from '../../src/inspect/messages.js';
import { runOrchestration } from '../../src/run/orchestrate.js';
import { fixtureStep, traceOf } from '../plans/plan-runs.js';
import { STAGE, tempDir } from '../support/cli.js';

/** Both converters see every event; returns what each sent, in order. */
async function watchBoth<T>(run: (inspect: (event: InspectionEvent) => void) => Promise<T>) {
  const ours: unknown[] = [];
  const theirs: unknown[] = [];
  const tap = createMessageTap((messages) => ours.push(...messages));
  const inspector = createInspector({ send: (message: unknown) => theirs.push(message), start: () => {}, stop: () => {} });
  const result = await run((event) => {
    tap.inspect(event);
    inspector.inspect.next?.(event);
  });
  await tap.settled();
  await new Promise((resolve) => setTimeout(resolve, 10));
  // Each side stamps its own creation time; everything else must match, byte for byte once written.
  const normalize = (messages: unknown[]) => messages.map((m) => JSON.stringify({ ...(m as object), createdAt: 'T' }));
  return { ours: normalize(ours), theirs: normalize(theirs), result };
}

it('converts a V0 run (two programs, five stages) exactly as @statelyai/inspect does', async () => {
  const dir = tempDir();
  const { ours, theirs } = await watchBoth((inspect) =>
    runOrchestration(
      { outputDir: join(dir, 'out'), plan: { version: 1, stages: { planning: [{ id: 'manager', bin: STAGE, args: ['ok'] }], execution: [{ id: 'executor', bin: STAGE, args: ['ok'] }] } } },
      { inspect },
    ),
  );
  expect(ours.length).toBeGreaterThan(20);
  expect(ours).toEqual(theirs);
  const types = new Set(ours.map((line) => (JSON.parse(line) as { type: string }).type));
  expect([...types].sort()).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
});

it('converts a multi-step plan with a step that fails then passes on retry, and an approval halt, exactly as @statelyai/inspect does', async () => {
  const dir = tempDir();
  const trace = join(dir, 'trace.jsonl');
  const { ours, theirs, result } = await watchBoth((inspect) =>
    runOrchestration(
      {
        outputDir: join(dir, 'out'),
        concurrency: 2,
        plan: {
          version: 1,
          requireApproval: ['validation'],
          stages: {
            execution: [fixtureStep('a', trace), fixtureStep('b', trace, { 'fail-attempts': 1 }, { retries: { max: 1, backoffMs: 1 } }), fixtureStep('c', trace, {}, { needs: ['a'] })],
          },
        },
      },
      { inspect },
    ),
  );
  expect(ours.length).toBeGreaterThan(20);
  expect(ours).toEqual(theirs);
  // The run went where this test says: b failed once and passed on its retry, then the approval gate halted the run.
  expect(result.exitCode).toBe(3);
  expect(traceOf(trace).filter((line) => line.event === 'start' && line.step === 'b').length).toBe(2);
  expect(ours.some((line) => line.includes('awaiting_approval'))).toBe(true);
});

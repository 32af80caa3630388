/**
 * A queued run that stops at an approval: the worker records it `blocked`; `approve --store` of the
 * gate it waits at queues it again, and a worker resumes it to the end, running no step twice.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixtureStep, startsOf, traceOf, writePlan } from '../plans/plan-runs.js';
import { runCli, tempDir } from '../support/cli.js';
import { WORKER_TEST_MS, type Queue, describeWithQueue, startWorker, submit, until } from './queue-support.js';

async function untilState(queue: Queue, runId: string, state: string): Promise<void> {
  await until(queue, (rows) => rows.find((row) => row.run_id === runId)?.state === state, `run ${runId} to be ${state}`);
}

describeWithQueue('a queued run that waits for an approval', (queue) => {
  it('stops blocked; approving another gate leaves it so; approving its gate queues it again and a worker carries it to done', async () => {
    const dir = tempDir('ao-queue-approval-');
    const trace = join(dir, 'trace');
    const plan = writePlan(dir, { requireApproval: ['execution'], stages: { planning: [fixtureStep('p', trace)], execution: [fixtureStep('e', trace)] } });
    await submit(queue, plan, 'gated');
    const worker = startWorker(queue, join(dir, 'work'));
    try {
      await untilState(queue, 'gated', 'blocked');
      expect(startsOf(traceOf(trace)).map((line) => line.step)).toEqual(['p']);

      const elsewhere = await runCli(['approve', '--store', queue.address, '--run-id', 'gated', '--gate', 'stage:closure']);
      expect(elsewhere.exitCode, elsewhere.stderr).toBe(0);
      expect(elsewhere.stdout).toContain('run again with --resume');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await queue.rows()).find((row) => row.run_id === 'gated')?.state).toBe('blocked');

      const approved = await runCli(['approve', '--store', queue.address, '--run-id', 'gated', '--by', 'dana']);
      expect(approved.exitCode, approved.stderr).toBe(0);
      expect(approved.stdout.trim()).toBe('Approved stage:execution for run gated (by dana); queued again for the workers');
      await untilState(queue, 'gated', 'done');
      expect(startsOf(traceOf(trace)).map((line) => line.step)).toEqual(['p', 'e']);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.done;
    }
  }, WORKER_TEST_MS);
});

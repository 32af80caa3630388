/**
 * Fencing: a worker that lost its run (paused past its lock, another worker took the run) cannot
 * write its stale checkpoint, nor its execution records, over the progress of the worker that took
 * the run over. BullMQ's lock does not stop it; the store's lease token, which only grows, does.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { RedisCheckpointStore } from '../../src/checkpoint/redis-store.js';
import { RunView } from '../../src/checkpoint/run-view.js';
import { executionLogOf, runExecutionLog } from '../../src/report/execution-log.js';
import { runOrchestration } from '../../src/run/orchestrate.js';
import { fixtureStep, traceOf, writePlan } from '../plans/plan-runs.js';
import { checkpointFor } from '../stores/contract.js';
import { runCli, tempDir, waitFor } from '../support/cli.js';
import { WORKER_TEST_MS, describeWithQueue, startWorker, submit, until } from './queue-support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithQueue('fencing of checkpoint writes by the lease token', (queue) => {
  it("a run whose lease was taken over mid-step: its next execution record and checkpoint write are refused, the new owner's kept", async () => {
    const dir = tempDir('ao-fence-');
    const store = new RedisCheckpointStore(queue.address);
    try {
      const plan = { stages: { planning: [fixtureStep('s1', join(dir, 'trace'), { sleep: 900 })] } };
      const view = new RunView(store, 'run_fenced', { leaseMs: 10_000 });
      const executionLog = runExecutionLog(executionLogOf(store), 'run_fenced', 'stale-worker', () => view.leaseToken);
      const running = runOrchestration({ outputDir: join(dir, 'out'), plan }, { store: view, runId: 'run_fenced', executionLog });
      await waitFor(() => traceOf(join(dir, 'trace')).length > 0, 30_000, 's1 to start');
      // The new owner takes the lease over (as a worker that BullMQ gave the run to does) and writes its progress.
      const owner = (await store.acquireLease('run_fenced', 'new-worker', 10_000, { takeOver: true }))!;
      const current = (await store.read('run_fenced'))!;
      await store.write('run_fenced', checkpointFor('run_fenced', 42), { revision: current.revision, leaseToken: owner.token });
      const before = await queue.redis.hgetall(`${queue.prefix}ckpt:run_fenced`);
      await expect(running).rejects.toThrow(/refused: .*lease token \d+ is no longer the live lease/);
      expect(await executionLogOf(store).forRun('run_fenced')).toEqual([]);
      expect(await queue.redis.hgetall(`${queue.prefix}ckpt:run_fenced`)).toEqual(before);
      expect((await store.read('run_fenced'))!.checkpoint.updated_at_unix_secs).toBe(42);
      expect(owner.token).toBeGreaterThan(view.leaseToken!);
    } finally {
      await store.close();
    }
  }, WORKER_TEST_MS);

  it("a worker SIGSTOPped past its lock and then SIGCONTed changes nothing: the run is the other worker's, ends done, and its steps are counted once", async () => {
    const dir = tempDir('ao-fence-');
    const trace = join(dir, 'trace');
    const plan = writePlan(dir, {
      stages: { planning: [fixtureStep('s1', trace, { sleep: 1_500 })], execution: [fixtureStep('s2', trace, { sleep: 100 })] },
    });
    await submit(queue, plan, 'run_paused');
    const first = startWorker(queue, join(dir, 'worker-1'), 800);
    let firstLog = '';
    first.child.stderr!.on('data', (chunk) => (firstLog += chunk));
    await waitFor(() => traceOf(trace).some((t) => t.event === 'start' && t.step === 's1'), 30_000, 's1 to start');
    first.child.kill('SIGSTOP');
    const second = startWorker(queue, join(dir, 'worker-2'), 800);
    try {
      const [done] = await until(queue, (rows) => rows[0]?.state === 'done', 'the run to end done');
      expect(done!.starts).toBe(2);
      expect(done!.worker).toContain(`:${second.child.pid}:`);

      first.child.kill('SIGCONT');
      // Its s1 ended while it was stopped: on waking it makes that record, then finds its lease lost.
      await waitFor(() => /run run_paused: (lost its lease|refused)/.test(firstLog), 30_000, 'the paused worker to find its lease lost');
      await sleep(500);
      const [after] = await queue.rows();
      expect([after!.state, after!.revision, after!.document]).toEqual([done!.state, done!.revision, done!.document]);
      expect(firstLog).not.toMatch(/run run_paused: ended/);
      const starts = traceOf(trace).filter((t) => t.event === 'start');
      expect(starts.filter((t) => t.step === 's1')).toHaveLength(2);
      expect(starts.filter((t) => t.step === 's2')).toHaveLength(1);
      const status = await runCli(['status', '--store', queue.address, '--json']);
      expect(JSON.parse(status.stdout.trim()).steps).toEqual({ 'planning/s1': { success: 1, failure: 0 }, 'execution/s2': { success: 1, failure: 0 } });
    } finally {
      first.child.kill('SIGCONT');
      first.child.kill('SIGTERM');
      second.child.kill('SIGTERM');
      expect((await first.done).exitCode).toBe(0);
      expect((await second.done).exitCode).toBe(0);
    }
  }, WORKER_TEST_MS);
});

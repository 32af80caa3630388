/**
 * Fencing: a worker that lost its lease cannot write its stale checkpoint over the progress of
 * the worker that took the run over.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { PostgresCheckpointStore } from '../../src/checkpoint/postgres-store.js';
import { RunView } from '../../src/checkpoint/run-view.js';
import { runOrchestration } from '../../src/run/orchestrate.js';
import { fixtureStep, traceOf, writePlan } from '../plans/plan-runs.js';
import { checkpointFor } from '../stores/contract.js';
import { tempDir, waitFor } from '../support/cli.js';
import { describeWithQueue, startWorker, submit } from './queue-support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithQueue('fencing of checkpoint writes by the lease token', (queue) => {
  it('a run whose lease expired and was taken over mid-step: its next checkpoint write is refused, the new owner\'s kept', async () => {
    const dir = tempDir('ao-fence-');
    const store = new PostgresCheckpointStore(queue.dsn);
    try {
      // The stale holder: a lease nobody renews (as if its process were paused).
      const stale = (await store.acquireLease('run_fenced', 'paused-worker', 400))!;
      const plan = { stages: { planning: [fixtureStep('s1', join(dir, 'trace'), { sleep: 900 })] } };
      const running = runOrchestration({ outputDir: join(dir, 'out'), plan }, { store: new RunView(store, 'run_fenced', { lease: stale }), runId: 'run_fenced' });
      await sleep(600);
      // The new owner takes the expired lease and writes its progress.
      const owner = (await store.acquireLease('run_fenced', 'new-worker', 10_000))!;
      const current = (await store.read('run_fenced'))!;
      await store.write('run_fenced', checkpointFor('run_fenced', 42), { revision: current.revision, leaseToken: owner.token });
      const before = (await queue.rows())[0]!;
      await expect(running).rejects.toThrow(
        new RegExp(`cannot write checkpoint .*run_fenced.*refused: lease token ${stale.token} is no longer the live lease \\(now ${owner.token}\\)`),
      );
      const after = (await queue.rows())[0]!;
      expect([after.revision, after.sha256, after.document]).toEqual([before.revision, before.sha256, before.document]);
      expect((await store.read('run_fenced'))!.checkpoint.updated_at_unix_secs).toBe(42);
    } finally {
      await store.close();
    }
  });

  it('a worker SIGSTOPped past its lease and then SIGCONTed changes nothing: the run is the other worker\'s, and ends done', async () => {
    const dir = tempDir('ao-fence-');
    const trace = join(dir, 'trace');
    const plan = writePlan(dir, {
      stages: { planning: [fixtureStep('s1', trace, { sleep: 1_500 })], execution: [fixtureStep('s2', trace, { sleep: 100 })] },
    });
    await submit(queue, plan, 'run_paused');
    const first = startWorker(queue, join(dir, 'worker-1'), 800);
    let firstLog = '';
    first.child.stderr!.on('data', (chunk) => (firstLog += chunk));
    await waitFor(() => traceOf(trace).some((t) => t.event === 'start' && t.step === 's1'), 10_000, 's1 to start');
    first.child.kill('SIGSTOP');
    const second = startWorker(queue, join(dir, 'worker-2'), 800);
    try {
      for (let i = 0; i < 100 && (await queue.rows())[0]!.state !== 'done'; i++) await sleep(100);
      const done = (await queue.rows())[0]!;
      expect(done.state).toBe('done');
      expect(done.claims).toBe(2);

      first.child.kill('SIGCONT');
      await waitFor(() => /run run_paused: (lost its lease|refused)/.test(firstLog), 5_000, 'the paused worker to find its lease lost');
      await sleep(500);
      const after = (await queue.rows())[0]!;
      expect([after.state, after.revision, after.sha256, after.document]).toEqual([done.state, done.revision, done.sha256, done.document]);
      expect(firstLog).not.toMatch(/run run_paused: ended/);
      const starts = traceOf(trace).filter((t) => t.event === 'start');
      expect(starts.filter((t) => t.step === 's1').length).toBeLessThanOrEqual(2);
      expect(starts.filter((t) => t.step === 's2')).toHaveLength(1);
    } finally {
      first.child.kill('SIGCONT');
      first.child.kill('SIGTERM');
      second.child.kill('SIGTERM');
      expect((await first.done).exitCode).toBe(0);
      expect((await second.done).exitCode).toBe(0);
    }
  }, 30_000);
});

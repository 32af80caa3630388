/**
 * What the engine gives, as a user drives it: priorities and delays keep the order they promise,
 * a schedule produces runs until it is removed, a paused queue starts nothing, a drained one loses
 * its waiting runs, and a failed run comes back with `retry` and resumes from its checkpoint.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixtureStep, startsOf, traceOf, writePlan } from '../plans/plan-runs.js';
import { runCli, tempDir } from '../support/cli.js';
import { WORKER_TEST_MS, describeWithQueue, startWorker, submit, until, withWorker } from './queue-support.js';

describeWithQueue('the queue: order, schedules, pause, drain, retry, rate limit', (queue) => {
  it('--priority: a paused queue, resumed, starts runs by priority (1 first); --delay-ms and --at start no sooner than asked', async () => {
    const dir = tempDir('ao-order-');
    const trace = join(dir, 'trace');
    const plan = (id: string) => writePlan(dir, { stages: { planning: [fixtureStep(id, trace)] } }, `${id}.json`);
    expect((await runCli(['queue', 'pause', '--store', queue.address])).stdout).toMatch(/paused/);
    await submit(queue, plan('low'), 'run_low', ['--priority', '10']);
    await submit(queue, plan('high'), 'run_high', ['--priority', '1']);
    await submit(queue, plan('mid'), 'run_mid', ['--priority', '5']);
    const delayedAt = Date.now();
    await submit(queue, plan('later'), 'run_later', ['--delay-ms', '1500', '--priority', '20']);
    const at = new Date(Date.now() + 1_200);
    await submit(queue, plan('at'), 'run_at', ['--at', at.toISOString(), '--priority', '20']);
    await withWorker(startWorker(queue, join(dir, 'w')), async () => {
      // Paused: nothing starts while the worker waits.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(startsOf(traceOf(trace))).toEqual([]);
      expect((await runCli(['queue', 'resume', '--store', queue.address])).exitCode).toBe(0);
      const rows = await until(queue, (all) => all.length === 5 && all.every((row) => row.state === 'done'), 'the five runs to end');
      const order = startsOf(traceOf(trace)).map((line) => line.step);
      expect(order.slice(0, 3)).toEqual(['high', 'mid', 'low']);
      const startOf = (id: string) => rows.find((row) => row.run_id === id)!.startedAtMs!;
      expect(startOf('run_later') - delayedAt).toBeGreaterThanOrEqual(1_500);
      expect(startOf('run_at')).toBeGreaterThanOrEqual(at.getTime());
    });
  }, WORKER_TEST_MS);

  it('submit --every: a schedule produces runs (run ids repeat.<id>.<ms>) until unschedule; schedules lists it', async () => {
    const dir = tempDir('ao-every-');
    const trace = join(dir, 'trace');
    const plan = writePlan(dir, { stages: { planning: [fixtureStep('tick', trace)] } });
    const added = await runCli(['submit', '--plan', plan, '--store', queue.address, '--run-id', 'nightly', '--every', '* * * * * *']);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).toBe('nightly\n');
    const listed = await runCli(['schedules', '--store', queue.address, '--json']);
    expect(JSON.parse(listed.stdout.trim())).toMatchObject({ id: 'nightly', pattern: '* * * * * *' });
    await withWorker(startWorker(queue, join(dir, 'w')), async () => {
      const rows = await until(queue, (all) => all.filter((row) => row.state === 'done').length >= 2, 'two scheduled runs to end');
      for (const row of rows.filter((r) => r.state === 'done')) expect(row.run_id).toMatch(/^repeat\.nightly\.\d+$/);
      expect(new Set(startsOf(traceOf(trace)).map((line) => line.runId)).size).toBeGreaterThanOrEqual(2);
      const removed = await runCli(['unschedule', 'nightly', '--store', queue.address]);
      expect(removed.exitCode, removed.stderr).toBe(0);
      expect((await runCli(['schedules', '--store', queue.address])).stdout).toMatch(/^no schedules/);
      const again = await runCli(['unschedule', 'nightly', '--store', queue.address]);
      expect(again.exitCode).toBe(1);
      expect(again.stderr).toMatch(/unschedule: no schedule nightly/);
    });
  }, WORKER_TEST_MS);

  it('a bad --every or --at is a one-line usage error naming the flag, exit 2', async () => {
    const dir = tempDir('ao-every-bad-');
    const plan = writePlan(dir, { stages: {} });
    const cron = await runCli(['submit', '--plan', plan, '--store', queue.address, '--every', 'every night']);
    expect(cron.exitCode).toBe(2);
    expect(cron.stderr.split('\n')[0]).toMatch(/--every "every night": not a cron pattern/);
    const at = await runCli(['submit', '--plan', plan, '--store', queue.address, '--at', 'tomorrow']);
    expect(at.exitCode).toBe(2);
    expect(at.stderr.split('\n')[0]).toMatch(/--at takes an ISO 8601 time/);
  });

  it('a failed run is kept failed; retry queues it again and a worker resumes it from its checkpoint; drain removes waiting runs; clean forgets finished ones', async () => {
    const dir = tempDir('ao-retry-');
    const trace = join(dir, 'trace');
    const plan = writePlan(dir, { stages: { planning: [fixtureStep('ok', trace)], execution: [fixtureStep('flaky', trace, { 'fail-attempts': 1 })] } });
    await submit(queue, plan, 'run_flaky');
    await withWorker(startWorker(queue, join(dir, 'w')), async () => {
      await until(queue, (rows) => rows[0]?.state === 'failed', 'the run to fail');
      expect((await runCli(['retry', 'run_nope', '--store', queue.address])).exitCode).toBe(1);
      const retried = await runCli(['retry', 'run_flaky', '--store', queue.address]);
      expect(retried.exitCode, retried.stderr).toBe(0);
      await until(queue, (rows) => rows[0]?.state === 'done', 'the retried run to end done');
      expect(startsOf(traceOf(trace)).map((line) => `${line.step}#${line.attempt}`)).toEqual(['ok#1', 'flaky#1', 'flaky#2']);

      expect((await runCli(['queue', 'pause', '--store', queue.address])).exitCode).toBe(0);
      await submit(queue, plan, 'run_waiting');
      await submit(queue, plan, 'run_delayed', ['--delay-ms', '60000']);
      const drained = await runCli(['queue', 'drain', '--store', queue.address]);
      expect(drained.exitCode, drained.stderr).toBe(0);
      expect((await queue.rows()).map((row) => [row.run_id, row.state])).toEqual([['run_flaky', 'done']]);

      // Finished runs are forgotten by the queue on demand; their checkpoints stay, and status still lists them.
      expect((await runCli(['queue', 'clean', '--store', queue.address])).exitCode).toBe(2);
      const cleaned = await runCli(['queue', 'clean', '--older-than-days', '0', '--store', queue.address]);
      expect(cleaned.stdout).toMatch(/: 1 finished run\(s\) forgotten/);
      expect(await queue.rows()).toEqual([]);
      expect(await queue.redis.exists(`${queue.prefix}ckpt:run_flaky`)).toBe(1);
      const status = await runCli(['status', '--store', queue.address, '--json']);
      expect(JSON.parse(status.stdout.trim())).toMatchObject({ run_id: 'run_flaky', state: 'done', worker: '-' });
    });
  }, WORKER_TEST_MS);

  it('worker --rate-limit 1/700: at most one run starts per 700 ms, however many wait', async () => {
    const dir = tempDir('ao-rate-');
    const plan = writePlan(dir, { stages: { planning: [fixtureStep('quick', join(dir, 'trace'))] } });
    for (const id of ['run_r1', 'run_r2', 'run_r3']) await submit(queue, plan, id);
    await withWorker(startWorker(queue, join(dir, 'w'), 1_500, ['--concurrency', '3', '--rate-limit', '1/700']), async () => {
      const rows = await until(queue, (all) => all.length === 3 && all.every((row) => row.state === 'done'), 'the three runs to end');
      const starts = rows.map((row) => row.startedAtMs!).sort((a, b) => a - b);
      expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(600);
      expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(600);
    });
    const bad = await runCli(['worker', '--store', queue.address, '--rate-limit', 'fast']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/--rate-limit takes RUNS\/MS/);
  }, WORKER_TEST_MS);
});

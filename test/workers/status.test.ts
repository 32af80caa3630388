/** `status` shows every queued run as a user would read it, and never the store's password. */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixtureStep, writePlan } from '../plans/plan-runs.js';
import { runCli, tempDir } from '../support/cli.js';
import { WORKER_TEST_MS, describeWithQueue, startWorker, submit, until } from './queue-support.js';


describeWithQueue('status: the scoreboard', (queue) => {
  it('lists queued and finished runs with state, stage, attempts and worker', async () => {
    const dir = tempDir('ao-status-');
    const plan = writePlan(dir, { stages: { planning: [fixtureStep('s1', join(dir, 'trace'))] } });
    await submit(queue, plan, 'run_status_a');
    const worker = startWorker(queue, join(dir, 'w'));
    await until(queue, (rows) => rows[0]?.state === 'done', 'the run to end done');
    worker.child.kill('SIGTERM');
    await worker.done;
    await submit(queue, plan, 'run_status_b');

    const json = await runCli(['status', '--store', queue.address, '--json']);
    expect(json.exitCode).toBe(0);
    const rows = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toMatchObject([
      { run_id: 'run_status_a', state: 'done', stage: 'closure', attempts: 1, worker: expect.stringMatching(/:\d+:/) },
      { run_id: 'run_status_b', state: 'queued', stage: '-', attempts: 0, worker: '-' },
    ]);
    const table = await runCli(['status'], { env: { ORCHESTRATOR_REDIS_URL: queue.address.replace('redis://', 'redis://:hunter2@') } });
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^run_id\s+state\s+stage\s+started\s+duration_s\s+attempts\s+worker\n/);
    expect(table.stdout).toMatch(/run_status_b\s+queued/);
    expect(table.stdout + table.stderr).not.toContain('hunter2');
  }, WORKER_TEST_MS);

  it('counts each step\'s successes and failures over the runs workers ran', async () => {
    const dir = tempDir('ao-status-steps-');
    const trace = join(dir, 'trace');
    const flaky = writePlan(dir, {
      stages: {
        planning: [fixtureStep('s1', trace)],
        execution: [fixtureStep('flaky', trace, { 'fail-attempts': 1 }, { retries: { max: 1, backoffMs: 0 } })],
      },
    }, 'flaky.json');
    const broken = writePlan(dir, { stages: { planning: [fixtureStep('s1', trace, { 'fail-attempts': 9 })] } }, 'broken.json');
    await submit(queue, flaky, 'run_steps_a');
    await submit(queue, broken, 'run_steps_b');
    const worker = startWorker(queue, join(dir, 'w'));
    await until(queue, (rows) => rows.length === 2 && rows.every((row) => row.state === 'done' || row.state === 'failed'), 'both runs to end');
    worker.child.kill('SIGTERM');
    await worker.done;

    const json = await runCli(['status', '--store', queue.address, '--json']);
    expect(json.exitCode).toBe(0);
    const rows = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toEqual([
      expect.objectContaining({ run_id: 'run_steps_a', state: 'done', steps: { 'execution/flaky': { success: 1, failure: 1 }, 'planning/s1': { success: 1, failure: 0 } } }),
      expect.objectContaining({ run_id: 'run_steps_b', state: 'failed', steps: { 'planning/s1': { success: 0, failure: 1 } } }),
    ]);
    const table = await runCli(['status', '--store', queue.address]);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/\n\nstep\s+success\s+failure\nexecution\/flaky\s+1\s+1\nplanning\/s1\s+1\s+1\n$/);
  }, WORKER_TEST_MS);
});

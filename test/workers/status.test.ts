/** `status` shows every queued run as a user would read it, and never the store's password. */
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fixtureStep, writePlan } from '../plans/plan-runs.js';
import { describeWithServer, PG_DSN, reachable } from '../stores/servers.js';
import { runCli, tempDir } from '../support/cli.js';
import { type Queue, freshQueue, startWorker, submit } from './queue-support.js';

const up = await reachable(PG_DSN, 5432);

describeWithServer('status: the scoreboard', up, new URL(PG_DSN).host, () => {
  let queue: Queue;
  beforeEach(async () => {
    queue = await freshQueue();
  });
  afterEach(async () => {
    await queue.drop();
  });

  it('lists queued and finished runs with state, stage, attempts and worker', async () => {
    const dir = tempDir('ao-status-');
    const plan = writePlan(dir, { stages: { planning: [fixtureStep('s1', join(dir, 'trace'))] } });
    await submit(queue, plan, 'run_status_a');
    const worker = startWorker(queue, join(dir, 'w'));
    for (let i = 0; i < 100 && (await queue.rows())[0]?.state !== 'done'; i++) await new Promise((r) => setTimeout(r, 100));
    worker.child.kill('SIGTERM');
    await worker.done;
    await submit(queue, plan, 'run_status_b');

    const json = await runCli(['status', '--store', queue.dsn, '--json']);
    expect(json.exitCode).toBe(0);
    const rows = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toMatchObject([
      { run_id: 'run_status_a', state: 'done', stage: 'closure', attempts: 1, worker: expect.stringMatching(/:\d+:/) },
      { run_id: 'run_status_b', state: 'queued', stage: '-', attempts: 0, worker: '-' },
    ]);
    const table = await runCli(['status'], { env: { ORCHESTRATOR_PG_DSN: queue.dsn.replace('postgres@', 'postgres:hunter2@') } });
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^run_id\s+state\s+stage\s+started\s+duration_s\s+attempts\s+worker\n/);
    expect(table.stdout).toMatch(/run_status_b\s+queued/);
    expect(table.stdout + table.stderr).not.toContain('hunter2');
  });
});

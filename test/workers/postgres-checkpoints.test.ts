/**
 * Workers with the queue in Redis and the checkpoints in Postgres (an existing Postgres deployment):
 * runs end done, their checkpoints and execution records are in Postgres, and status and export
 * read them there, the queue's states from Redis.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { fixtureStep, writePlan } from '../plans/plan-runs.js';
import { PG_DSN, describeWithServer, reachable } from '../stores/servers.js';
import { runCli, tempDir } from '../support/cli.js';
import { WORKER_TEST_MS, describeWithQueue, startWorker, until } from './queue-support.js';

const pgUp = await reachable(PG_DSN, 5432);

describeWithQueue('workers with checkpoints in Postgres', (queue) => {
  describeWithServer('and Postgres', pgUp, new URL(PG_DSN).host, () => it('--queue redis://… --store postgres://…: checkpoints, status and export on Postgres', async () => {
    const schema = `ao_qpg_${randomBytes(4).toString('hex')}`;
    const store = `${PG_DSN}?schema=${schema}`;
    const admin = new pg.Client({ connectionString: PG_DSN });
    await admin.connect();
    const dir = tempDir('ao-queue-pg-');
    const plan = writePlan(dir, { stages: { planning: [fixtureStep('s1', join(dir, 'trace'))], execution: [fixtureStep('s2', join(dir, 'trace'))] } });
    const both = ['--queue', queue.address, '--store', store];
    const worker = startWorker(queue, join(dir, 'w'), 1_500, both);
    try {
      const added = await runCli(['submit', '--plan', plan, '--run-id', 'run_pg', ...both]);
      expect(added.exitCode, added.stderr).toBe(0);
      await until(queue, (rows) => rows[0]?.state === 'done', 'the run to end done');
      const { rows } = await admin.query(`SELECT run_id, document IS NOT NULL AS has_checkpoint FROM "${schema}".orchestrator_runs`);
      expect(rows).toEqual([{ run_id: 'run_pg', has_checkpoint: true }]);
      expect(await queue.redis.exists(`${queue.prefix}ckpt:run_pg`)).toBe(0);
      const status = await runCli(['status', '--json', ...both]);
      expect(JSON.parse(status.stdout.trim())).toMatchObject({ run_id: 'run_pg', state: 'done', stage: 'closure', steps: { 'planning/s1': { success: 1 }, 'execution/s2': { success: 1 } } });
      const exported = await runCli(['export', '--format', 'jsonl', '--what', 'executions', '--store', store]);
      expect(exported.stdout.trim().split('\n').map((line) => JSON.parse(line).step)).toEqual(['s1', 's2']);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.done;
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  }, WORKER_TEST_MS));
});

it('a worker or submit given a Postgres store and no Redis: one line saying workers need Redis for the queue, exit 2', async () => {
  const env = { ORCHESTRATOR_QUEUE_URL: '', ORCHESTRATOR_REDIS_URL: '', ORCHESTRATOR_PG_DSN: '' };
  const dir = tempDir('ao-queue-none-');
  const plan = writePlan(dir, { stages: {} });
  for (const argv of [['worker', '--store', 'postgres://postgres@127.0.0.1:1/x'], ['submit', '--plan', plan, '--store', 'postgres://postgres@127.0.0.1:1/x']]) {
    const out = await runCli(argv, { env });
    expect(out.exitCode, argv[0]).toBe(2);
    expect(out.stderr.trim()).toMatch(/^autonomy-orchestrator: (worker|submit) needs Redis for the run queue: give --queue redis:\/\/…/);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  }
});

it('submit and status with a Redis nobody answers at: one line naming the queue and the error, exit 1 (no wait for ever)', async () => {
  const dir = tempDir('ao-queue-down-');
  const plan = writePlan(dir, { stages: {} });
  const queue = ['--queue', 'redis://127.0.0.1:1/0', '--store', `file:${join(dir, 'state')}`];
  for (const argv of [['submit', '--plan', plan, ...queue], ['status', ...queue]]) {
    const out = await runCli(argv);
    expect(out.exitCode, argv[0]).toBe(1);
    expect(out.stderr.trim()).toMatch(/^autonomy-orchestrator: cannot (submit|list runs) at redis:\/\/127\.0\.0\.1:1\/0 queue orchestrator-runs: connect ECONNREFUSED/);
  }
}, 20_000);

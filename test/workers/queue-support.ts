/** A queue in a Postgres schema of its own, workers started as a user starts them, and what they left. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach } from 'vitest';
import { PG_DSN, describeWithServer, reachable } from '../stores/servers.js';
import { runCli, startCli } from '../support/cli.js';

export interface Queue {
  dsn: string;
  rows(): Promise<{ run_id: string; state: string; claims: number; worker: string | null; lease_owner: string | null; revision: string; sha256: string; document: string }[]>;
  drop(): Promise<void>;
}

export async function freshQueue(): Promise<Queue> {
  const schema = `ao_q_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_DSN });
  await admin.connect();
  return {
    dsn: `${PG_DSN}?schema=${schema}`,
    rows: async () => (await admin.query(`SELECT * FROM "${schema}".orchestrator_runs ORDER BY run_id`)).rows,
    drop: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

const postgresUp = await reachable(PG_DSN, 5432);

/**
 * A suite that needs Postgres, with a fresh queue for each test (dropped after it). `queue` always
 * stands for the current test's queue.
 */
export function describeWithQueue(name: string, suite: (queue: Queue) => void): void {
  describeWithServer(name, postgresUp, new URL(PG_DSN).host, () => {
    let current: Queue | null = null;
    beforeEach(async () => {
      current = await freshQueue();
    });
    afterEach(async () => {
      await current?.drop();
    });
    const queue: Queue = {
      get dsn() {
        return current!.dsn;
      },
      rows: () => current!.rows(),
      drop: () => current!.drop(),
    };
    suite(queue);
  });
}

export async function submit(queue: Queue, planPath: string, runId: string): Promise<void> {
  const result = await runCli(['submit', '--plan', planPath, '--store', queue.dsn, '--run-id', runId]);
  if (result.exitCode !== 0) throw new Error(`submit failed: ${result.stderr}`);
}

export function startWorker(queue: Queue, workDir: string, leaseMs = 1_500) {
  return startCli(['worker', '--store', queue.dsn, '--poll-ms', '100', '--lease-ms', String(leaseMs), '--work-dir', workDir]);
}

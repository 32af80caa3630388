/**
 * A run queue (BullMQ) and its checkpoints in Redis under a key prefix of its own per test (other
 * suites share the server), workers started as a user starts them, and what they left.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect } from 'vitest';
import { RedisCheckpointStore } from '../../src/checkpoint/redis-store.js';
import { chooseQueue } from '../../src/queue/queue-address.js';
import { RunQueue } from '../../src/queue/run-queue.js';
import { REDIS_URL, describeWithServer, reachable } from '../stores/servers.js';
import { runCli, startCli } from '../support/cli.js';

export interface QueueRow {
  run_id: string;
  state: string;
  worker: string | null;
  starts: number;
  priority: number;
  startedAtMs: number | null;
  /** The run's checkpoint as stored (its exact text), and its revision; null when it has none. */
  document: string | null;
  revision: number | null;
}

export interface Queue {
  /** Queue and checkpoints: what `--store` takes. */
  address: string;
  prefix: string;
  rows(): Promise<QueueRow[]>;
  redis: Redis;
  drop(): Promise<void>;
}

export async function freshQueue(): Promise<Queue> {
  const prefix = `ao-q-${randomBytes(4).toString('hex')}:`;
  const address = `${REDIS_URL}?prefix=${prefix}`;
  const redis = new Redis(REDIS_URL);
  const queue = new RunQueue(chooseQueue(address, null, {}, 'test'));
  const store = new RedisCheckpointStore(address);
  return {
    address,
    prefix,
    redis,
    rows: async () => {
      const rows: QueueRow[] = [];
      for (const run of await queue.runs()) {
        const document = await redis.hget(`${prefix}ckpt:${run.runId}`, 'document');
        const stored = document === null ? null : await store.read(run.runId);
        rows.push({
          run_id: run.runId,
          state: run.state,
          worker: run.worker,
          starts: run.starts,
          priority: run.priority,
          startedAtMs: run.startedAtMs,
          document,
          revision: stored?.revision ?? null,
        });
      }
      return rows.sort((a, b) => a.run_id.localeCompare(b.run_id));
    },
    drop: async () => {
      await queue.close();
      await store.close();
      const keys = await redis.keys(`${prefix.replace(/:$/, '')}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

const redisUp = await reachable(REDIS_URL, 6379);

/**
 * A suite that needs Redis, with a fresh queue for each test (removed after it). `queue` always
 * stands for the current test's queue.
 */
export function describeWithQueue(name: string, suite: (queue: Queue) => void): void {
  describeWithServer(name, redisUp, new URL(REDIS_URL).host || '127.0.0.1:6379', () => {
    let current: Queue | null = null;
    beforeEach(async () => {
      current = await freshQueue();
    });
    afterEach(async () => {
      await current?.drop();
    });
    const queue: Queue = {
      get address() {
        return current!.address;
      },
      get prefix() {
        return current!.prefix;
      },
      get redis() {
        return current!.redis;
      },
      rows: () => current!.rows(),
      drop: () => current!.drop(),
    };
    suite(queue);
  });
}

export async function submit(queue: Queue, planPath: string, runId: string, extra: string[] = []): Promise<void> {
  const result = await runCli(['submit', '--plan', planPath, '--store', queue.address, '--run-id', runId, ...extra]);
  if (result.exitCode !== 0) throw new Error(`submit failed: ${result.stderr}`);
}

/** Test timings: a lock of `lockMs`, stalled checks every half of it, so a takeover comes within 1.5 × lockMs. */
export function startWorker(queue: Queue, workDir: string, lockMs = 1_500, extra: string[] = []) {
  const stalled = String(Math.max(100, Math.floor(lockMs / 2)));
  return startCli(['worker', ...(extra.includes('--store') ? [] : ['--store', queue.address]), '--lock-ms', String(lockMs), '--stalled-interval-ms', stalled, '--work-dir', workDir, ...extra]);
}

/**
 * How long a test that starts workers may take: generous, since these suites spawn several Node
 * processes on a machine other suites load too (they took 30 s and more at a load average of 18).
 * Nothing here is a speed assertion.
 */
export const WORKER_TEST_MS = 120_000;

/** Waits until `done(rows)` holds, or throws with the rows seen last. */
export async function until(queue: Queue, done: (rows: QueueRow[]) => boolean, what: string, timeoutMs = 90_000): Promise<QueueRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await queue.rows();
    if (done(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(rows.map((r) => [r.run_id, r.state]))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs `body` while the worker works, then stops it with SIGTERM; it must exit 0. */
export async function withWorker(worker: ReturnType<typeof startWorker>, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } finally {
    worker.child.kill('SIGTERM');
    expect((await worker.done).exitCode).toBe(0);
  }
}

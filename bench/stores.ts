/**
 * `npm run bench:stores`: what the scale-out design costs, measured in one run on this machine.
 *
 *   1. runs per second of trivial plans (one step, /bin/true) through 1, 2 and 4 worker processes
 *      on one Postgres queue: workers are started and ready first, then RUNS runs are submitted at
 *      once and the clock runs until the last one is `done`;
 *   2. checkpoint write latency per store (file, Postgres, Redis): sequential compare-and-swap
 *      writes of a real checkpoint (snapshots/checkpoints/v2-done.json), p50 and p99.
 *
 * Needs PostgreSQL and Redis (TEST_PG_DSN / TEST_REDIS_URL, default 127.0.0.1). --json for JSON.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { FileCheckpointStore } from '../src/checkpoint/file-store.js';
import { PostgresCheckpointStore } from '../src/checkpoint/postgres-store.js';
import { RedisCheckpointStore } from '../src/checkpoint/redis-store.js';
import type { Checkpoint } from '../src/checkpoint/schema.js';
import type { CheckpointStore } from '../src/checkpoint/store.js';
import { planSchema } from '../src/plan/schema.js';
import { RunQueue } from '../src/queue/run-queue.js';
import { quantile } from './stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PG_DSN = process.env.TEST_PG_DSN ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const RUNS = 60;
const WRITES = 400;
const json = process.argv.includes('--json');

async function throughput(workers: number): Promise<{ workers: number; runs: number; seconds: number; runsPerSecond: number }> {
  const schema = `ao_bench_${randomBytes(4).toString('hex')}`;
  const dsn = `${PG_DSN}?schema=${schema}`;
  const store = new PostgresCheckpointStore(dsn, { maxConnections: 2 });
  const queue = new RunQueue(store);
  await store.query('SELECT 1');
  const workDir = mkdtempSync(join(tmpdir(), 'ao-bench-scale-'));
  const children = Array.from({ length: workers }, (_, i) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), 'worker', '--store', dsn, '--poll-ms', '20', '--work-dir', join(workDir, `w${i}`)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const ready = new Promise<void>((resolve) => {
      let text = '';
      child.stderr.on('data', (chunk) => {
        text += chunk;
        if (text.includes('claiming runs')) resolve();
      });
    });
    return { child, ready, exited: new Promise((resolve) => child.on('close', resolve)) };
  });
  await Promise.all(children.map((c) => c.ready));
  const plan = planSchema.parse({ stages: { planning: [{ id: 'noop', bin: '/bin/true' }] } });
  const started = performance.now();
  await Promise.all(Array.from({ length: RUNS }, (_, i) => queue.submit(`bench_${i}`, plan)));
  for (;;) {
    const { rows } = await store.query<{ n: string }>(`SELECT count(*) AS n FROM ${store.table} WHERE state = 'done'`);
    if (Number(rows[0]!.n) === RUNS) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const seconds = (performance.now() - started) / 1000;
  for (const { child } of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await store.query(`DROP SCHEMA "${schema}" CASCADE`);
  await store.close();
  return { workers, runs: RUNS, seconds, runsPerSecond: RUNS / seconds };
}

async function writeLatency(name: string, store: CheckpointStore, checkpoint: Checkpoint) {
  const times: number[] = [];
  let revision = 0;
  for (let i = 0; i < WRITES; i++) {
    const t = performance.now();
    revision = await store.write('bench_run', checkpoint, { revision });
    times.push(performance.now() - t);
  }
  await store.delete('bench_run');
  await store.close();
  return { store: name, writes: WRITES, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99) };
}

const checkpoint = JSON.parse(readFileSync(join(root, 'snapshots', 'checkpoints', 'v2-done.json'), 'utf8')) as Checkpoint;
const redisPrefix = `ao-bench-${randomBytes(4).toString('hex')}:`;
const pgSchema = `ao_bench_w_${randomBytes(4).toString('hex')}`;
const latency = [
  await writeLatency('file', FileCheckpointStore.inDirectory(mkdtempSync(join(tmpdir(), 'ao-bench-file-'))), checkpoint),
  await writeLatency('postgres', new PostgresCheckpointStore(`${PG_DSN}?schema=${pgSchema}`), checkpoint),
  await writeLatency('redis', new RedisCheckpointStore(`${REDIS_URL}?prefix=${redisPrefix}`), checkpoint),
];
const admin = new pg.Client({ connectionString: PG_DSN });
await admin.connect();
await admin.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
await admin.end();
const redis = new Redis(REDIS_URL);
const keys = await redis.keys(`${redisPrefix}*`);
if (keys.length > 0) await redis.del(...keys);
await redis.quit();

const rates = [];
for (const workers of [1, 2, 4]) rates.push(await throughput(workers));

if (json) {
  process.stdout.write(`${JSON.stringify({ throughput: rates, checkpointWrites: latency }, null, 2)}\n`);
} else {
  process.stdout.write(`Trivial runs through workers on one Postgres queue (${RUNS} runs, each one /bin/true step):\n`);
  for (const r of rates) process.stdout.write(`  ${r.workers} worker(s): ${r.runsPerSecond.toFixed(1)} runs/s (${r.seconds.toFixed(2)} s)\n`);
  process.stdout.write(`Checkpoint write latency (${WRITES} sequential compare-and-swap writes of v2-done.json):\n`);
  for (const l of latency) process.stdout.write(`  ${l.store.padEnd(8)} p50 ${l.p50Ms.toFixed(2)} ms  p99 ${l.p99Ms.toFixed(2)} ms\n`);
}

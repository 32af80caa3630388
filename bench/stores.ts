/**
 * `npm run bench:stores`: what the scale-out design costs, measured in one run on this machine.
 *
 *   1. runs per second of trivial plans (one step, /bin/true) through 1, 2, 4 and 8 worker
 *      processes on one BullMQ queue in Redis, checkpoints in the same Redis: workers are started
 *      and ready first, then RUNS runs are added at once and the clock runs until the last one is
 *      done; and, over those runs, the time from submit to start (BullMQ's `timestamp` to
 *      `processedOn`), p50 and p99;
 *   2. takeover after `kill -9`: a worker is killed in the middle of a run's step, and the time
 *      until another worker starts the run again is set against the lock duration plus one
 *      stalled-check interval, the bound BullMQ's stalled check gives;
 *   3. checkpoint write latency per store (file, Postgres, Redis): sequential compare-and-swap
 *      writes of a real checkpoint (snapshots/checkpoints/v2-done.json), p50 and p99.
 *
 * Bounded for a small machine: RUNS (default 300, BENCH_RUNS to change) rather than the 10,000 a
 * big one would take; figures per second are what to compare. NODE_EXTRA_CA_CERTS is unset for
 * the workers (it costs every Node start ~90 ms on some machines, and users rarely have it).
 * Needs PostgreSQL and Redis (TEST_PG_DSN / TEST_REDIS_URL, default 127.0.0.1). --json for JSON.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
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
import { chooseQueue } from '../src/queue/queue-address.js';
import { RunQueue } from '../src/queue/run-queue.js';
import { quantile } from './stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PG_DSN = process.env.TEST_PG_DSN ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const WORKERS = [1, 2, 4, 8];
const WRITES = 400;
const TAKEOVERS = 3;
const json = process.argv.includes('--json');
const workerEnv = { ...process.env };
delete workerEnv.NODE_EXTRA_CA_CERTS;

interface Started {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<unknown>;
}

/** A worker as a user starts one; resolves once it is taking runs. */
async function startWorker(address: string, workDir: string, extra: string[] = []): Promise<Started> {
  const child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), 'worker', '--store', address, '--work-dir', workDir, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: workerEnv,
  });
  let text = '';
  const exited = new Promise((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      text += chunk;
      if (text.includes('taking runs')) resolve();
    });
    child.once('close', () => reject(new Error(`worker exited: ${text}`)));
  });
  return { child, stderr: () => text, exited };
}

async function removeKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  await redis.quit();
}

const trivial = planSchema.parse({ stages: { planning: [{ id: 'noop', bin: '/bin/true' }] } });

async function throughput(workers: number) {
  const prefix = `ao-bench-${randomBytes(4).toString('hex')}:`;
  const address = `${REDIS_URL}?prefix=${prefix}`;
  const queue = new RunQueue(chooseQueue(address, null, {}, 'bench'));
  const workDir = mkdtempSync(join(tmpdir(), 'ao-bench-scale-'));
  const children = await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(address, join(workDir, `w${i}`))));
  const started = performance.now();
  await queue.queue.addBulk(Array.from({ length: RUNS }, (_, i) => ({ name: 'run', data: { plan: trivial, submission: 'bench' }, opts: { jobId: `bench_${i}` } })));
  while ((await queue.queue.getJobCounts('completed')).completed! < RUNS) await new Promise((resolve) => setTimeout(resolve, 20));
  const seconds = (performance.now() - started) / 1000;
  const jobs = await queue.queue.getJobs('completed', 0, -1);
  const waits = jobs.map((job) => job.processedOn! - job.timestamp);
  for (const { child } of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await queue.close();
  await removeKeys(prefix);
  return { workers, runs: RUNS, seconds, runsPerSecond: RUNS / seconds, submitToStartP50Ms: quantile(waits, 0.5), submitToStartP99Ms: quantile(waits, 0.99) };
}

/** Kill -9 the worker running a run mid-step; the time until another worker starts it again. */
async function takeover(lockMs: number, stalledMs: number) {
  const prefix = `ao-bench-${randomBytes(4).toString('hex')}:`;
  const address = `${REDIS_URL}?prefix=${prefix}`;
  const queue = new RunQueue(chooseQueue(address, null, {}, 'bench'));
  const workDir = mkdtempSync(join(tmpdir(), 'ao-bench-takeover-'));
  const flags = ['--lock-ms', String(lockMs), '--stalled-interval-ms', String(stalledMs)];
  const victim = await startWorker(address, join(workDir, 'victim'), flags);
  const slow = planSchema.parse({ stages: { planning: [{ id: 'slow', bin: '/bin/sleep', args: ['0.5'] }] } });
  await queue.submit('bench_takeover', slow);
  while (!victim.stderr().includes('run bench_takeover: started')) await new Promise((resolve) => setTimeout(resolve, 5));
  const heir = await startWorker(address, join(workDir, 'heir'), flags);
  victim.child.kill('SIGKILL');
  const killedAt = Date.now();
  await victim.exited;
  while (!heir.stderr().includes('run bench_takeover: started')) await new Promise((resolve) => setTimeout(resolve, 5));
  const ms = Date.now() - killedAt;
  while ((await queue.queue.getJobState('bench_takeover')) !== 'completed') await new Promise((resolve) => setTimeout(resolve, 20));
  heir.child.kill('SIGTERM');
  await heir.exited;
  await queue.close();
  await removeKeys(prefix);
  return { lockMs, stalledIntervalMs: stalledMs, takeoverMs: ms, boundMs: lockMs + stalledMs };
}

/**
 * Redis commands one run costs, seen by MONITOR (only those naming this bench's keys: the server is
 * shared): RUNS_SEEN trivial runs through one worker, from submit to done, by command name.
 */
async function commandsPerRun() {
  const RUNS_SEEN = 20;
  const prefix = `ao-bench-${randomBytes(4).toString('hex')}:`;
  const address = `${REDIS_URL}?prefix=${prefix}`;
  const queue = new RunQueue(chooseQueue(address, null, {}, 'bench'));
  const worker = await startWorker(address, mkdtempSync(join(tmpdir(), 'ao-bench-cmds-')));
  const monitor = await new Redis(REDIS_URL).monitor();
  const counts = new Map<string, number>();
  let roundTrips = 0;
  const bare = prefix.replace(/:$/, '');
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!args.some((arg) => arg.startsWith(bare))) return;
    // A command a client sent is a round trip; one a Lua script ran (source "lua") runs inside another.
    if (source !== 'lua') roundTrips += 1;
    const name = args[0]!.toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  });
  for (let i = 0; i < RUNS_SEEN; i++) await queue.submit(`bench_c_${i}`, trivial);
  while ((await queue.queue.getJobCounts('completed')).completed! < RUNS_SEEN) await new Promise((resolve) => setTimeout(resolve, 20));
  monitor.disconnect();
  worker.child.kill('SIGTERM');
  await worker.exited;
  await queue.close();
  await removeKeys(prefix);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  // The queue's own reads by this bench (getJobCounts polls, getJob after each add) are in the count: an upper bound.
  return { runs: RUNS_SEEN, perRun: total / RUNS_SEEN, roundTripsPerRun: roundTrips / RUNS_SEEN, byCommand: Object.fromEntries([...counts].map(([name, n]) => [name, n / RUNS_SEEN])) };
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

if (process.env.BENCH_ONLY === 'commands') {
  const only = await commandsPerRun();
  process.stdout.write(`${JSON.stringify(only, null, 2)}\n`);
  process.exit(0);
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
for (const workers of WORKERS) rates.push(await throughput(workers));
const takeovers = [];
for (let i = 0; i < TAKEOVERS; i++) takeovers.push(await takeover(2_000, 1_000));
const commands = await commandsPerRun();

if (json) {
  process.stdout.write(`${JSON.stringify({ throughput: rates, takeovers, commands, checkpointWrites: latency }, null, 2)}\n`);
} else {
  process.stdout.write(`Trivial runs through worker processes on one BullMQ queue in Redis (${RUNS} runs, each one /bin/true step; ${os.availableParallelism()} CPUs):\n`);
  for (const r of rates) {
    process.stdout.write(
      `  ${r.workers} worker(s): ${r.runsPerSecond.toFixed(1)} runs/s (${r.seconds.toFixed(2)} s); submit to start p50 ${r.submitToStartP50Ms.toFixed(0)} ms, p99 ${r.submitToStartP99Ms.toFixed(0)} ms\n`,
    );
  }
  process.stdout.write('Takeover after kill -9 of the worker running a run (time until another worker starts it):\n');
  for (const t of takeovers) process.stdout.write(`  ${t.takeoverMs} ms; bound: lock ${t.lockMs} ms + stalled interval ${t.stalledIntervalMs} ms = ${t.boundMs} ms (${t.takeoverMs <= t.boundMs ? 'within' : 'PAST'})\n`);
  const top = Object.entries(commands.byCommand).sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n.toFixed(1)}`).join(', ');
  process.stdout.write(
    `Redis commands per trivial run (MONITOR, ${commands.runs} runs, one worker; this bench's submit check and polling included): ${commands.perRun.toFixed(1)}, of which ${commands.roundTripsPerRun.toFixed(1)} sent by clients, the rest run inside Lua scripts (${top})\n`,
  );
  process.stdout.write(`Checkpoint write latency (${WRITES} sequential compare-and-swap writes of v2-done.json):\n`);
  for (const l of latency) process.stdout.write(`  ${l.store.padEnd(8)} p50 ${l.p50Ms.toFixed(2)} ms  p99 ${l.p99Ms.toFixed(2)} ms\n`);
}

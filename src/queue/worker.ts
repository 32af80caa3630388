/**
 * A worker: claims queued runs from Postgres, up to `concurrency` at once, and drives each through
 * `runOrchestration` with the run's checkpoint in Postgres. Each run's lease is renewed by a
 * heartbeat; once a renewal fails the run is stopped, and its checkpoint writes (fenced by the
 * lease's token) are refused from then on, so a worker that was paused or cut off cannot undo
 * the progress of the worker that took the run over. On `stop()` (SIGTERM) the runs are
 * interrupted, their checkpoints kept, and handed back to the queue.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PostgresCheckpointStore } from '../checkpoint/postgres-store.js';
import { RunView } from '../checkpoint/run-view.js';
import type { Lease } from '../checkpoint/store.js';
import { type ExecutionLog, executionLogOf } from '../report/execution-log.js';
import { runOrchestration } from '../run/orchestrate.js';
import { type ClaimedRun, RunQueue } from './run-queue.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface WorkerOptions {
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  /** Each run's report, logs and step files go to `<workDir>/<run id>`. */
  workDir: string;
  timeoutMs?: number | undefined;
  killGraceMs?: number | undefined;
  log: (line: string) => void;
  metrics?: WorkerMetrics | undefined;
}

export class Worker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  private readonly queue: RunQueue;
  private readonly executions: ExecutionLog;
  private readonly running = new Map<string, { stop: AbortController; done: Promise<void> }>();
  private stopping = false;
  private wake: () => void = () => {};

  constructor(
    private readonly store: PostgresCheckpointStore,
    private readonly options: WorkerOptions,
  ) {
    this.queue = new RunQueue(store);
    this.executions = executionLogOf(store);
  }

  /** Works until `stop()`, then waits for its runs to be finished or handed back. */
  async work(): Promise<void> {
    this.options.log(`worker ${this.id}: claiming runs from ${this.store.location} (concurrency ${this.options.concurrency}, lease ${this.options.leaseMs} ms)`);
    while (!this.stopping) {
      try {
        while (!this.stopping && this.running.size < this.options.concurrency) {
          const claimed = await this.queue.claim(this.id, this.options.leaseMs);
          if (!claimed) break;
          this.start(claimed);
        }
      } catch (error) {
        this.options.log(`worker ${this.id}: cannot claim: ${(error as Error).message}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await Promise.allSettled([...this.running.values()].map((run) => run.done));
    this.options.log(`worker ${this.id}: stopped`);
  }

  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.options.log(`worker ${this.id}: ${reason}: stopping ${this.running.size} run(s), handing them back`);
    for (const run of this.running.values()) run.stop.abort(reason);
    this.wake();
  }

  private start(claimed: ClaimedRun): void {
    const stop = new AbortController();
    const done = this.drive(claimed, stop).finally(() => {
      this.running.delete(claimed.runId);
      this.wake();
    });
    this.running.set(claimed.runId, { stop, done });
  }

  private async drive(claimed: ClaimedRun, stop: AbortController): Promise<void> {
    const { runId } = claimed;
    let lease: Lease = claimed.lease;
    let lost: unknown = null;
    const log = (line: string) => this.options.log(`worker ${this.id}: run ${runId}: ${line}`);
    log(`claimed (lease token ${lease.token}${claimed.takeover ? `, takeover: claim ${claimed.claims}` : ''})`);
    const metrics = this.options.metrics;
    metrics?.claimed(claimed.takeover);
    const heartbeat = setInterval(() => {
      this.store.renewLease(lease, this.options.leaseMs).then(
        (renewed) => (lease = renewed),
        (error: unknown) => {
          if (lost !== null) return;
          lost = error;
          log(`lost its lease: ${(error as Error).message}; stopping it`);
          stop.abort('lease lost');
        },
      );
    }, Math.max(50, Math.floor(this.options.leaseMs / 3)));
    try {
      const view = new RunView(this.store, runId, { lease });
      const resume = (await view.load()) !== null;
      const result = await runOrchestration(
        {
          outputDir: join(this.options.workDir, runId),
          resume,
          plan: claimed.plan,
          ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
          ...(this.options.killGraceMs !== undefined ? { killGraceMs: this.options.killGraceMs } : {}),
        },
        { store: view, signal: stop.signal, runId },
      );
      clearInterval(heartbeat);
      const executions = result.report.stage_executions;
      if (lost !== null) {
        metrics?.stopped(null, 'lease_lost', executions);
        return log('stopped; another worker owns it now');
      }
      await this.executions.append(runId, executions, this.id);
      if (result.interruptedBy !== null) {
        metrics?.stopped(null, 'handed_back', executions);
        const handed = await this.queue.handBack(lease);
        return log(handed ? `stopped by ${result.interruptedBy}; handed back to the queue` : 'stopped; its lease had already gone');
      }
      const state = result.terminalState ?? 'failed';
      metrics?.stopped(state, 'ended', executions);
      const recorded = await this.queue.finish(lease, state);
      log(recorded ? `ended ${state}` : `ended ${state}, but its lease had gone: not recorded`);
    } catch (error) {
      clearInterval(heartbeat);
      // A refused (fenced) checkpoint write lands here: the run is someone else's now.
      log(`${lost !== null ? 'refused after losing its lease' : 'failed'}: ${(error as Error).message}`);
      metrics?.stopped(lost !== null ? null : 'failed', lost !== null ? 'lease_lost' : 'ended', []);
      if (lost === null) await this.queue.finish(lease, 'failed').catch(() => {});
    }
  }
}

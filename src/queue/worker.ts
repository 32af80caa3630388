/**
 * A worker: a BullMQ Worker on the run queue, driving up to `concurrency` runs at once through
 * `runOrchestration`, each with its checkpoint in the store the user picked. BullMQ renews each
 * job's lock and gives a job whose worker died (its lock expired) to another worker at the next
 * stalled check; that worker resumes the run from its checkpoint.
 *
 * BullMQ's lock is not a fence for writes made to another store: a worker paused past its lock
 * (SIGSTOP, a long GC, a partition) would wake up and write on. So each run also takes the store's
 * lease, whose token only grows: the worker BullMQ gives the run to takes it over (a new token),
 * and from then on the store refuses the old holder's checkpoint writes and execution records.
 * A worker that finds its lease lost stops the run.
 *
 * `close()` (SIGTERM): no new runs; the running ones are stopped, their checkpoints kept, and
 * handed back to the queue (waiting again, for any worker), then the worker exits.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Job, UnrecoverableError, WaitingError, Worker as BullWorker } from 'bullmq';
import { RunView } from '../checkpoint/run-view.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import { CheckpointConflictError } from '../checkpoint/store-errors.js';
import { executionLogOf, runExecutionLog } from '../report/execution-log.js';
import { runOrchestration } from '../run/orchestrate.js';
import type { Tracer } from '@opentelemetry/api';
import type { QueueAddress } from './queue-address.js';
import { type RunJob, runIdOf, runJobSchema } from './run-queue.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface WorkerOptions {
  concurrency: number;
  /** BullMQ's job lock, renewed every half of it; the store's lease lasts as long. */
  lockMs: number;
  /** How often workers look for runs whose lock expired (their worker died). */
  stalledIntervalMs: number;
  /** How many times a run may be taken from a dead worker before it is failed. */
  maxStalled: number;
  /** Queue-wide: at most `max` runs started per `durationMs`. */
  rateLimit?: { max: number; durationMs: number } | undefined;
  /** Each run's report, logs and step files go to `<workDir>/<run id>`. */
  workDir: string;
  timeoutMs?: number | undefined;
  killGraceMs?: number | undefined;
  log: (line: string) => void;
  metrics?: WorkerMetrics | undefined;
  /** Traces each run (docs/traces.md); null: none. */
  tracer?: Tracer | null | undefined;
}

export class Worker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  private readonly worker: BullWorker<RunJob>;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly address: QueueAddress,
    private readonly store: CheckpointStore,
    private readonly options: WorkerOptions,
  ) {
    this.worker = new BullWorker<RunJob>(address.name, (job, token, signal) => this.drive(job, token, signal), {
      connection: { url: address.url, maxRetriesPerRequest: null },
      prefix: address.prefix,
      name: this.id,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalled,
      ...(options.rateLimit ? { limiter: { max: options.rateLimit.max, duration: options.rateLimit.durationMs } } : {}),
      autorun: false,
    });
    this.worker.on('error', (error) => options.log(`worker ${this.id}: ${error.message}`));
    this.worker.on('failed', (job, error) => {
      if (job && !(error instanceof WaitingError)) options.log(`worker ${this.id}: run ${runIdOf(job)}: ${error.message}`);
    });
  }

  /** Works until `close()`. */
  async work(): Promise<void> {
    const { options } = this;
    options.log(
      `worker ${this.id}: taking runs from ${this.address.location}, checkpoints in ${this.store.location} (concurrency ${options.concurrency}, lock ${options.lockMs} ms, stalled check every ${options.stalledIntervalMs} ms)`,
    );
    await this.worker.run();
    await this.closing;
    options.log(`worker ${this.id}: stopped`);
  }

  close(reason: string): Promise<void> {
    if (this.closing) return this.closing;
    this.options.log(`worker ${this.id}: ${reason}: stopping its runs, handing them back`);
    this.closing = this.worker.close();
    this.worker.cancelAllJobs(reason);
    return this.closing;
  }

  private async drive(job: Job<RunJob>, token: string | undefined, signal: AbortSignal | undefined): Promise<{ terminal_state: string }> {
    const runId = runIdOf(job);
    const log = (line: string) => this.options.log(`worker ${this.id}: run ${runId}: ${line}`);
    const data = runJobSchema.safeParse(job.data);
    if (!data.success) throw new UnrecoverableError(`job ${job.id}: its data is not a run (field ${data.error.issues[0]?.path.join('.') || '(data)'})`);
    const stop = new AbortController();
    const onCancel = () => stop.abort(signal?.reason ?? 'cancelled');
    if (signal?.aborted) onCancel();
    signal?.addEventListener('abort', onCancel, { once: true });
    let lost: unknown = null;
    const view = new RunView(this.store, runId, {
      owner: this.id,
      leaseMs: this.options.lockMs,
      takeOver: true,
      onLeaseLost: (error) => {
        if (lost !== null) return;
        lost = error;
        log(`lost its lease: ${(error as Error).message}; stopping it`);
        stop.abort('lease lost');
      },
    });
    const lostError = new Error('lease lost: another worker owns the run now');
    const takeover = job.attemptsStarted > 1 || job.stalledCounter > 0;
    const metrics = this.options.metrics;
    metrics?.claimed(takeover);
    log(`started${takeover ? ` (start ${job.attemptsStarted}: resumed from its checkpoint)` : ''}`);
    try {
      const resume = (await view.load()) !== null;
      const result = await runOrchestration(
        {
          outputDir: join(this.options.workDir, runId),
          resume,
          plan: data.data.plan,
          ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
          ...(this.options.killGraceMs !== undefined ? { killGraceMs: this.options.killGraceMs } : {}),
        },
        { store: view, signal: stop.signal, runId, tracer: this.options.tracer ?? null, executionLog: runExecutionLog(executionLogOf(this.store), runId, this.id, () => view.leaseToken) },
      );
      const executions = result.report.stage_executions;
      if (lost !== null) {
        metrics?.stopped(null, 'lease_lost', executions);
        log('stopped; another worker owns it now');
        throw lostError;
      }
      if (result.interruptedBy !== null) {
        metrics?.stopped(null, 'handed_back', executions);
        await job.moveToWait(token);
        log(`stopped by ${result.interruptedBy}; handed back to the queue`);
        throw new WaitingError();
      }
      const state = result.terminalState ?? 'failed';
      metrics?.stopped(state, 'ended', executions);
      log(`ended ${state}`);
      if (state === 'failed' || state === 'timeout') {
        const failure = result.report.failure;
        throw new UnrecoverableError(`run ended ${state}${failure ? `: stage ${failure.stage}${failure.step ? ` step ${failure.step}` : ''} ${failure.status}` : ''}`);
      }
      return { terminal_state: state };
    } catch (error) {
      if (error instanceof WaitingError || error instanceof UnrecoverableError || error === lostError) throw error;
      if (lost !== null || (error instanceof CheckpointConflictError && error.reason === 'fenced')) {
        // A refused (fenced) write: the run is someone else's now; BullMQ will not let this worker finish its job either.
        metrics?.stopped(null, 'lease_lost', []);
        log(`refused after losing its lease: ${(error as Error).message}`);
        throw error;
      }
      metrics?.stopped('failed', 'ended', []);
      log(`failed: ${(error as Error).message}`);
      throw new UnrecoverableError(`run ended failed: ${(error as Error).message}`);
    } finally {
      signal?.removeEventListener('abort', onCancel);
    }
  }
}

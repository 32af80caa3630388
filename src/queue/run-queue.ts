/**
 * The run queue: a BullMQ queue on Redis, one job per run. The run id is the job id, so a second
 * submit of a run id is refused rather than queued twice. BullMQ keeps the order (priorities,
 * delays, schedules), the locks and the stalled-job recovery; this file says what a run is to it:
 * its job's data (the plan), its state as a user reads it, and the queue-wide verbs.
 */
import { randomBytes } from 'node:crypto';
import { type Job, type JobType, Queue } from 'bullmq';
import * as z from 'zod/mini';
import { RUN_ID } from '../checkpoint/store-errors.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { type Plan, planSchema } from '../plan/schema.js';
import type { QueueAddress } from './queue-address.js';

/** What a job carries: the plan (no environment values: see submit.ts) and which submit added it. */
export const runJobSchema = z.object({ plan: planSchema, submission: z.string() });
export type RunJob = z.infer<typeof runJobSchema>;

/** What a job's processor returns: the run's terminal state, when it ended done or blocked. */
export const runOutcomeSchema = z.object({ terminal_state: z.string() });

/** A failed job's reason begins so when the run itself ended failed or timed out. */
export const RUN_ENDED = /^run ended (failed|timeout)\b/;

/** How a user reads a job's state: queued, delayed, running, paused, done, blocked, failed, timeout. */
export interface QueuedRun {
  runId: string;
  state: string;
  priority: number;
  worker: string | null;
  /** Times a worker started it (a takeover or a retry counts again). */
  starts: number;
  submittedAtMs: number;
  startedAtMs: number | null;
  finishedAtMs: number | null;
  /** The job scheduler that produced it, if any. */
  schedule: string | null;
  reason: string | null;
}

export interface SubmitOptions {
  priority?: number | undefined;
  delayMs?: number | undefined;
}

export interface Schedule {
  id: string;
  pattern: string;
  nextAtMs: number | null;
  runs: number;
}

const STATE_OF: Record<string, string> = {
  wait: 'queued',
  waiting: 'queued',
  prioritized: 'queued',
  'waiting-children': 'queued',
  delayed: 'delayed',
  active: 'running',
};

const LISTED: JobType[] = ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'];

/**
 * The run id of a job: its id, which is the run id for a submitted run; a scheduler's jobs have
 * ids like `repeat:<schedule>:<ms>`, made into one (`repeat.<schedule>.<ms>`).
 */
export function runIdOf(job: Pick<Job, 'id'>): string {
  const id = String(job.id);
  return RUN_ID.test(id) ? id : id.replace(/[^A-Za-z0-9_.-]/g, '.').replace(/^[^A-Za-z0-9]+/, '');
}

export class RunQueue {
  readonly queue: Queue<RunJob>;

  constructor(readonly address: QueueAddress) {
    this.queue = new Queue<RunJob>(address.name, {
      // A command line gives up on a Redis it cannot reach (after about a second) rather than wait for it.
      connection: { url: address.url, maxRetriesPerRequest: 2, connectTimeout: 3_000, retryStrategy: (times: number) => (times > 3 ? null : 250) },
      prefix: address.prefix,
      // A run's own failures are its plan's business (retries per step): the job is tried once,
      // and kept, done or failed, for `status` and `retry`.
      defaultJobOptions: { attempts: 1, removeOnComplete: false, removeOnFail: false },
    });
    this.queue.on('error', () => {}); // reported by the command that fails
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof OrchestratorError) throw error;
      throw new OrchestratorError(`cannot ${what} at ${this.address.location}: ${(error as Error).message}`, EXIT.failed);
    }
  }

  /** Adds run `runId`; refused (exit 1) when a job of that id is already there, in any state. */
  async submit(runId: string, plan: Plan, options: SubmitOptions = {}): Promise<void> {
    if (/^\d+$/.test(runId)) throw new OrchestratorError(`run id ${runId}: a queued run's id cannot be digits alone (BullMQ keeps those for its own ids)`, EXIT.usage);
    const submission = randomBytes(8).toString('hex');
    await this.call('submit', async () => {
      await this.queue.add('run', { plan, submission }, { jobId: runId, ...(options.priority ? { priority: options.priority } : {}), ...(options.delayMs ? { delay: options.delayMs } : {}) });
      // BullMQ answers a duplicate id with the job already there: ours is the one whose data we wrote.
      const stored = await this.queue.getJob(runId);
      if (stored?.data.submission !== submission) throw new OrchestratorError(`run ${runId} is already in ${this.address.location}: choose another --run-id, or \`retry\` it`, EXIT.failed);
    });
  }

  /** A repeatable run: a job per cron tick, each a run of its own (`repeat.<id>.<ms>`). */
  async schedule(id: string, plan: Plan, pattern: string, options: SubmitOptions = {}): Promise<Schedule> {
    await this.call('schedule', () =>
      this.queue.upsertJobScheduler(id, { pattern }, { name: 'run', data: { plan, submission: `schedule:${id}` }, opts: options.priority ? { priority: options.priority } : {} }),
    );
    return (await this.schedules()).find((s) => s.id === id)!;
  }

  async schedules(): Promise<Schedule[]> {
    const found = await this.call('list schedules', () => this.queue.getJobSchedulers(0, -1, true));
    return found.map((s) => ({ id: s.key, pattern: s.pattern ?? `every ${s.every} ms`, nextAtMs: s.next ?? null, runs: s.iterationCount ?? 0 }));
  }

  async unschedule(id: string): Promise<boolean> {
    return this.call('unschedule', () => this.queue.removeJobScheduler(id));
  }

  pause(): Promise<void> {
    return this.call('pause', () => this.queue.pause());
  }

  resume(): Promise<void> {
    return this.call('resume', () => this.queue.resume());
  }

  isPaused(): Promise<boolean> {
    return this.call('read', () => this.queue.isPaused());
  }

  /** Removes the runs not started yet (delayed ones too); running and finished runs stay. */
  drain(): Promise<void> {
    return this.call('drain', () => this.queue.drain(true));
  }

  /**
   * Forgets finished runs older than `olderThanMs` (done and blocked ones; failed ones too with
   * `failed`): Redis keeps every job until then. Their checkpoints and execution records stay in the
   * store. Returns how many were removed.
   */
  async clean(olderThanMs: number, failed: boolean): Promise<number> {
    return this.call('clean', async () => {
      let removed = 0;
      for (const type of failed ? (['completed', 'failed'] as const) : (['completed'] as const)) {
        for (;;) {
          const batch = await this.queue.clean(olderThanMs, 1_000, type);
          removed += batch.length;
          if (batch.length < 1_000) break;
        }
      }
      return removed;
    });
  }

  /** Queues a failed run again: a worker resumes it from its checkpoint. False when it is not a failed run. */
  async retry(runId: string): Promise<boolean> {
    return this.call('retry', async () => {
      const job = await this.queue.getJob(runId);
      if (!job || (await job.getState()) !== 'failed') return false;
      await job.retry('failed');
      return true;
    });
  }

  /** A run that ended blocked at an approval, approved since: queued again. False for any other run. */
  async requeueBlocked(runId: string): Promise<boolean> {
    return this.call('queue again', async () => {
      const job = await this.queue.getJob(runId);
      if (!job || (await job.getState()) !== 'completed') return false;
      if (runOutcomeSchema.safeParse(job.returnvalue).data?.terminal_state !== 'blocked') return false;
      await job.retry('completed');
      return true;
    });
  }

  /** Every run the queue holds, oldest first. */
  async runs(): Promise<QueuedRun[]> {
    const out: QueuedRun[] = [];
    for (const type of LISTED) {
      const jobs = await this.call('list runs', () => this.queue.getJobs(type, 0, -1, true));
      for (const job of jobs) out.push(describe(job, type));
    }
    return out.sort((a, b) => a.submittedAtMs - b.submittedAtMs || a.runId.localeCompare(b.runId));
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => {});
  }
}

function describe(job: Job<RunJob>, type: JobType): QueuedRun {
  let state = STATE_OF[type] ?? type;
  if (type === 'completed') state = runOutcomeSchema.safeParse(job.returnvalue).data?.terminal_state ?? 'done';
  if (type === 'failed') state = RUN_ENDED.exec(job.failedReason ?? '')?.[1] ?? 'failed';
  return {
    runId: runIdOf(job),
    state,
    priority: job.opts.priority ?? 0,
    worker: job.processedBy ?? null,
    starts: job.attemptsStarted ?? 0,
    submittedAtMs: job.timestamp,
    startedAtMs: job.processedOn ?? null,
    finishedAtMs: job.finishedOn ?? null,
    schedule: job.repeatJobKey ?? null,
    reason: type === 'failed' ? (job.failedReason ?? null) : null,
  };
}

/**
 * One invocation of a run: the actor, its checkpoint and report, and the stage work it starts.
 * The machine decides; this class does the I/O the machine names.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Actor, type InspectionEvent, type Snapshot, createActor, fromPromise } from 'xstate';
import {
  type OrchestrationContext,
  type StageWorkInput,
  type StageWorkOutput,
  orchestrationMachine,
} from '../../machines/orchestration.js';
import { STAGES, type Stage, type TerminalState, isTerminalState } from '../../machines/stages.js';
import { CHECKPOINT_SCHEMA_VERSION, type CheckpointV1 } from '../checkpoint/schema.js';
import type { CheckpointLock, CheckpointStore } from '../checkpoint/store.js';
import type { OrchestrationConfig } from '../config/schema.js';
import { EXIT, OrchestratorError, exitCodeFor } from '../exit-codes.js';
import { PRODUCT, earlierExecutions, writeReport } from '../report/report-file.js';
import type { RunReport, StageExecution } from '../report/schema.js';
import { TransitionRecorder } from '../report/transition-recorder.js';
import { VERSION } from '../version.js';
import { CoalescedWriter } from './coalesced-writer.js';
import type { Attempts, StartPlan } from './start-plan.js';
import { runStageWork, skippedExecution } from './stage-work.js';

type OrchestrationActor = Actor<typeof orchestrationMachine>;
type PersistedSnapshot = CheckpointV1['snapshot'];
type ResumablePlan = Exclude<StartPlan, { mode: 'done' }>;

export interface RunResult {
  report: RunReport;
  reportPath: string;
  checkpointPath: string;
  terminalState: TerminalState | null;
  /** The signal or reason that stopped the run before it ended, or null. */
  interruptedBy: string | null;
  exitCode: number;
}

export interface SessionOptions {
  inspect?: ((event: InspectionEvent) => void) | undefined;
  signal?: AbortSignal | undefined;
  lock?: CheckpointLock | undefined;
}

export class RunSession {
  private readonly report: RunReport;
  private readonly recorder: TransitionRecorder;
  private readonly attempts: Attempts;
  private readonly checkpointWriter: CoalescedWriter;
  private readonly reportWriter: CoalescedWriter;
  private readonly logsDir: string;
  private readonly inFlight = new Set<Promise<unknown>>();
  private actor!: OrchestrationActor;
  private resumable: PersistedSnapshot | null = null;
  private interruptedBy: string | null = null;
  private fatal: OrchestratorError | null = null;
  private stopped = false;
  private lastCheckpointKey = '';
  private finish: () => void = () => {};

  constructor(
    private readonly config: OrchestrationConfig,
    private readonly store: CheckpointStore,
    private readonly plan: ResumablePlan,
    private readonly reportPath: string,
    private readonly options: SessionOptions,
  ) {
    this.logsDir = join(config.outputDir, 'logs');
    this.attempts = { ...plan.attempts };
    const prior = plan.mode === 'snapshot' ? plan.checkpoint.transitions : [];
    const current = plan.mode === 'snapshot' ? (plan.checkpoint.snapshot.value as Stage) : null;
    this.report = newReport(plan.runId, store.location, plan.resumedFrom);
    if (plan.mode !== 'fresh') this.report.earlier_stage_executions = earlierExecutions(reportPath, plan.runId);
    this.recorder = new TransitionRecorder(plan.runId, [...prior], current, () => this.reportWriter.request());
    this.report.transitions = this.recorder.transitions;
    this.checkpointWriter = new CoalescedWriter(
      () => this.saveCheckpoint(),
      (error) => this.fail(`cannot write checkpoint ${store.location}`, error),
    );
    this.reportWriter = new CoalescedWriter(
      () => this.saveReport(),
      (error) => this.fail(`cannot write report ${reportPath}`, error),
    );
  }

  async run(): Promise<RunResult> {
    mkdirSync(this.logsDir, { recursive: true });
    const finished = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    this.actor = this.createActor();
    if (this.plan.mode === 'snapshot') this.recordSkippedBefore(this.plan.checkpoint.snapshot.value as Stage);
    this.actor.subscribe({
      next: (snapshot) => this.onSnapshot(snapshot),
      error: (error) => this.fail('the state machine failed', error),
      complete: () => this.finish(),
    });
    const onAbort = () => this.interrupt(String(this.options.signal?.reason ?? 'abort'));
    if (this.options.signal?.aborted) onAbort();
    else this.options.signal?.addEventListener('abort', onAbort, { once: true });

    this.actor.start();
    if (this.actor.getSnapshot().status === 'active' && this.resumable === null) {
      this.resumable = this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot;
    }
    await finished;
    this.options.signal?.removeEventListener('abort', onAbort);
    await Promise.allSettled([...this.inFlight]);
    return await this.conclude();
  }

  private createActor(): OrchestrationActor {
    const machine = orchestrationMachine.provide({
      actors: {
        runStage: fromPromise<StageWorkOutput, StageWorkInput>(({ input, signal }) => this.stageWork(input, signal)),
      },
    });
    const inspect = (event: InspectionEvent) => {
      this.recorder.observe(event);
      try {
        this.options.inspect?.(event);
      } catch {
        // an observer's failure must not change the run
      }
    };
    if (this.plan.mode === 'snapshot') {
      const snapshot = structuredClone(this.plan.checkpoint.snapshot);
      // Flags given at resume decide, as in V0; the snapshot keeps only progress.
      (snapshot.context as unknown as OrchestrationContext).simulateBlocked = this.config.simulateBlocked;
      return createActor(machine, { snapshot: snapshot as unknown as Snapshot<unknown>, input: this.input(), inspect });
    }
    return createActor(machine, { input: this.input(), inspect });
  }

  /** Used to start a fresh or re-walked run; a restored snapshot keeps its own context. */
  private input() {
    return {
      runId: this.plan.runId,
      simulateBlocked: this.config.simulateBlocked,
      completedStages: this.plan.mode === 'snapshot' ? [] : this.plan.completedStages,
    };
  }

  private stageWork(input: StageWorkInput, signal: AbortSignal): Promise<StageWorkOutput> {
    // Tracked whole (record included) so that a stopped run waits for it before concluding.
    const work = this.doStageWork(input, signal);
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private async doStageWork(input: StageWorkInput, signal: AbortSignal): Promise<StageWorkOutput> {
    const { stage } = input;
    const invocation = this.config.stages[stage];
    if (!invocation) return { stage, status: 'success', error: null };
    if (input.alreadyCompleted) {
      this.addExecution(skippedExecution(stage, invocation));
      return { stage, status: 'skipped', error: null };
    }
    const attempt = (this.attempts[stage] ?? 0) + 1;
    this.attempts[stage] = attempt;
    // The attempt is on disk, and the report names the stage, before its program starts (a run
    // killed meanwhile leaves both). The snapshot that started this stage requests its writes once
    // this call returns: let it, so that the flush carries them (one write each).
    await Promise.resolve();
    await Promise.all([this.checkpointWriter.flush(), this.reportWriter.flush()]);
    if (this.stopped) return { stage, status: 'failed', error: 'interrupted' };
    const record = await runStageWork({
      runId: input.runId,
      stage,
      attempt,
      invocation,
      timeoutMs: invocation.timeoutMs ?? this.config.timeoutMs,
      killGraceMs: this.config.killGraceMs,
      logsDir: this.logsDir,
      signal,
      interruptReason: () => this.interruptedBy ?? 'a stop request',
      onProcessGroup: (pgid) => this.options.lock?.noteProcessGroup?.(pgid),
    });
    this.addExecution(record);
    return { stage, status: record.status, error: record.error };
  }

  private addExecution(record: StageExecution): void {
    this.report.stage_executions.push(record);
    this.reportWriter.request();
  }

  /** A snapshot-resumed run records, as V0 does, a skipped execution for each completed stage. */
  private recordSkippedBefore(current: Stage): void {
    for (const stage of STAGES.slice(0, STAGES.indexOf(current))) {
      const invocation = this.config.stages[stage];
      if (invocation) this.report.stage_executions.push(skippedExecution(stage, invocation));
    }
  }

  private onSnapshot(snapshot: ReturnType<OrchestrationActor['getSnapshot']>): void {
    if (this.stopped) return;

    if (snapshot.status === 'active') {
      this.resumable = this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot;
    }
    this.checkpointWriter.request();
    this.reportWriter.request();
    if (snapshot.status !== 'active') this.finish();
  }

  private interrupt(reason: string): void {
    if (this.stopped) return;
    this.interruptedBy = reason;
    this.stopped = true;
    this.actor.stop(); // aborts the running stage's signal: its process group is ended
    this.finish();
  }

  private fail(what: string, error: unknown): void {
    const code = (error as NodeJS.ErrnoException)?.code;
    this.fatal ??= new OrchestratorError(`${what}: ${code ?? (error as Error)?.message ?? String(error)}`, EXIT.failed);
    this.interrupt('an error');
  }

  private terminalState(): TerminalState | null {
    if (this.interruptedBy !== null) return null;
    const snapshot = this.actor.getSnapshot();
    return snapshot.status === 'done' && isTerminalState(snapshot.value) ? snapshot.value : null;
  }

  private async conclude(): Promise<RunResult> {
    const terminal = this.terminalState();
    this.report.terminal_state = terminal;
    this.report.status = this.interruptedBy === null ? 'finished' : 'interrupted';
    this.report.interrupted_by = this.fatal ? null : this.interruptedBy;
    this.report.failure = this.actor.getSnapshot().context.failure;
    if (this.interruptedBy !== null) this.checkpointWriter.request();
    this.reportWriter.request();
    await this.checkpointWriter.close();
    await this.reportWriter.close();
    if (this.fatal) throw this.fatal;
    const exitCode = this.interruptedBy === null ? exitCodeFor(terminal) : interruptExitCode(this.interruptedBy);
    return {
      report: this.report,
      reportPath: this.reportPath,
      checkpointPath: this.store.location,
      terminalState: terminal,
      interruptedBy: this.interruptedBy,
      exitCode,
    };
  }

  private saveCheckpoint(): Promise<void> {
    const snapshot = this.actor.getSnapshot();
    const terminal = snapshot.status === 'done' && isTerminalState(snapshot.value) ? snapshot.value : null;
    // Done and blocked are kept; a failed or timed-out (or stopped) run keeps the snapshot of the
    // stage in flight, so that --resume runs that stage again (V0 keeps terminal_state null).
    const keepsFinal = terminal === 'done' || terminal === 'blocked';
    const persisted = keepsFinal
      ? (this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot)
      : (this.resumable ?? (this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot));
    const context = persisted.context as unknown as OrchestrationContext;
    const checkpoint: CheckpointV1 = {
      run_id: this.plan.runId,
      completed_stages: context.completedStages,
      terminal_state: keepsFinal ? terminal : null,
      updated_at_unix_secs: Math.floor(Date.now() / 1000),
      schema_version: CHECKPOINT_SCHEMA_VERSION,
      machine: 'orchestration',
      snapshot: persisted,
      transitions: this.recorder.transitions,
      attempts: this.attempts,
      last_failure: snapshot.context.failure,
    };
    // Several machine steps can leave the same progress; writing it again buys nothing.
    const key = JSON.stringify({ ...checkpoint, updated_at_unix_secs: 0 });
    if (key === this.lastCheckpointKey) return Promise.resolve();
    this.lastCheckpointKey = key;
    return this.store.save(checkpoint);
  }

  private saveReport(): void {
    this.report.current_stage = this.recorder.currentStage;
    this.report.updated_at_unix_ms = Date.now();
    this.report.orchestrator_max_rss_kib = process.resourceUsage().maxRSS;
    writeReport(this.reportPath, this.report);
  }
}

export function newReport(runId: string, checkpointPath: string, resumedFrom: RunReport['resumed_from']): RunReport {
  const now = Date.now();
  return {
    product: PRODUCT,
    version: VERSION,
    run_id: runId,
    current_stage: null,
    terminal_state: null,
    transitions: [],
    stage_executions: [],
    earlier_stage_executions: [],
    resumed_from: resumedFrom,
    status: 'running',
    interrupted_by: null,
    failure: null,
    checkpoint_path: checkpointPath,
    started_at_unix_ms: now,
    updated_at_unix_ms: now,
    orchestrator_max_rss_kib: process.resourceUsage().maxRSS,
  };
}

function interruptExitCode(reason: string): number {
  if (reason === 'SIGINT') return EXIT.sigint;
  if (reason === 'SIGTERM') return EXIT.sigterm;
  return EXIT.failed;
}

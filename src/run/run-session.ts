/**
 * One invocation of a run: the actor, its checkpoint and report, and the steps it starts.
 * The machine and the step scheduler decide; this class does the I/O they name.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Actor, type InspectionEvent, type Snapshot, createActor, fromCallback, fromPromise } from 'xstate';
import {
  type AutofixWorkInput,
  type AutofixWorkOutput,
  type LoopRunInput,
  type OrchestrationContext,
  type PlanningContextInput,
  type StageWorkInput,
  type StageWorkOutput,
  orchestrationMachine,
  WALL_CLOCK_ID,
  WALL_CLOCK_SRC,
  type WallTimeoutEvent,
} from '../../machines/orchestration.js';
import type { LoopRunReport, LoopState, ValidationCommand } from '../../machines/loops.js';
import { type DeliveryStep, type DeliveryStepInput, type DeliveryStepOutput, deliverySteps } from '../../machines/delivery.js';
import { deliveryEffectRecord, deliveryRecordOf, deliveryStepOf, skippedDelivery } from './delivery-work.js';
import { deliveryEffectFound } from './delivery-effect.js';
import { refuseDelivery } from './delivery-refusals.js';
import { CAP_RECORDS, ESCALATION_QUEUE_FILE, type EscalationCase, escalationCasesOf, writeEscalationQueue } from '../report/escalation.js';
import type { StepFinished } from '../../machines/step-scheduler.js';
import { STAGES, type Stage, type TerminalState, isStage, isTerminalState } from '../../machines/stages.js';
import { type Approval, CHECKPOINT_SCHEMA_VERSION, type CheckpointV3, type RunIdentity } from '../checkpoint/schema.js';
import type { CheckpointLock, RunCheckpointStore } from '../checkpoint/store.js';
import type { OrchestrationConfig } from '../config/schema.js';
import { EXIT, OrchestratorError, exitCodeFor } from '../exit-codes.js';
import { pauseAt } from '../fault/pause-point.js';
import type { Step } from '../plan/schema.js';
import { PRODUCT, earlierExecutions, renderAll, writeReport } from '../report/report-file.js';
import { RecordsLog, recordsPathIn } from '../report/records-log.js';
import type { RunReport, StageExecution } from '../report/schema.js';
import { TransitionRecorder } from '../report/transition-recorder.js';
import { VERSION } from '../version.js';
import { removeStaleTempFiles } from '../checkpoint/durable-write.js';
import { CoalescedWriter } from './coalesced-writer.js';
import type { SpawnedPids } from './detached.js';
import { runIdentityOf } from './run-identity.js';
import { signalGroup } from './process-group.js';
import { type RunEnd, autonomousFieldsOf, laterFieldsOf } from '../report/later-fields.js';
import { deliverySettingsOf, laterOf, loopSettingsOf, reviewerStepOf } from './loop-settings.js';
import { autofixAttemptOf, autofixStep, failureSignature, loopRecordExecution, reviewerNextSteps, stepForAttempt, withPlannedValidations } from './loop-steps.js';
import { readPlannerOutput } from './planner-output.js';
import { CycleMemoryWriter, cycleMemoryOf } from './cycle-memory.js';
import { type FeedbackSource, feedbackSourceOfReport, planningFeedback, validationOutcomesOf, readDetectedValidationCommands, repoContextOf, writeRepoContext } from './planning-context.js';
import { nextActionsOf, readNextActions, writeNextActions } from '../report/next-actions.js';
import { type RepoSnapshot, captureRepoSnapshot, repoDelta } from './versioning.js';
import { readTextOrNull } from '../report/report-file.js';
import { withValidationCommands } from './cycle-memory.js';
import { createStageLogic } from './stage-logic.js';
import { type StepWorkRequest, emptyRecord, failedExecution, runStepWork, skippedExecution } from './stage-work.js';
import {
  DEFAULT_MEMORY_DECAY_WINDOW_RUNS,
  DEFAULT_MEMORY_MAX_ENTRIES,
  type MemoryPolicy,
  type MemoryStore,
  loadMemory,
  memoryReliability,
  recordRun,
  saveMemory,
} from './long-horizon-memory.js';
import type { StartPlan } from './start-plan.js';
import { ThermostatRecorder, spentIn, thermostatSettingsOf } from './thermostat-session.js';
import type { RunTrace, StepAttemptTrace } from '../trace/run-trace.js';
import type { TraceCarrier } from '../trace/trace-carrier.js';

type OrchestrationActor = Actor<typeof orchestrationMachine>;
type PersistedSnapshot = CheckpointV3['snapshot'];
type ResumablePlan = Exclude<StartPlan, { mode: 'done' }>;
type Halt = NonNullable<CheckpointV3['halt']>;

const HALTED_STATES = ['awaiting_approval', 'budget_exceeded', 'roi_below_floor'];
const REPORT_MIN_SPACING_MS = 1_000;
const REPORT_SPACING_FACTOR = 20;

export interface RunResult {
  report: RunReport;
  reportPath: string;
  checkpointPath: string;
  /** `blocked` also when the run halted for an approval or its budget. */
  terminalState: TerminalState | null;
  /** The signal or reason that stopped the run before it ended, or null. */
  interruptedBy: string | null;
  exitCode: number;
}

export interface SessionOptions {
  inspect?: ((event: InspectionEvent) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** See RunOptions.hurry. */
  hurry?: AbortSignal | undefined;
  /** Told the pid of every step it spawns (the run's end looks for what they detached from there). */
  spawned?: SpawnedPids | undefined;
  lock?: CheckpointLock | undefined;
  executionLog?: RunExecutionLog | undefined;
  /** The run's spans (trace/run-trace.ts); null when it is not traced. */
  trace?: RunTrace | null | undefined;
  /** One line for the user (the CLI prints it on stderr). */
  warn?: ((message: string) => void) | undefined;
}

/**
 * A run's execution records kept beside its checkpoint in a shared store, for runs that move
 * between machines (a worker's): the records of earlier invocations, wherever they ran, and where
 * each new record goes as it is made. A checkpoint is written only once the records made before it
 * are stored, so a run taken over after a kill -9 reports every step its dead worker completed.
 */
export interface RunExecutionLog {
  /** Read once the run's lock is held. */
  earlier(): Promise<StageExecution[]>;
  append(record: StageExecution): Promise<void>;
}

export class RunSession {
  private readonly report: RunReport;
  private readonly recorder: TransitionRecorder;
  private readonly attempts: Record<string, number>;
  private attemptsStarted: number;
  private readonly approvals: Approval[];
  private readonly checkpointWriter: CoalescedWriter;
  private readonly reportWriter: CoalescedWriter;
  /** The ROI thermostat's part of the report; null for a run without one. */
  private readonly thermostat: ThermostatRecorder | null;
  /**
   * Where the execution records are kept: not in memory (10,000 of them would be most of a long
   * run's heap) but in the records log, which the report's writes read back one record at a time.
   * `report.stage_executions` (and the earlier ones) read them back when the run has ended.
   */
  private records!: RecordsLog;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly runningGroups = new Set<number>();
  private actor!: OrchestrationActor;
  private resumable: PersistedSnapshot | null = null;
  private fatal: OrchestratorError | null = null;
  private lastCheckpointKey = '';
  /** With loops: a budget ran out in this invocation (an escalation), and the cases routed at its end. */
  private capExhausted = false;
  /** `--memory-path`: the long-horizon memory as the run started, and its policy. */
  private memory: { path: string; policy: MemoryPolicy; store: MemoryStore } | null = null;
  private escalations: EscalationCase[] = [];
  /** The execution log's appends so far, in order; a checkpoint write waits for them. */
  private storedRecords: Promise<void> = Promise.resolve();
  private finish: () => void = () => {};
  private readonly identity: RunIdentity;
  /** What every step inherits: the environment as this invocation found it, copied once. */
  private readonly inheritedEnv: Readonly<Record<string, string | undefined>> = { ...process.env };
  private readonly trace: RunTrace | null;
  /** Kept in the checkpoint: the first traced invocation's run span, which resumes link to. */
  private readonly traceOrigin: TraceCarrier | null;
  /** With `--cycle-memory-path`: written with the checkpoints. */
  private readonly cycleMemory: CycleMemoryWriter | null;
  private cycleMemoryFailed = false;
  /** With a planning context: the run the feedback is about (the report found in the output directory at start). */
  private previousRun: FeedbackSource | null = null;
  /** With --validation-from-planning-context: why the artifact's commands could not be read, for this validation visit. */
  private validationResolveError: string | null = null;
  /** With --autonomous-loop: the records of the loop's current run, and the repository when it began. */
  private loopRunRecords: Pick<StageExecution, 'stage' | 'status' | 'command' | 'exit_code'>[] = [];
  private loopRunBefore: RepoSnapshot | null = null;

  constructor(
    private readonly config: OrchestrationConfig,
    private readonly store: RunCheckpointStore,
    private readonly plan: ResumablePlan,
    private readonly reportPath: string,
    private readonly options: SessionOptions,
  ) {
    // A real delivery that cannot start or go on as given is refused before anything is written.
    refuseDelivery(config, plan.mode === 'snapshot' ? plan.checkpoint : null, store.location);
    this.identity = runIdentityOf(config);
    this.trace = options.trace ?? null;
    this.traceOrigin = (plan.mode === 'snapshot' ? plan.checkpoint.trace : undefined) ?? this.trace?.carrier ?? null;
    const memoryPath = laterOf(config)?.cycleMemoryPath;
    // Read before this run writes its own report there.
    if (laterOf(config)?.planningContextArtifact !== undefined) this.previousRun = feedbackSourceOfReport(readTextOrNull(reportPath));
    this.cycleMemory = memoryPath === undefined ? null : new CycleMemoryWriter(memoryPath);
    this.attempts = { ...plan.attempts };
    this.attemptsStarted = plan.attemptsStarted;
    this.approvals = [...plan.approvals];
    const prior = plan.mode === 'snapshot' ? plan.checkpoint.transitions : [];
    const current = plan.mode === 'snapshot' ? lastStageOf(prior) : null;
    this.report = newReport(plan.runId, store.location, plan.resumedFrom);
    this.report.approvals = this.approvals;
    this.report.cost = { spent: plan.mode === 'snapshot' ? spentIn(plan.checkpoint) : 0, budget: this.costBudget };
    const thermostat = thermostatSettingsOf(config);
    this.thermostat = thermostat
      ? new ThermostatRecorder(thermostat, config.concurrency ?? config.plan.concurrency ?? thermostat.maxConcurrency, this.report, plan.mode === 'snapshot' ? { checkpoint: plan.checkpoint, reportPath } : null, () =>
          this.reportWriter.request(),
        )
      : null;

    this.recorder = new TransitionRecorder(plan.runId, [...prior], current, () => this.reportWriter.request({ soon: true }));
    this.report.transitions = this.recorder.transitions;
    // A step's record is in the records log (written as the record is made) before any checkpoint
    // can say the step is done, so the checkpoint need not wait for the report.
    this.checkpointWriter = new CoalescedWriter(
      () => this.saveCheckpoint(),
      (error) => this.fail(`cannot write checkpoint ${store.location}`, error),
    );
    // The report grows with every record and is rewritten whole: while steps finish, at most one
    // write per 20 times the last write's duration (and per second), so that its writes stay a small
    // share of the run however long the run; stage changes and the run's end are written at once.
    this.reportWriter = new CoalescedWriter(
      () => this.saveReport(),
      (error) => this.fail(`cannot write report ${reportPath}`, error),
      (lastWriteMs) => Math.max(REPORT_MIN_SPACING_MS, REPORT_SPACING_FACTOR * lastWriteMs),
    );
  }

  private get costBudget(): number | null {
    return this.config.costBudget ?? this.config.plan.budget?.cost ?? null;
  }

  /** Steps at once: the flag's, the plan's, else 1; with a thermostat, where it starts (else its maximum). */
  private get concurrency(): number {
    return this.config.concurrency ?? this.config.plan.concurrency ?? this.thermostat?.settings.maxConcurrency ?? 1;
  }

  /** A stage's steps; the validation stage's with the planner's commands (V0's `validation_commands`) after them. */
  private stepsOf(stage: Stage, plannedValidations?: ValidationCommand[]): Step[] {
    return this.withPlanned(stage, this.config.plan.stages[stage] ?? [], plannedValidations);
  }

  /** The planner's validation commands after the stage's own (V0), unless a reviewer validates. */
  private withPlanned(stage: Stage, steps: Step[], plannedValidations?: ValidationCommand[]): Step[] {
    const commands = plannedValidations ?? [];
    if (stage !== 'validation' || commands.length === 0 || reviewerStepOf(laterOf(this.config), this.config.plan) !== null) return steps;
    return withPlannedValidations(steps, commands);
  }

  async run(): Promise<RunResult> {
    removeStaleTempFiles(this.reportPath);
    mkdirSync(join(this.config.outputDir, 'logs'), { recursive: true });
    mkdirSync(join(this.config.outputDir, 'steps'), { recursive: true });
    this.memory = this.openMemory();
    this.openRecords(this.plan.mode !== 'fresh' && this.options.executionLog ? await this.options.executionLog.earlier() : []);
    const finished = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    this.actor = this.createActor();
    this.startLoopRunRecords();
    if (this.plan.mode === 'snapshot') this.recordSkippedBefore(this.plan.checkpoint);
    const onAbort = () => this.interrupt(String(this.options.signal?.reason ?? 'abort'));
    this.options.hurry?.addEventListener('abort', () => killGroups(this.runningGroups), { once: true });

    // The machine's end is watched from its start (an error there is the run's one-line failure).
    this.actor.subscribe({
      error: (error) => {
        this.fail('the state machine failed', error);
        this.finish();
      },
      complete: () => this.finish(),
    });
    this.actor.start();
    // A halted run is restored halted, and told RESUME before its states are watched: it halts
    // again only if the approvals or the budget given now change nothing. (Its wall clock, restored
    // with it, may have ended it already.)
    const restoredHalted = this.plan.mode === 'snapshot' && HALTED_STATES.includes(String(this.plan.checkpoint.snapshot.value));
    if (restoredHalted && HALTED_STATES.includes(String(this.actor.getSnapshot().value)) && this.actor.getSnapshot().status === 'active') {
      this.actor.send({ type: 'RESUME', approvals: this.approvals.map((a) => a.gate) });
    }
    // An observer without an error handler would make XState throw the machine's error again, uncaught.
    this.actor.subscribe({ next: (snapshot) => this.onSnapshot(snapshot), error: () => {} });
    this.onSnapshot(this.actor.getSnapshot());
    if (this.options.signal?.aborted) onAbort();
    else this.options.signal?.addEventListener('abort', onAbort, { once: true });
    await finished;
    this.options.signal?.removeEventListener('abort', onAbort);
    await Promise.allSettled([...this.inFlight]);
    return await this.conclude();
  }

  private createActor(): OrchestrationActor {
    const stageLogic = createStageLogic({
      steps: (input) => (input.stage === 'validation' ? this.validationSteps(input.loop?.validationCommands) : this.stepsOf(input.stage)),
      refuse: (stage) => (stage === 'validation' ? this.refuseValidation() : null),
      concurrency: this.concurrency,
      thermostat: this.thermostat?.settings ?? null,
      costBudget: this.costBudget,
      stageNeedsApproval: (stage) => this.config.plan.requireApproval.includes(stage),
      runStep: (input, step, signal) => this.runStep(input, step, signal),
      recordSkipped: (input) => {
        for (const step of this.stepsOf(input.stage, input.loop?.validationCommands)) this.addExecution(skippedExecution(input.stage, step));
      },
    });
    // The machine declares its stage actor by input and output alone (a promise placeholder); the
    // real one is richer actor logic with the same input and output, so the types differ.
    const machine = orchestrationMachine.provide({
      actors: {
        runStage: stageLogic as never,
        writePlanningContext: fromPromise<StageWorkOutput, PlanningContextInput>(async ({ input }) => this.writePlanningContext(input)),
        concludeLoopRun: fromPromise<LoopRunReport, LoopRunInput>(async ({ input }) => this.concludeLoopRun(input)),
        runAutofix: fromPromise<AutofixWorkOutput, AutofixWorkInput>(({ input, signal }) => this.runAutofix(input, signal)),
        wallClock: fromCallback<WallTimeoutEvent>(({ sendBack }) => this.startWallClock(() => sendBack({ type: 'WALL_TIMEOUT' }))),
        runDeliveryStep: fromPromise<DeliveryStepOutput, DeliveryStepInput>(({ input, signal }) => this.runDeliveryStep(input, signal)),
      },
      actions: {
        recordLoop: (_, record) => {
          if (record.status === 'failed' && CAP_RECORDS.includes(record.command)) this.capExhausted = true;
          this.addExecution(loopRecordExecution(record));
        },
      },
    });
    const inspect = (event: InspectionEvent) => {
      this.recorder.observe(event);
      this.trace?.observe(event);
      this.onChildSnapshot(event);
      this.thermostat?.tap.inspect(event);
      try {
        this.options.inspect?.(event);
      } catch {
        // an observer's failure must not change the run
      }
    };
    if (this.plan.mode === 'snapshot') {
      const snapshot = structuredClone(this.plan.checkpoint.snapshot);
      withWallClock(snapshot);
      const context = snapshot.context as unknown as OrchestrationContext;
      // Flags and approvals given at resume decide, as in V0; the snapshot keeps progress.
      context.simulateBlocked = this.config.simulateBlocked;
      context.approvals = this.approvals.map((a) => a.gate);
      context.completedSteps ??= {};
      context.spentCost ??= 0;
      context.halt ??= null;
      // Gate statuses, verdicts, decision inputs, the fixer, the PR risk threshold and the risk tier given
      // at resume decide too; the loop counters are progress.
      const settings = this.loopSettings();
      if (context.loops && settings) {
        const { gates, reviewerVerdicts, decision, autofix, prRisk, riskTier } = settings;
        context.loops.settings = { ...context.loops.settings, gates, reviewerVerdicts, decision, autofix, prRisk, riskTier };
      }
      // So do the delivery's commands, even given no later flag at all (none then): the runner runs
      // the resume's (refuseDelivery checked that the commands done are the same ones).
      if (context.loops) context.loops.settings = { ...context.loops.settings, delivery: deliverySettingsOf(laterOf(this.config)) };
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
      approvals: this.approvals.map((a) => a.gate),
      loops: this.loopSettings(),
    };
  }

  private loopSettings() {
    const settings = loopSettingsOf(laterOf(this.config), this.config.plan);
    const remembered = this.memory ? memoryReliability(this.memory.store, this.memory.policy) : [];
    if (!settings?.decision || remembered.length === 0) return settings;
    return { ...settings, decision: { ...settings.decision, memoryReliability: remembered } };
  }

  /** The long-horizon memory of `--memory-path`, read once when the run starts. */
  private openMemory(): typeof this.memory {
    const later = laterOf(this.config);
    if (later?.memoryPath === undefined) return null;
    const policy = { maxEntries: later.memoryMaxEntries ?? DEFAULT_MEMORY_MAX_ENTRIES, decayWindowRuns: later.memoryDecayWindowRuns ?? DEFAULT_MEMORY_DECAY_WINDOW_RUNS };
    return { path: later.memoryPath, policy, store: loadMemory(later.memoryPath) };
  }

  /** V0: the run's entry goes into the memory, the policy's codes become records, a failed save a `memory.persist` record. */
  private rememberRun(terminal: TerminalState | null, loops: LoopState): void {
    const memory = this.memory!;
    const failed = [...this.records.current()].filter((r) => ['failed', 'spawn_failed', 'artifact_missing'].includes(r.status)).map((r) => r.command);
    const run = {
      run_id: this.plan.runId,
      terminal_state: terminal,
      blocked_reason_codes: loops.blockedReasonCodes,
      reliability_updates: loops.decision?.decision_reliability_updates ?? [],
      failed_commands: failed,
    };
    const { store, codes } = recordRun(memory.store, run, memory.policy, Math.floor(Date.now() / 1000));
    const stage = this.recorder.currentStage ?? 'planning';
    const record = (command: string, args: string[], status: 'success' | 'failed', error: string | null) =>
      emptyRecord({ stage, idempotency_key: null, command, args, env_keys: [], status, error, step: '', attempt: 0 });
    for (const code of codes) this.addExecution({ ...record('memory.policy.enforce', [code], 'success', null), exit_code: 0 });
    try {
      saveMemory(memory.path, store);
    } catch (error) {
      this.addExecution(record('memory.persist', [memory.path], 'failed', `Failed to save long-horizon memory '${memory.path}': ${(error as Error).message}`));
    }
  }

  /**
   * V0's `planning.repo_context`: the repository's context and the previous run's feedback, written
   * for the next planning; a record either way; skipped when an earlier invocation completed planning.
   */
  private writePlanningContext(input: PlanningContextInput): StageWorkOutput {
    const later = laterOf(this.config)!;
    const path = later.planningContextArtifact!;
    const repoRoot = later.repoRoot ?? '.';
    const base = { stage: 'planning' as const, completedSteps: input.completedSteps, spentCost: input.spentCost };
    const record = (status: 'success' | 'skipped' | 'failed', error: string | null, startedAtMs: number) => ({
      ...emptyRecord({ stage: 'planning', idempotency_key: 'stage:Planning:repo_context', command: 'planning.repo_context', args: [repoRoot, path], env_keys: [], status, error, step: '', attempt: 0 }),
      ...(status === 'skipped' ? {} : { duration_ms: Date.now() - startedAtMs, exit_code: status === 'success' ? 0 : null }),
    });
    const started = Date.now();
    if (input.alreadyCompleted) {
      this.addExecution(record('skipped', 'Skipped due to checkpoint resume', started));
      return { ...base, status: 'skipped', error: null };
    }
    try {
      const next = later.nextActionsPath === undefined ? null : readNextActions(later.nextActionsPath);
      writeRepoContext(path, repoContextOf(repoRoot, planningFeedback(this.previousRun, next)));
    } catch (error) {
      const message = (error as Error).message;
      this.addExecution(record('failed', message, started));
      return { ...base, status: 'failed', error: message };
    }
    this.addExecution(record('success', null, started));
    return { ...base, status: 'success', error: null };
  }

  /** The run of the autonomous loop under way (null without the loop). */
  private loopRun(): number | null {
    return this.actor?.getSnapshot().context.loops?.autonomous?.run ?? null;
  }

  /** A resumed run of the loop goes on with the records its earlier invocations made in the same loop run. */
  private startLoopRunRecords(): void {
    const run = this.loopRun();
    if (run === null) return;
    this.loopRunBefore = captureRepoSnapshot(laterOf(this.config)?.repoRoot ?? '.');
    if (this.plan.mode !== 'snapshot') return;
    for (const record of this.records.earlier()) if (record.autonomous_run === run) this.loopRunRecords.push(record);
  }

  /**
   * A run of the autonomous loop ended short of done (V0's `run_autonomous_loop`): its next actions
   * are written, and the machine is told the time since the loop began, the run's failure
   * signature and, when it changed nothing in the repository, its no-op signature.
   */
  private concludeLoopRun(input: LoopRunInput): LoopRunReport {
    const later = laterOf(this.config)!;
    const outcome = { run_id: input.runId, terminal_state: input.outcome, blocked_reason_codes: input.blockedReasonCodes, reviewer_next_steps: input.reviewerNextSteps };
    const after = captureRepoSnapshot(later.repoRoot ?? '.');
    const actions = nextActionsOf(outcome, repoDelta(this.loopRunBefore, after));
    if (later.nextActionsPath !== undefined) {
      try {
        writeNextActions(later.nextActionsPath, actions);
      } catch (error) {
        // As a run without the loop: the invocation fails in the one line naming the file.
        this.fatal ??= error as OrchestratorError;
        this.interrupt('an error');
      }
    }
    const failed = this.loopRunRecords.filter((r) => ['failed', 'timeout', 'spawn_failed', 'artifact_missing'].includes(r.status)).map((r) => r.command);
    const title = input.outcome.charAt(0).toUpperCase() + input.outcome.slice(1);
    const failureSignature = `Some(${title})|${input.blockedReasonCodes.join('|')}|${failed.join('|')}`;
    const delta = actions.versioning_delta;
    const noopSignature = delta && !delta.worktree_changed ? `${failureSignature}|${delta.touched_files.join('|')}|${actions.recommended_actions.join('|')}` : null;
    // The next run's planning context reads this run as the previous one.
    this.previousRun = {
      run_id: input.runId,
      terminal_state: input.outcome,
      blocked_reason_codes: input.blockedReasonCodes,
      reviewer_next_steps: input.reviewerNextSteps,
      validation_outcomes: validationOutcomesOf(this.loopRunRecords),
    };
    this.loopRunRecords = [];
    this.loopRunBefore = after;
    return { elapsedMs: Math.max(0, Date.now() - this.plan.startedAtMs), failureSignature, noopSignature };
  }

  /**
   * The validation stage's steps: the run's, then (with --validation-from-planning-context, and no
   * reviewer) the planning context's detected commands, read now as V0 reads them at validation time.
   */
  private validationSteps(plannedValidations?: ValidationCommand[]): Step[] {
    this.validationResolveError = null;
    const later = laterOf(this.config);
    const steps = this.stepsOf('validation', plannedValidations);
    if (!later?.validationFromPlanningContext || later.planningContextArtifact === undefined) return steps;
    try {
      const commands = readDetectedValidationCommands(later.planningContextArtifact);
      return this.withPlanned('validation', withValidationCommands(this.config, later, commands).stages.validation ?? [], plannedValidations);
    } catch (error) {
      this.validationResolveError = (error as Error).message;
      return steps;
    }
  }

  /** The artifact could not be read: V0's failed `validation.resolve_commands` record, and validation fails. */
  private refuseValidation(): string | null {
    const error = this.validationResolveError;
    if (error === null) return null;
    const later = laterOf(this.config)!;
    this.addExecution(
      emptyRecord({ stage: 'validation', idempotency_key: 'stage:Validation:commands', command: 'validation.resolve_commands', args: [later.planningContextArtifact!], env_keys: [], status: 'failed', error, step: '', attempt: 0 }),
    );
    return error;
  }

  private runStep(input: StageWorkInput, step: Step, signal: AbortSignal): Promise<StepFinished> {
    // Tracked whole (record included) so that a stopped run waits for it before concluding.
    const work = this.doRunStep(input, step, signal);
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private async doRunStep(input: StageWorkInput, planStep: Step, signal: AbortSignal): Promise<StepFinished> {
    const step = stepForAttempt(input, planStep);
    const key = `${input.stage}/${step.id}`;
    const attempt = this.nextAttempt(key);
    let traced: StepAttemptTrace | null = null;
    try {
      // The attempt is on disk before its program starts (a run killed meanwhile counts it), and
      // so is a report naming the stage when the stage just began. The snapshot that started this
      // step requests its writes once this call returns: let it, so that the flush carries them.
      await Promise.resolve();
      await this.checkpointWriter.flush();
      await this.reportWriter.settleSoon();
      if (this.stopped || signal.aborted) return cancelledStep(step.id);
      pauseAt('step-start');
      traced = this.trace?.stepStarted(input.stage, step.id, attempt) ?? null;
      const record = await runStepWork({ ...this.stepWorkRequest(input.runId, input.stage, step, attempt, signal), ...(traced ? { traceEnv: traced.env } : {}) });
      pauseAt('step-end');
      traced?.end(record);
      this.addExecution(record);
      // A step that succeeded never runs again: its count is in its record, not in the checkpoint
      // (which would otherwise grow with every step of the run).
      // With loops a step runs again in a later cycle: its count goes on, so its logs are kept apart.
      if (record.status === 'success' && !input.loop) delete this.attempts[key];
      this.report.cost.spent += record.cost;
      const planner = this.applyPlannerOutput(input, step, record);
      if (planner) return planner;
      if (!this.stopped && input.loop && input.stage === 'validation' && step.id === reviewerStepOf(laterOf(this.config), this.config.plan)) {
        this.actor.send({ type: 'REVIEWER_NEXT_STEPS', steps: reviewerNextSteps(step) });
      }
      return {
        stepId: step.id,
        status: record.status,
        error: record.error,
        finishedAtMs: Date.now(),
        cost: record.cost,
        ...(record.value !== undefined ? { value: record.value } : {}),
        cancelled: record.interrupted,
        ...(input.loop && record.status !== 'success' ? { signature: failureSignature(record) } : {}),
      };
    } catch (error) {
      // A bug, not the program's doing: still one record for the attempt, and the step fails closed.
      const record = failedExecution(input.stage, step, attempt, `internal error: ${String(error)}`);
      traced?.end(record);
      this.addExecution(record);
      return { stepId: step.id, status: 'failed', error: record.error, finishedAtMs: Date.now(), cost: 0, cancelled: false };
    }
  }

  /** How one program of the run is started: timeouts, logs, and the process group kept track of. */
  private stepWorkRequest(runId: string, stage: Stage, step: Step, attempt: number, signal: AbortSignal): StepWorkRequest {
    return {
      runId,
      stage,
      step,
      attempt,
      timeoutMs: step.timeoutMs ?? this.config.plan.timeoutMs ?? this.config.timeoutMs,
      killGraceMs: this.config.killGraceMs,
      outputDir: this.config.outputDir,
      signal,
      inheritedEnv: this.inheritedEnv,
      interruptReason: () => this.interruptedBy ?? 'a failing sibling step',
      onProcessGroup: (pgid, running, startTicks) => {
        this.runningGroups[running ? 'add' : 'delete'](pgid);
        if (running) this.options.spawned?.note(pgid);
        this.options.lock?.noteProcessGroup?.(pgid, running, startTicks);
      },
      // A lock that notes no groups (Postgres, Redis) leaves the reaper the only guard after a crash.
      reaperAtOnce: this.options.lock?.noteProcessGroup === undefined,
    };
  }

  /** One attempt of the fixer (the auto-fix loop): V0 reports it in `auto_fix_attempts`, not as an execution record. */
  private async runAutofix(input: AutofixWorkInput, signal: AbortSignal): Promise<AutofixWorkOutput> {
    const work = (async () => {
      await this.checkpointWriter.flush();
      const fixer = this.loopSettings()?.autofix;
      if (!fixer) throw new Error('the run has no --autofix-bin');
      const record = await runStepWork(this.stepWorkRequest(input.runId, 'validation', autofixStep(fixer, input.attempt), input.attempt, signal));
      return { attempt: autofixAttemptOf(fixer, input.attempt, record), error: record.error };
    })();
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  /**
   * One command of a real delivery (git or gh) in the repository, as a step of closure: the
   * checkpoint saying which commands succeeded, and counting this attempt, is on disk before it
   * starts, so a run killed during it runs it again on resume, and none before it. The command is
   * the `index`th of the delivery flags given now (the flags decide; the machine's input, saved with
   * the snapshot, may hold an earlier invocation's). An attempt after the first looks for the
   * command's effect first (delivery-effect.ts): found, it is recorded a success and not run.
   */
  private async runDeliveryStep(input: DeliveryStepInput, signal: AbortSignal): Promise<DeliveryStepOutput> {
    const work = (async () => {
      const current = deliverySettingsOf(laterOf(this.config));
      const command = current ? deliverySteps(current)[input.index - 1] : undefined;
      if (command === undefined) throw new Error(`the delivery flags give no command ${input.index}`);
      const repoRoot = laterOf(this.config)?.repoRoot ?? '.';
      const step = deliveryStepOf({ ...input, step: command }, repoRoot);
      const attempt = this.nextAttempt(`closure/${step.id}`);
      await this.checkpointWriter.flush();
      if (this.stopped || signal.aborted) return { index: input.index, step: step.id, status: 'failed', error: 'cancelled before it started' };
      pauseAt('step-start');
      const traced = this.trace?.stepStarted('closure', step.id, attempt) ?? null;
      const lookup = { cwd: repoRoot, env: { ...this.inheritedEnv, ...traced?.env }, timeoutMs: step.timeoutMs ?? this.config.plan.timeoutMs ?? this.config.timeoutMs, signal };
      const found = attempt > 1 ? await deliveryEffectFound(command, lookup) : null;
      // A commit run again stages first, as a delivery run from its start would: what was fixed since
      // (the files a pre-commit hook refused) goes in, not only what the first `git add -A` staged.
      if (found === null && attempt > 1 && command.id === 'delivery.git.commit') {
        const staged = await this.stageAgain(input, deliverySteps(current!), repoRoot, signal);
        if (staged !== null && staged.status !== 'success') {
          traced?.end(staged);
          return { index: input.index, step: step.id, status: staged.status, error: staged.error };
        }
      }
      const record =
        found !== null
          ? deliveryEffectRecord(command, input.index, attempt, found)
          : deliveryRecordOf(await runStepWork({ ...this.stepWorkRequest(input.runId, 'closure', step, attempt, signal), ...(traced ? { traceEnv: traced.env } : {}) }), step);
      pauseAt('step-end');
      traced?.end(record);
      this.addExecution(record);
      return { index: input.index, step: step.id, status: record.status, error: record.error };
    })();
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  /** A program of the run starts: its attempt under `key` (`<stage>/<step>`), counted in the checkpoint. */
  private nextAttempt(key: string): number {
    const attempt = (this.attempts[key] ?? 0) + 1;
    this.attempts[key] = attempt;
    this.attemptsStarted += 1;
    return attempt;
  }

  /** The delivery's `git add -A` once more, before a commit run again: its own record, noted; null without one. */
  private async stageAgain(input: DeliveryStepInput, steps: DeliveryStep[], repoRoot: string, signal: AbortSignal): Promise<StageExecution | null> {
    const index = steps.findIndex((s) => s.id === 'delivery.git.add') + 1;
    if (index === 0) return null;
    const add = deliveryStepOf({ ...input, index, step: steps[index - 1]! }, repoRoot);
    const attempt = this.nextAttempt(`closure/${add.id}`);
    const record = deliveryRecordOf(await runStepWork(this.stepWorkRequest(input.runId, 'closure', add, attempt, signal)), add);
    const noted = { ...record, note: 'run again before the commit runs again, so that what changed since is staged' };
    this.addExecution(noted);
    return noted;
  }

  /** With loops, a successful manager's planner output (planner-output.ts); a bad one fails the step. */
  private applyPlannerOutput(input: StageWorkInput, step: Step, record: StageExecution): StepFinished | null {
    if (this.stopped || !input.loop || input.stage !== 'planning' || record.status !== 'success') return null;
    const outcome = readPlannerOutput(step);
    if (outcome.kind === 'none') return null;
    this.addExecution(loopRecordExecution(outcome.record));
    if (outcome.kind === 'applied') {
      this.actor.send(outcome.event);
      return null;
    }
    return { stepId: step.id, status: 'failed', error: outcome.record.error, finishedAtMs: Date.now(), cost: record.cost, cancelled: false };
  }

  private addExecution(given: StageExecution): void {
    const run = this.loopRun();
    const record = run === null ? given : { ...given, autonomous_run: run };
    if (run !== null) this.loopRunRecords.push(record);
    try {
      this.records.append(record);
    } catch (error) {
      // A record that could not be kept (a full disk): the run stops before any checkpoint says its step is done.
      this.fail(`cannot write ${this.records.path}`, error);
      return;
    }
    const log = this.options.executionLog;
    if (log) {
      this.storedRecords = this.storedRecords.then(() => log.append(record));
      this.storedRecords.catch((error: unknown) => this.fail('cannot record an execution in the store', error));
    }
    this.reportWriter.request();
  }

  /**
   * A fresh run starts the records log over. A resumed run appends to it; one whose earlier
   * invocations predate the log starts it with the records their report holds.
   */
  private openRecords(stored: StageExecution[]): void {
    const path = recordsPathIn(dirname(this.reportPath));
    const fresh = this.plan.mode === 'fresh';
    if (this.options.executionLog) {
      // The store's log holds every invocation's records, on whatever machine they ran.
      this.records = new RecordsLog(path, this.plan.runId, { fresh: true, seed: stored });
      return;
    }
    // After a power loss, the checkpoint journal may hold records the log lost: they go back first.
    if (!fresh) {
      const refused = this.store.restoreAppends?.(path);
      if (refused) this.options.warn?.(refused);
    }
    const seed = !fresh && !existsSync(path) ? earlierExecutions(this.reportPath, this.plan.runId) : [];
    this.records = new RecordsLog(path, this.plan.runId, { fresh, seed });
  }

  /** A snapshot-resumed run records, as V0 does, a skipped execution for each step of a completed stage. */
  private recordSkippedBefore(checkpoint: CheckpointV3): void {
    const context = checkpoint.snapshot.context as unknown as Partial<OrchestrationContext>;
    const value = checkpoint.snapshot.value;
    // In the auto-fix loop the run stands in validation; in a real delivery, past closure.
    const delivering = value === 'delivery_step';
    const current: Stage | undefined = isStage(value) ? value : value === 'autofix' ? 'validation' : (context.halt?.stage ?? undefined);
    if (!current && !delivering) return;
    for (const stage of delivering ? STAGES : STAGES.slice(0, STAGES.indexOf(current!))) {
      const planned = context.loops?.settings.plannedValidationCommands;
      for (const step of this.stepsOf(stage, planned)) this.addExecution(skippedExecution(stage, step));
      // V0 records its native planning action skipped too.
      if (stage === 'planning' && context.loops?.settings.planningContext) this.writePlanningContext({ runId: this.plan.runId, alreadyCompleted: true, completedSteps: [], spentCost: 0 });
    }
    const delivery = context.loops?.settings.delivery;
    if (!delivering || !delivery) return;
    // The delivery's commands that succeeded are not run again (V0 runs them all again).
    const delivered = deliverySteps(delivery).slice(0, context.loops?.delivered ?? 0);
    delivered.forEach((step, i) => this.addExecution(skippedDelivery(step, i + 1)));
  }

  /**
   * The run stopped short of its end: interrupted (the machine's `interrupted` state), or halted
   * (the machine waits in a halted state, and the actor was stopped there).
   */
  private get stopped(): boolean {
    const snapshot = this.actor?.getSnapshot();
    return snapshot !== undefined && (snapshot.status === 'stopped' || snapshot.value === 'interrupted');
  }

  /**
   * What stopped the run before its end, as the machine recorded it (INTERRUPT), or null; an error
   * of the run's own after the machine ended (its last checkpoint could not be written) stops it too.
   */
  private get interruptedBy(): string | null {
    const recorded = this.actor?.getSnapshot().context.interruptedBy;
    if (recorded !== undefined) return recorded;
    return this.fatal && !this.halted ? 'an error' : null;
  }

  private onSnapshot(snapshot: ReturnType<OrchestrationActor['getSnapshot']>): void {
    if (this.stopped) return;
    if (snapshot.status === 'active') {
      this.resumable = this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot;
    }
    this.checkpointWriter.request();
    // A stage that began or ended asks for its own write (the transition recorder's); any other
    // snapshot waits its turn. A resumed run's first step then does not wait for its report, which
    // holds all its earlier records, to be written first.
    this.reportWriter.request();
    if (snapshot.status !== 'active') this.finish();
    else if (HALTED_STATES.includes(String(snapshot.value))) this.halt();
  }

  /** A stage's step progress changed: that is progress to checkpoint. */
  private onChildSnapshot(event: InspectionEvent): void {
    if (this.stopped || event.type !== '@xstate.snapshot' || event.actorRef.sessionId === event.rootId) return;
    if ((event.snapshot as { status?: string }).status !== 'active') return;
    if (this.actor?.getSnapshot().status !== 'active') return;
    this.resumable = this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot;
    this.checkpointWriter.request();
  }

  /** The machine waits for an approval or a bigger budget: the run stops here, `blocked`. */
  private halt(): void {
    this.actor.stop();
    this.finish();
  }

  /**
   * The run halted (an approval, its budget, the ROI floor): read from the machine's state, where
   * the halt is, not kept beside it. A run stopped by a signal is not halted, whatever its state.
   */
  private get halted(): boolean {
    const snapshot = this.actor?.getSnapshot();
    return snapshot?.status === 'stopped' && HALTED_STATES.includes(String(snapshot.value));
  }

  /**
   * The machine's wall clock (its invoked `wallClock`, restored with the run): `expire` once the
   * run's maxWallMs, counted from the run's first start, is spent; the clock stops with the machine.
   */
  private startWallClock(expire: () => void): (() => void) | undefined {
    const maxWallMs = this.config.maxWallMs ?? this.config.plan.maxWallMs;
    if (maxWallMs === undefined) return undefined;
    const left = this.plan.startedAtMs + maxWallMs - Date.now();
    // Spent already (a run resumed late): at once, before any program of this invocation starts.
    if (left <= 0) {
      expire();
      return undefined;
    }
    const timer = setTimeout(expire, Math.min(left, 2_147_483_647));
    return () => clearTimeout(timer);
  }

  /**
   * The run must stop now (a signal, an abort, an error of its own): the machine is told, and
   * leaves its state for `interrupted`, which stops the stage under way (its steps' signals abort,
   * their process groups are ended). A machine that has ended or halted has nothing to stop.
   */
  private interrupt(reason: string): void {
    if (this.actor?.getSnapshot().status !== 'active') return;
    this.actor.send({ type: 'INTERRUPT', by: reason });
  }

  private fail(what: string, error: unknown): void {
    this.fatal ??= cannotWrite(what, error);
    this.interrupt('an error');
  }

  private currentHalt(): Halt | null {
    const context = (this.resumable?.context ?? this.actor.getSnapshot().context) as unknown as OrchestrationContext;
    if (this.halted && context.halt) return context.halt;
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status === 'done' && snapshot.value === 'blocked') {
      const { loops } = snapshot.context;
      if (loops?.blockedBy === 'hard_gates' || loops?.blockedBy === 'risk_tier') return { reason: loops.blockedBy, stage: 'planning', gate: null };
      if (loops?.blockedBy === 'gates' || loops?.blockedBy === 'review_ensemble' || loops?.blockedBy === 'decision') return { reason: loops.blockedBy, stage: 'validation', gate: null };
      if (loops?.blockedBy === 'pr_risk') return { reason: 'pr_risk', stage: 'closure', gate: null };
      return { reason: 'simulated', stage: 'validation', gate: null };
    }
    return null;
  }

  private terminalState(): TerminalState | null {
    if (this.halted) return 'blocked';
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
    this.report.blocked = this.currentHalt();
    this.thermostat?.conclude(this.actor.getSnapshot().context);
    const { loops } = this.actor.getSnapshot().context;
    if (loops) this.escalations = this.escalationsOf(loops);
    if (loops && this.memory) this.rememberRun(terminal, loops);
    if (this.interruptedBy !== null || this.halted) this.checkpointWriter.request();
    this.reportWriter.request();
    await this.checkpointWriter.close();
    await this.reportWriter.close();
    await this.storedRecords.catch(() => {});
    try {
      this.records.close();
    } catch (error) {
      this.fail(`cannot write ${this.records.path}`, error);
    }
    // The records as objects only for whoever reads them (notifications, a store's execution log):
    // a plain run of 10,000 steps does not build them all at its end.
    const records = this.records;
    materializeOnRead(this.report, 'stage_executions', () => records.current());
    materializeOnRead(this.report, 'earlier_stage_executions', () => records.earlier());
    this.trace?.end({ terminal, interruptedBy: this.fatal ? null : this.interruptedBy, failure: this.report.failure, error: this.fatal?.message ?? null });
    try {
      writeEscalationQueue(dirname(this.reportPath), this.escalations);
    } catch (error) {
      this.fail(`cannot write ${join(dirname(this.reportPath), ESCALATION_QUEUE_FILE)}`, error);
    }
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

  /** V0's escalation router, on where the run ended (escalation.ts). */
  private escalationsOf(loops: LoopState): EscalationCase[] {
    return escalationCasesOf({
      run_id: this.plan.runId,
      blocked_reason_codes: loops.blockedReasonCodes,
      gate_decisions: loops.gateDecisions,
      decision_rationale_codes: loops.decision?.decision_rationale_codes ?? [],
      decision_contributions: loops.decision?.decision_contributions ?? [],
      capExhausted: this.capExhausted,
    });
  }

  private async saveCheckpoint(): Promise<void> {
    this.options.lock?.ensureHeld?.();
    const snapshot = this.actor.getSnapshot();
    const terminal = snapshot.status === 'done' && isTerminalState(snapshot.value) ? snapshot.value : null;
    // Done and simulated-blocked are kept; a failed or timed-out (or stopped, or halted) run keeps
    // its last active snapshot, so that --resume picks up there (V0 keeps terminal_state null).
    const keepsFinal = terminal === 'done' || terminal === 'blocked';
    const persisted = keepsFinal
      ? (this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot)
      : (this.resumable ?? (this.actor.getPersistedSnapshot() as unknown as PersistedSnapshot));
    const context = persisted.context as unknown as OrchestrationContext;
    const halt = this.currentHalt();
    const checkpoint: CheckpointV3 = {
      run_id: this.plan.runId,
      completed_stages: context.completedStages,
      terminal_state: keepsFinal ? terminal : halt ? 'blocked' : null,
      updated_at_unix_secs: Math.floor(Date.now() / 1000),
      schema_version: CHECKPOINT_SCHEMA_VERSION,
      machine: 'orchestration',
      snapshot: persisted,
      // Copies: a store may keep the document, and the run goes on changing these.
      transitions: [...this.recorder.transitions],
      attempts: { ...this.attempts },
      attempts_started: this.attemptsStarted,
      last_failure: snapshot.context.failure,
      approvals: [...this.approvals],
      halt,
      started_at_unix_ms: this.plan.startedAtMs,
      run_identity: this.identity,
      ...(this.traceOrigin ? { trace: this.traceOrigin } : {}),
    };
    // Several machine steps can leave the same progress; writing it again buys nothing.
    const key = JSON.stringify({ ...checkpoint, updated_at_unix_secs: 0 });
    if (key === this.lastCheckpointKey) return;
    this.lastCheckpointKey = key;
    // The records of the steps this checkpoint says are done reach the disk no later than it (and the
    // shared store's execution log, for a store run). A store that journals (the file store) carries
    // the records appended since its last line in that line: one sync for both. Another store's
    // checkpoint waits for the records log's own sync. With other steps running, the syncs wait off
    // the main thread, so that those steps go on.
    const background = this.inFlight.size > 1;
    const carries = this.store.carriesAppends === true;
    if (!carries) await this.records.sync({ background });
    if (this.options.executionLog) await this.storedRecords;
    await this.store.save(checkpoint, carries ? { background, carry: this.records } : { background });
    this.saveCycleMemory(context);
  }

  /** V0 writes its cycle memory with every checkpoint; a failure is a record (`cycle_memory.persist`), not the run's end. */
  private saveCycleMemory(context: OrchestrationContext): void {
    if (!this.cycleMemory || !context.loops) return;
    const memory = cycleMemoryOf(context.loops.settings, this.stepsOf('validation'), reviewerStepOf(laterOf(this.config), this.config.plan));
    try {
      this.cycleMemory.write(memory);
    } catch (error) {
      if (this.cycleMemoryFailed) return;
      this.cycleMemoryFailed = true;
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      this.addExecution(
        emptyRecord({
          stage: this.recorder.currentStage ?? 'planning',
          idempotency_key: null,
          command: 'cycle_memory.persist',
          args: [this.cycleMemory.path],
          env_keys: [],
          status: 'failed',
          error: `cannot write cycle memory ${this.cycleMemory.path}: ${code}`,
          step: '',
          attempt: 0,
        }),
      );
    }
  }

  /** What the report's provenance and PR risk are built from. */
  private runEnd(): RunEnd {
    const failure = this.report.failure;
    return {
      runId: this.plan.runId,
      transitions: this.report.transitions,
      terminal: this.report.terminal_state,
      failure: failure ? { stage: failure.stage, status: failure.status } : null,
      startedAtSecs: Math.floor(this.report.started_at_unix_ms / 1000),
      endedAtSecs: Math.floor(Date.now() / 1000),
    };
  }

  private saveReport(): void {
    const loops = this.actor.getSnapshot().context.loops;
    if (loops) Object.assign(this.report, laterFieldsOf(loops, this.runEnd()), { escalation_cases: this.escalations });
    const autonomous = loops ? autonomousFieldsOf(loops) : undefined;
    if (autonomous) this.report.autonomous_loop = autonomous;
    this.report.current_stage = this.recorder.currentStage;
    this.report.updated_at_unix_ms = Date.now();
    this.report.orchestrator_max_rss_kib = process.resourceUsage().maxRSS;
    writeReport(this.reportPath, this.report, {
      durable: this.report.status !== 'running',
      rendered: { stage_executions: () => renderAll(this.records.current()), earlier_stage_executions: () => renderAll(this.records.earlier()) },
    });
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
    blocked: null,
    cost: { spent: 0, budget: null },
    approvals: [],
    checkpoint_path: checkpointPath,
    notifications: [],
    started_at_unix_ms: now,
    updated_at_unix_ms: now,
    orchestrator_max_rss_kib: process.resourceUsage().maxRSS,
  };
}

function materializeOnRead(report: RunReport, key: 'stage_executions' | 'earlier_stage_executions', read: () => Iterable<StageExecution>): void {
  let records: StageExecution[] | null = null;
  Object.defineProperty(report, key, {
    enumerable: true,
    configurable: true,
    get: () => (records ??= [...read()]),
    set: (value: StageExecution[]) => {
      records = value;
    },
  });
}

/** A write the run could not make, as its one line: the file and the error's code (with what to do on a full disk). */
export function cannotWrite(what: string, error: unknown): OrchestratorError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const hint = code === 'ENOSPC' || code === 'EDQUOT' ? ' (no space left on the device); the last checkpoint is kept: free some space, then run again with --resume' : '';
  return new OrchestratorError(`${what}: ${code ?? (error as Error)?.message ?? String(error)}${hint}`, EXIT.failed);
}

/**
 * A checkpoint written before the machine invoked its wall clock holds no such child: it is restored
 * with one all the same (as the machine persists it), so that the run's maxWallMs holds after --resume.
 */
function withWallClock(snapshot: PersistedSnapshot): void {
  const persisted = snapshot as unknown as { status?: string; children?: Record<string, unknown> };
  if (persisted.status !== 'active') return;
  persisted.children ??= {};
  persisted.children[WALL_CLOCK_ID] ??= { snapshot: { status: 'active' }, src: WALL_CLOCK_SRC, syncSnapshot: false };
}

function cancelledStep(stepId: string): StepFinished {
  return { stepId, status: 'failed', error: 'cancelled before it started', finishedAtMs: Date.now(), cost: 0, cancelled: true };
}

function lastStageOf(transitions: { to_stage: Stage }[]): Stage | null {
  return transitions.at(-1)?.to_stage ?? null;
}

/** A second Ctrl-C: the steps get SIGKILL now rather than after their kill grace. */
function killGroups(groups: Iterable<number>): void {
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
}

function interruptExitCode(reason: string): number {
  if (reason === 'SIGINT') return EXIT.sigint;
  if (reason === 'SIGTERM') return EXIT.sigterm;
  return EXIT.failed;
}

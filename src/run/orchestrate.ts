/**
 * Runs or resumes one orchestration: the library's entry point, and all the CLI calls.
 */
import { mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Tracer } from '@opentelemetry/api';
import type { InspectionEvent } from 'xstate';
import { FileCheckpointStore } from '../checkpoint/file-store.js';
import type { RunCheckpointStore } from '../checkpoint/store.js';
import { type OrchestrationConfig, type OrchestrationConfigInput, orchestrationConfigSchema } from '../config/schema.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { notify, summaryOf } from '../notify/notify.js';
import { isCheckedPlan } from '../plan/load.js';
import type { NotifyHook } from '../plan/schema.js';
import { earlierExecutions, reportPathIn, writeReport } from '../report/report-file.js';
import { type RunExecutionLog, type RunResult, RunSession, cannotWrite, newReport } from './run-session.js';
import { configForResume } from './run-identity.js';
import { SpawnedPids, endDetachedOfRun } from './detached.js';
import { otherProcessOfRun } from './process-group.js';
import { type StartPlan, planStart } from './start-plan.js';
import { type TraceCarrier, globalTracerProviderRegistered } from '../trace/trace-carrier.js';
import type { RunTrace } from '../trace/run-trace.js';
import { laterOf } from './loop-settings.js';
import { nextActionsOf, writeNextActions } from '../report/next-actions.js';
import { captureRepoSnapshot, repoDelta } from './versioning.js';
import { withCycleMemory } from './cycle-memory.js';

export const CHECKPOINT_FILE = 'orchestrator_checkpoint.json';

export interface RunOptions {
  /** Where the checkpoint lives; by default a file store at the configured checkpoint path. */
  store?: RunCheckpointStore;
  /** Receives every inspection event of the root actor and its children. */
  inspect?: (event: InspectionEvent) => void;
  /** Aborting stops the run: the running stage's processes are ended, checkpoint and report kept. */
  signal?: AbortSignal;
  /** Aborting it (after `signal`) ends the running steps' process groups at once, without their kill grace. */
  hurry?: AbortSignal;
  /** The id a fresh run takes (a queued run's); by default a new `run_<secs>_<hex>`. */
  runId?: string;
  /** Told what a user should know and the run goes on with (a fresh run replacing an unfinished one). */
  warn?: (message: string) => void;
  /** Execution records kept in a shared store as they are made (see RunExecutionLog). */
  executionLog?: RunExecutionLog;
  /**
   * Traces the run as OpenTelemetry spans (docs/traces.md). By default the application's global
   * tracer provider's tracer, when one is registered; `null` never traces.
   */
  tracer?: Tracer | null;
  /** The caller's W3C trace context (a `TRACEPARENT`); by default the context active when the run begins. */
  traceParent?: TraceCarrier | null;
}

export type { RunExecutionLog, RunResult };

export async function runOrchestration(input: OrchestrationConfigInput, options: RunOptions = {}): Promise<RunResult> {
  // A plan loaded from a file was checked as it loaded: its steps are not parsed again.
  const checkedPlan = isCheckedPlan(input.plan) ? input.plan : null;
  const parsed = orchestrationConfigSchema.safeParse(checkedPlan ? { ...input, plan: undefined } : input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(config)';
    throw new OrchestratorError(`invalid configuration: ${field}: ${issue?.message ?? 'invalid'}`, EXIT.usage);
  }
  let config = checkedPlan ? { ...parsed.data, plan: checkedPlan } : parsed.data;
  config = withCycleMemory(config, options.warn ?? (() => {}));
  // A checkpoint elsewhere gets its folders made as the output directory does (first: a bad path leaves no empty output_dir).
  if (!options.store && config.checkpointPath) prepareDir(dirname(config.checkpointPath), `--checkpoint-path ${config.checkpointPath}: its folder`);
  prepareDir(config.outputDir, 'output_dir');
  const store = options.store ?? new FileCheckpointStore(config.checkpointPath ?? join(config.outputDir, CHECKPOINT_FILE));
  const reportPath = reportPathIn(config.outputDir);
  const lock = await store.lock({ killGraceMs: config.killGraceMs });
  const nextActions = nextActionsWriter(config);
  const underLock = async (): Promise<RunResult> => {
    const plan = await planStart(store, config.resume, { freshRunId: options.runId, orStart: config.resumeOrStart, warn: options.warn });
    // A fresh run whose id was given (a config file's runId, a library caller's) may share it with a
    // run going on elsewhere: this run's end would then end that run's steps (endDetachedOfRun).
    // A generated id is new, and a store's key is guarded by the store's own lock.
    if (plan.mode === 'fresh' && options.runId !== undefined && !options.store) refuseIfRunning(options.runId);
    lock.noteRun?.(plan.runId);
    if (plan.mode === 'done') {
      // V0: resuming a done run runs nothing and executes nothing.
      const report = newReport(plan.runId, store.location, plan.resumedFrom);
      Object.assign(report, {
        transitions: plan.transitions,
        current_stage: 'closure',
        terminal_state: 'done',
        status: 'finished',
        approvals: plan.approvals,
        // What the run executed stays in the report it rewrites (a run killed after its last
        // checkpoint write and before its last report write is finished here).
        earlier_stage_executions: earlierExecutions(reportPath, plan.runId),
      });
      try {
        writeReport(reportPath, report);
      } catch (error) {
        throw cannotWrite(`cannot write report ${reportPath}`, error);
      }
      nextActions?.(report);
      return {
        report,
        reportPath,
        checkpointPath: store.location,
        terminalState: 'done',
        interruptedBy: null,
        exitCode: EXIT.done,
      };
    }
    if (plan.mode !== 'fresh') config = await configForResume(config, plan.identity, store.location);
    const spawned = new SpawnedPids();
    const trace = await traceOf(config, plan, options);
    try {
      const result = await new RunSession(config, store, plan, reportPath, { ...options, lock, spawned, trace }).run();
      // The autonomous loop writes them as each of its runs ends short of done; a done run ends the loop here.
      if (laterOf(config)?.autonomous === undefined || result.terminalState === 'done') nextActions?.(result.report);
      return await notified(config.plan.notify, result);
    } catch (error) {
      trace?.end({ terminal: null, interruptedBy: null, failure: null, error: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      // Under its lock, this invocation is the run's only one: what its steps detached ends with it.
      // A store's run may be taken over by a worker on this host, so there only the stage's own groups end.
      if (!options.store) await endDetachedOfRun(plan.runId, config.killGraceMs, spawned);
    }
  };
  let result: RunResult;
  try {
    result = await underLock();
  } catch (error) {
    // The run's own error is the one to tell, whatever the release meets.
    await lock.release().catch(() => {});
    throw error;
  }
  // The release puts the newest checkpoint into its file (the journal keeps it meanwhile): a failure
  // there is the run's one line.
  await lock.release().catch((error: unknown) => {
    throw cannotWrite(`cannot write checkpoint ${store.location}`, error);
  });
  return result;
}

function refuseIfRunning(runId: string): void {
  const pid = otherProcessOfRun(runId);
  if (pid === null) return;
  throw new OrchestratorError(
    `run id ${runId}: another run with this id is running (pid ${pid} carries ORCHESTRATOR_RUN_ID=${runId}); give this run another runId, or wait for that run to end`,
    EXIT.failed,
  );
}

/** The run's spans, when a tracer is given or the application registered one; the API loads only then. */
async function traceOf(config: OrchestrationConfig, plan: Exclude<StartPlan, { mode: 'done' }>, options: RunOptions): Promise<RunTrace | null> {
  if (options.tracer === null || (options.tracer === undefined && !globalTracerProviderRegistered())) return null;
  let module: typeof import('../trace/run-trace.js');
  try {
    module = await import('../trace/run-trace.js');
  } catch (error) {
    // Tracing is never a reason for a run not to run.
    options.warn?.(`the run is not traced: @opentelemetry/api could not be loaded (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return null;
  }
  const { RunTrace, globalTracer } = module;
  return new RunTrace({
    tracer: options.tracer ?? globalTracer(),
    runId: plan.runId,
    pipelineName: config.planPath ? basename(config.planPath, extname(config.planPath)) : 'autonomy-orchestrator',
    parent: options.traceParent ?? null,
    earlier: plan.mode === 'snapshot' ? (plan.checkpoint.trace ?? null) : null,
    resumed: plan.mode !== 'fresh',
  });
}

/**
 * With `--next-actions-path`: the repository's state is taken now, and the returned function
 * writes V0's next actions once the run has ended (null without the flag: nothing is written).
 */
function nextActionsWriter(config: OrchestrationConfig): ((report: RunResult['report']) => void) | null {
  const later = laterOf(config);
  const path = later?.nextActionsPath;
  if (path === undefined) return null;
  const repoRoot = later?.repoRoot ?? '.';
  const before = captureRepoSnapshot(repoRoot);
  return (report) => writeNextActions(path, nextActionsOf(report, repoDelta(before, captureRepoSnapshot(repoRoot))));
}

/** The plan's hooks, once the run reached a terminal state (not when it was stopped); recorded in the report, never in the outcome. */
async function notified(hooks: NotifyHook[], result: RunResult): Promise<RunResult> {
  if (hooks.length === 0 || result.terminalState === null || result.interruptedBy !== null) return result;
  result.report.notifications = await notify(hooks, summaryOf(result.report, result.terminalState, result.reportPath));
  if (result.report.notifications.length === 0) return result;
  try {
    writeReport(result.reportPath, result.report);
  } catch (error) {
    throw cannotWrite(`cannot write report ${result.reportPath}`, error);
  }
  return result;
}

function prepareDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OrchestratorError(`cannot use ${what} ${dir}: ${code ?? String(error)}`, EXIT.usage);
  }
  if (!statSync(dir).isDirectory()) {
    throw new OrchestratorError(`cannot use ${what} ${dir}: it is not a directory`, EXIT.usage);
  }
}

/**
 * The run command (V0's command line): run (or resume) an orchestration, showing it as the flags
 * ask: progress in the terminal or as JSON Lines, the event log beside the report, the inspector.
 */
import { resolve } from 'node:path';
import type { InspectionEvent } from 'xstate';
import { EventLogWriter, eventLogPathIn } from '../inspect/event-log.js';
import { RunEventTracker } from '../inspect/run-events.js';
import { isCheckedPlan, loadPlanFile } from '../plan/load.js';
import { type RunResult, runOrchestration } from '../run/orchestrate.js';
import type { Stage } from '../../machines/stages.js';
import { roiHaltLine } from '../report/thermostat-summary.js';
import { DecisionTap } from '../run/thermostat-session.js';
import type { RunRequest } from './program.js';
import { progressViewFor } from './progress.js';
import { isLongRun, keepMemorySmall } from './long-run-memory.js';
import { startTracing, tracesRequested } from './trace-export.js';

export const NAME = 'autonomy-orchestrator';

export async function runCommand(cli: RunRequest, signal: AbortSignal, hurry?: AbortSignal): Promise<number> {
  const { view } = cli;
  let config = cli.config;
  if (cli.planPath) {
    // A plan --config-save loaded already is not read (and checked) again.
    const plan = isCheckedPlan(cli.config.plan) ? cli.config.plan : await loadPlanFile(cli.planPath);
    config = { ...cli.config, plan, planPath: resolve(cli.planPath) };
  }
  if (config.plan && isLongRun(config.plan)) keepMemorySmall();
  const outputDir = config.outputDir ?? './out';
  const say = (line: string) => process.stderr.write(`${NAME}: ${line}\n`);
  for (const warning of cli.warnings) say(`warning: ${warning}`);
  // With --json, stdout carries only the JSON stream.
  const result = view.json ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => process.stdout.write(`${line}\n`);

  const progress = progressViewFor({ json: view.json, stdout: process.stdout, stderr: process.stderr });
  const tracker = new RunEventTracker((event) => progress.onEvent(event));
  const eventLog = new EventLogWriter(eventLogPathIn(outputDir), config.resume === true);
  // The server (ws, the viewer) loads only for --inspect: a plain run does not pay for it.
  const session = view.inspect ? await import('./inspector-session.js') : null;
  const inspector = session && view.inspect ? await session.InspectorSession.start(view.inspect, outputDir, config.plan) : null;
  if (session && inspector && view.inspect) {
    const { openInBrowser } = session;
    say(`inspector at ${inspector.server.url}`);
    if (view.inspect.open && !openInBrowser(inspector.server.url)) say('no xdg-open here; open the URL yourself');
  }
  // The ROI thermostat's decisions join the stream (and --json) as they are made.
  const decisions = new DecisionTap(0, Date.now(), (_, decision, snapshot) => {
    const input = (snapshot as { input?: { runId: string; stage: Stage } }).input;
    if (decision && input) progress.onEvent({ type: 'thermostat', run_id: input.runId, stage: input.stage, decision, timestamp_unix_ms: Date.now() });
  });
  const observers = [eventLog.inspect, tracker.inspect, decisions.inspect, ...(inspector ? [inspector.inspect] : [])];
  const inspect = (event: InspectionEvent) => {
    for (const observe of observers) observe(event);
  };

  const warn = (message: string) => say(`warning: ${message}`);
  // The OpenTelemetry SDK loads only when an OTLP endpoint is set (docs/traces.md).
  const tracing = tracesRequested(process.env) ? await startTracing(process.env, warn) : null;
  const traced = tracing ? { tracer: tracing.tracer, traceParent: tracing.parent } : { tracer: null };
  // The database clients load only for --store: a plain run does not pay for them.
  const store = cli.store ? (await import('./run-store.js')).openRunStore(cli.store.address, cli.store.runId, outputDir) : null;
  let outcome: RunResult;
  try {
    const identity = store ? { store: store.checkpoints, runId: store.runId, executionLog: store.executionLog } : cli.runId !== undefined ? { runId: cli.runId } : {};
    outcome = await runOrchestration(config, { signal, ...(hurry ? { hurry } : {}), inspect, warn, ...traced, ...identity });
  } finally {
    await tracing?.shutdown();
    await store?.close();
    await eventLog.close();
    progress.close();
    await inspector?.finish();
    inspector?.server.announceEnd();
    if (inspector && !view.inspect?.keep) await inspector.server.stop();
  }

  if (view.json) {
    progress.onEvent({
      type: 'run_finished',
      run_id: outcome.report.run_id,
      terminal_state: outcome.terminalState,
      exit_code: outcome.exitCode,
      interrupted_by: outcome.interruptedBy,
      report_path: outcome.reportPath,
      timestamp_unix_ms: Date.now(),
    });
  }
  if (eventLog.failure) say(`warning: ${eventLog.failure}; the run went on without its event log`);
  result(`Run report: ${outcome.reportPath}`);
  result(`Terminal state: ${outcome.terminalState ?? 'none'}`);
  const { report } = outcome;
  // Upstream's words for why the autonomous loop stopped (none when its last run ended done).
  if (report.autonomous_loop?.stop_reason && outcome.interruptedBy === null) result(report.autonomous_loop.stop_reason);
  if (outcome.interruptedBy !== null) {
    say(`stopped by ${outcome.interruptedBy}; checkpoint kept at ${outcome.checkpointPath}; run again with --resume to continue`);
  } else if (report.blocked && report.blocked.reason !== 'simulated') {
    const what =
      report.blocked.reason === 'approval_required'
        ? `waits for approval of ${report.blocked.gate}; \`${NAME} approve ${outputDir}\`, then --resume`
        : report.blocked.reason === 'roi_below_floor'
          ? `was halted by the ROI thermostat (ROI_BELOW_FLOOR: ${roiHaltLine(report)}); --resume with a lower floor or another plan`
          : report.blocked.reason === 'budget_exceeded'
            ? `is over its cost budget (${report.cost.spent} > ${report.cost.budget}); --resume with a larger --cost-budget`
            : `was stopped by its ${report.blocked.reason.replace('_', ' ')} (${(report.blocked_reason_codes ?? []).join(', ') || 'no reason code'}); --resume with other inputs`;
    say(`blocked: the run ${what}`);
  } else if (report.failure) {
    const { stage, status, error, step } = report.failure;
    say(`stage ${stage} ended ${status}${step ? ` (step ${step})` : ''}${error ? `: ${error}` : ''}${artifactsOf(report, stage, step)}`);
  }
  if (session && inspector && view.inspect?.keep) {
    say(`run ended; inspector still at ${inspector.server.url} (Ctrl-C to stop)`);
    await session.untilStopped();
    await inspector.server.stop();
  }
  return outcome.exitCode;
}

/** The artifacts the failed step did not produce, or produced malformed: the paths a user looks for. */
function artifactsOf(report: RunResult['report'], stage: string, step: string | null | undefined): string {
  const record = [...report.stage_executions].reverse().find((r) => r.stage === stage && (!step || r.step === step));
  if (!record || record.status !== 'artifact_missing') return '';
  const paths = [...record.missing_artifacts.map((p) => `${p} (missing)`), ...record.malformed_artifacts.map((p) => `${p} (malformed)`)];
  return paths.length > 0 ? ` [${paths.join(', ')}]` : '';
}

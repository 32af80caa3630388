/**
 * The run command (V0's command line): run (or resume) an orchestration, showing it as the flags
 * ask: progress in the terminal or as JSON Lines, the event log beside the report, the inspector.
 */
import type { InspectionEvent } from 'xstate';
import { EventLogWriter, eventLogPathIn } from '../inspect/event-log.js';
import { RunEventTracker } from '../inspect/run-events.js';
import { loadPlanFile } from '../plan/load.js';
import { type RunResult, runOrchestration } from '../run/orchestrate.js';
import type { RunRequest } from './program.js';
import { progressViewFor } from './progress.js';
import { isLongRun, keepMemorySmall } from './long-run-memory.js';

export const NAME = 'autonomy-orchestrator';

export async function runCommand(cli: RunRequest, signal: AbortSignal): Promise<number> {
  const { view } = cli;
  const config = cli.planPath ? { ...cli.config, plan: await loadPlanFile(cli.planPath) } : cli.config;
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
  const observers = [eventLog.inspect, tracker.inspect, ...(inspector ? [inspector.inspect] : [])];
  const inspect = (event: InspectionEvent) => {
    for (const observe of observers) observe(event);
  };

  // The database clients load only for --store: a plain run does not pay for them.
  const store = cli.store ? (await import('./run-store.js')).openRunStore(cli.store.address, cli.store.runId, outputDir) : null;
  let outcome: RunResult;
  try {
    outcome = await runOrchestration(config, { signal, inspect, ...(store ? { store: store.checkpoints, runId: store.runId } : {}) });
    await store?.record(outcome.report.stage_executions);
  } finally {
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
  result(`Run report: ${outcome.reportPath}`);
  result(`Terminal state: ${outcome.terminalState ?? 'none'}`);
  const { report } = outcome;
  if (outcome.interruptedBy !== null) {
    say(`stopped by ${outcome.interruptedBy}; checkpoint kept at ${outcome.checkpointPath}; run again with --resume to continue`);
  } else if (report.blocked && report.blocked.reason !== 'simulated') {
    const what =
      report.blocked.reason === 'approval_required'
        ? `waits for approval of ${report.blocked.gate}; \`${NAME} approve ${outputDir}\`, then --resume`
        : `is over its cost budget (${report.cost.spent} > ${report.cost.budget}); --resume with a larger --cost-budget`;
    say(`blocked: the run ${what}`);
  } else if (report.failure) {
    const { stage, status, error, step } = report.failure;
    say(`stage ${stage} ended ${status}${step ? ` (step ${step})` : ''}${error ? `: ${error}` : ''}`);
  }
  if (session && inspector && view.inspect?.keep) {
    say(`run ended; inspector still at ${inspector.server.url} (Ctrl-C to stop)`);
    await session.untilStopped();
    await inspector.server.stop();
  }
  return outcome.exitCode;
}

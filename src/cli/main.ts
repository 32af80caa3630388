/**
 * The `autonomy-orchestrator` command: a thin shell over the library.
 */
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { approveRun } from '../checkpoint/approve.js';
import { FileCheckpointStore } from '../checkpoint/file-store.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { SETTINGS } from '../config/layers.js';
import { loadPlanFile } from '../plan/load.js';
import { CHECKPOINT_FILE, runOrchestration } from '../run/orchestrate.js';
import { type CliRequest, parseCommandLine } from './program.js';

const NAME = 'autonomy-orchestrator';
const USAGE = `Usage: ${NAME} [output_dir] [--resume] [--plan FILE] [--simulate-blocked] [--timeout-ms N] [--manager-bin B] [--executor-bin B] ... | ${NAME} approve <output_dir> (see --help)`;

async function main(argv: string[]): Promise<number> {
  let request: CliRequest | null = null;
  try {
    request = parseCommandLine(argv);
    if (request.command === 'approve') return await approve(request);
    if (request.command === 'config') return showConfig(request);
    return await run(request);
  } catch (error) {
    if (error instanceof CommanderError) return usageError(error);
    if (error instanceof OrchestratorError) {
      process.stderr.write(`${NAME}: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${NAME}: internal error: ${message.split('\n')[0]} (run with --debug for the stack trace)\n`);
    if ((request?.debug || argv.includes('--debug')) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return EXIT.failed;
  }
}

async function run(request: Extract<CliRequest, { command: 'run' }>): Promise<number> {
  for (const warning of request.warnings) process.stderr.write(`${NAME}: warning: ${warning}\n`);
  const config = request.planPath ? { ...request.config, plan: await loadPlanFile(request.planPath) } : request.config;
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => stop.abort(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runOrchestration(config, { signal: stop.signal });
    process.stdout.write(`Run report: ${result.reportPath}\n`);
    process.stdout.write(`Terminal state: ${result.terminalState ?? 'none'}\n`);
    const { report } = result;
    if (result.interruptedBy !== null) {
      process.stderr.write(`${NAME}: stopped by ${result.interruptedBy}; checkpoint kept at ${result.checkpointPath}; run again with --resume to continue\n`);
    } else if (report.blocked && report.blocked.reason !== 'simulated') {
      const what = report.blocked.reason === 'approval_required' ? `waits for approval of ${report.blocked.gate}` : `is over its cost budget (${report.cost.spent} > ${report.cost.budget})`;
      process.stderr.write(`${NAME}: blocked: the run ${what}; \`${NAME} approve\` or raise the budget, then --resume\n`);
    } else if (report.failure) {
      const { stage, status, error } = report.failure;
      process.stderr.write(`${NAME}: stage ${stage} ended ${status}${error ? `: ${error}` : ''}\n`);
    }
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function approve(request: Extract<CliRequest, { command: 'approve' }>): Promise<number> {
  const store = new FileCheckpointStore(request.checkpointPath ?? join(request.outputDir, CHECKPOINT_FILE));
  const { runId, approval } = await approveRun(store, request);
  process.stdout.write(`Approved ${approval.gate} for run ${runId} (by ${approval.by}); run again with --resume to continue\n`);
  return EXIT.done;
}

function showConfig(request: Extract<CliRequest, { command: 'config' }>): number {
  if (request.json) {
    process.stdout.write(`${JSON.stringify(request.settings, null, 2)}\n`);
    return EXIT.done;
  }
  const rows = SETTINGS.map((spec) => [spec.key, String(request.settings[spec.key].value ?? '-'), request.settings[spec.key].source]);
  const width = (i: number) => Math.max(...rows.map((r) => r[i]!.length), ['setting', 'value'][i]!.length);
  process.stdout.write(`${'setting'.padEnd(width(0))}  ${'value'.padEnd(width(1))}  source\n`);
  for (const [key, value, source] of rows) process.stdout.write(`${key!.padEnd(width(0))}  ${value!.padEnd(width(1))}  ${source}\n`);
  return EXIT.done;
}

function usageError(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
    return EXIT.done;
  }
  // One line: commander puts its "(Did you mean --x?)" suggestion on a line of its own.
  const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`${NAME}: ${message}\n${USAGE}\n`);
  return EXIT.usage;
}

// A reader that goes away (`| head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.done);
    throw error;
  });
}

let settled = false;
main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (error: unknown) => {
    settled = true;
    process.stderr.write(`${NAME}: internal error: ${String(error)}\n`);
    process.exitCode = EXIT.failed;
  },
);

// Nothing left to wait for while main() has not ended is a bug (a run waiting on work that is not
// there): say so and fail, rather than exit 0 having done nothing.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write(`${NAME}: internal error: the run stopped with nothing left to wait for; the lock is left to the next run\n`);
  process.exitCode = EXIT.failed;
});

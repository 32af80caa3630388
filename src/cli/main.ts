/**
 * The `autonomy-orchestrator` command: a thin shell over runOrchestration.
 */
import { CommanderError } from 'commander';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { runOrchestration } from '../run/orchestrate.js';
import { type CliRun, parseCommandLine } from './program.js';

const NAME = 'autonomy-orchestrator';
const USAGE = `Usage: ${NAME} [output_dir] [--resume] [--simulate-blocked] [--timeout-ms N] [--checkpoint-path P] [--manager-bin B] [--executor-bin B] ... (see --help)`;

async function main(argv: string[]): Promise<number> {
  let cli: CliRun;
  try {
    cli = parseCommandLine(argv);
  } catch (error) {
    if (error instanceof CommanderError) return usageError(error);
    throw error;
  }
  for (const warning of cli.warnings) process.stderr.write(`${NAME}: warning: ${warning}\n`);

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => stop.abort(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runOrchestration(cli.config, { signal: stop.signal });
    process.stdout.write(`Run report: ${result.reportPath}\n`);
    process.stdout.write(`Terminal state: ${result.terminalState ?? 'none'}\n`);
    if (result.interruptedBy !== null) {
      process.stderr.write(
        `${NAME}: stopped by ${result.interruptedBy}; checkpoint kept at ${result.checkpointPath}; run again with --resume to continue\n`,
      );
    } else if (result.report.failure) {
      const { stage, status, error } = result.report.failure;
      process.stderr.write(`${NAME}: stage ${stage} ended ${status}${error ? `: ${error}` : ''}\n`);
    }
    return result.exitCode;
  } catch (error) {
    if (error instanceof OrchestratorError) {
      process.stderr.write(`${NAME}: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${NAME}: internal error: ${message.split('\n')[0]} (run with --debug for the stack trace)\n`);
    if (cli.debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return EXIT.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${NAME}: internal error: ${String(error)}\n`);
    process.exitCode = EXIT.failed;
  },
);

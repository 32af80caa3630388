/**
 * The `autonomy-orchestrator` command: a thin shell over runOrchestration, plus the `report`
 * and `inspect` commands. The first argument picks a command; anything else is V0's command
 * line, `autonomy-orchestrator [output_dir] [flags]`.
 */
import { type Command, CommanderError } from 'commander';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { type CliRun, parseCommandLine } from './program.js';
import { NAME, runCommand } from './run-command.js';
import { inspectCommand, inspectProgram, reportCommand, reportProgram } from './run-dir.js';

const USAGE = `Usage: ${NAME} [output_dir] [--resume] [--simulate-blocked] [--timeout-ms N] [--checkpoint-path P] [--manager-bin B] [--executor-bin B] [--inspect] [--json] ... (see --help)`;

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'report') return runDirCommand(reportProgram(), rest, reportCommand, false);
  if (first === 'inspect') return runDirCommand(inspectProgram(), rest, inspectCommand, false);

  let cli: CliRun;
  try {
    cli = parseCommandLine(argv);
  } catch (error) {
    if (error instanceof CommanderError) return usageError(error, USAGE);
    throw error;
  }
  for (const warning of cli.warnings) process.stderr.write(`${NAME}: warning: ${warning}\n`);

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => stop.abort(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runCommand(cli, stop.signal);
  } catch (error) {
    return reportError(error, cli.debug);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runDirCommand(
  program: Command,
  argv: string[],
  command: (program: Command) => Promise<number>,
  debug: boolean,
): Promise<number> {
  try {
    program
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return usageError(error, program.helpInformation().split('\n')[0] ?? '');
    throw error;
  }
  try {
    return await command(program);
  } catch (error) {
    return reportError(error, debug);
  }
}

function reportError(error: unknown, debug: boolean): number {
  if (error instanceof OrchestratorError) {
    process.stderr.write(`${NAME}: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${NAME}: internal error: ${message.split('\n')[0]} (run with --debug for the stack trace)\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return EXIT.failed;
}

function usageError(error: CommanderError, usage: string): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
    return EXIT.done;
  }
  const message = error.message.replace(/^error: /, '');
  process.stderr.write(`${NAME}: ${message}\n${usage}\n`);
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

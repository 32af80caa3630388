/**
 * The `autonomy-orchestrator` command: a thin shell over the library. The first argument picks a
 * command; anything else is V0's command line, `autonomy-orchestrator [output_dir] [flags]`.
 */
import { join } from 'node:path';
import { type Command, CommanderError } from 'commander';
import { type Approved, approveRun } from '../checkpoint/approve.js';
import { FileCheckpointStore } from '../checkpoint/file-store.js';
import { SETTINGS } from '../config/layers.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { CHECKPOINT_FILE } from '../run/orchestrate.js';
import { sourceMappedStack } from './debug-stack.js';
import { graphCommand, graphProgram } from './graph-command.js';
import { COMMAND_FILES } from './commands/index.js';
import { type CliRequest, parseCommandLine } from './program.js';
import { NAME, runCommand } from './run-command.js';

const USAGE = `Usage: ${NAME} [output_dir] [--resume] [--plan FILE] [--simulate-blocked] [--timeout-ms N] [--manager-bin B] [--executor-bin B] [--inspect] [--json] ... | ${NAME} approve|config|report|inspect|graph ... (see --help)`;

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'help') return help(rest);
  if (first === 'report' || first === 'inspect') {
    // These read a finished run; their code (and the viewer's server) loads only when asked for.
    const runDir = await import('./run-dir.js');
    return first === 'report'
      ? runSubprogram(runDir.reportProgram(), rest, runDir.reportCommand)
      : runSubprogram(runDir.inspectProgram(), rest, runDir.inspectCommand);
  }
  if (first === 'graph') return runSubprogram(graphProgram(), rest, graphCommand);

  let request: CliRequest | null = null;
  try {
    const command = first !== undefined && Object.hasOwn(COMMAND_FILES, first) ? COMMAND_FILES[first] : undefined;
    if (command) return await command(argv.slice(1));
    request = parseCommandLine(argv);
    if (request.command === 'approve') return await approve(request);
    if (request.command === 'config') return showConfig(request);
    return await run(request);
  } catch (error) {
    if (error instanceof CommanderError) return usageError(error, USAGE);
    return reportError(error, request?.debug || argv.includes('--debug'));
  }
}

/** `help [command]`: the program's help, or the command's own; an unknown command is a usage error. */
function help([name, ...extra]: string[]): Promise<number> | number {
  if (name === undefined) return main(['--help']);
  const known = ['run', 'config', 'approve', 'report', 'inspect', 'graph', ...Object.keys(COMMAND_FILES)];
  if (extra.length > 0 || !known.includes(name)) {
    // Quoted as JSON: a name with a newline in it still makes one line.
    const problem = extra.length > 0 ? `takes one command, got ${extra.length + 1} arguments` : `unknown command ${JSON.stringify(name)}`;
    process.stderr.write(`${NAME}: help: ${problem} (commands: ${known.join(', ')})\n${USAGE}\n`);
    return EXIT.usage;
  }
  return main([name, '--help']);
}

async function run(request: Extract<CliRequest, { command: 'run' }>): Promise<number> {
  const stop = new AbortController();
  const hurry = new AbortController();
  // The first signal stops the run (SIGTERM, then SIGKILL after the kill grace); a second one does not wait out the grace.
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) return stop.abort(signal);
    if (hurry.signal.aborted) return;
    process.stderr.write(`${NAME}: second ${signal}: ending the running steps now (SIGKILL)\n`);
    hurry.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // The config files' code loads only when a config flag asks for it.
    const io = request.configIo;
    const run = io.load === null && io.save === null ? request : await (await import('./config-io.js')).applyConfigIo(request, process.env);
    return await runCommand(run, stop.signal, hurry.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function approve(request: Extract<CliRequest, { command: 'approve' }>): Promise<number> {
  const approved = ({ runId, approval }: Approved, next: string) => {
    process.stdout.write(`Approved ${approval.gate} for run ${runId} (by ${approval.by}); ${next}\n`);
    return EXIT.done;
  };
  if (request.store) {
    // The database clients load only for --store.
    const { openRunStore } = await import('./run-store.js');
    const store = openRunStore(request.store.address, request.store.runId, request.outputDir, { create: false });
    try {
      const result = await approveRun(store.checkpoints, request);
      // A queued run that stopped at this gate goes back to the workers.
      if (result.clearsHalt && (await store.requeueBlocked())) return approved(result, 'queued again for the workers');
      return approved(result, `run again with --resume (the same --store, run id ${store.runId}) to continue`);
    } finally {
      await store.close();
    }
  }
  // Without --store the parser requires output_dir.
  const outputDir = request.outputDir ?? '.';
  return approved(await approveRun(new FileCheckpointStore(request.checkpointPath ?? join(outputDir, CHECKPOINT_FILE)), request), 'run again with --resume to continue');
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

/** Commands that stand alone (report, inspect, graph): their own small parser. */
async function runSubprogram(program: Command, argv: string[], command: (program: Command) => Promise<number>): Promise<number> {
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
    return reportError(error, argv.includes('--debug'));
  }
}

function reportError(error: unknown, debug: boolean): number {
  if (error instanceof OrchestratorError) {
    process.stderr.write(`${NAME}: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${NAME}: internal error: ${message.split('\n')[0]} (run with --debug for the stack trace)\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${sourceMappedStack(error.stack)}\n`);
  return EXIT.failed;
}

function usageError(error: CommanderError, usage: string): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
    return EXIT.done;
  }
  // One line: commander puts its "(Did you mean --x?)" suggestion on a line of its own.
  const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`${NAME}: ${message}\n${usage}\n`);
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
    exit(code);
  },
  (error: unknown) => {
    settled = true;
    process.stderr.write(`${NAME}: internal error: ${String(error)}\n`);
    exit(EXIT.failed);
  },
);

/**
 * Ends the process as soon as main() has: by then everything it started is closed (the lock
 * released; report, checkpoint and logs written and synced; servers stopped). Exiting at once
 * spares Node's teardown of the heap and of its threads, which took a few ms of every run. Output
 * not yet written (pipes are asynchronous on some systems) is left to Node's own exit, which waits
 * for it.
 */
function exit(code: number): void {
  process.exitCode = code;
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
}

// Nothing left to wait for while main() has not ended is a bug (a run waiting on work that is not
// there): say so and fail, rather than exit 0 having done nothing.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write(`${NAME}: internal error: the run stopped with nothing left to wait for; the lock is left to the next run\n`);
  process.exitCode = EXIT.failed;
});

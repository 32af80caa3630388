/**
 * The `report` and `inspect` commands: they read what a run left in its output dir.
 */
import { existsSync, statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { eventLogPathIn, readEventLog } from '../inspect/event-log.js';
import { loadPlanFile } from '../plan/load.js';
import { readRunReport, reportPathIn } from '../report/report-file.js';
import type { RunReport } from '../report/schema.js';
import { summarizeReport } from '../report/summary.js';
import { openInBrowser, startServer, untilStopped } from './inspector-session.js';
import { portFlag } from './program.js';
import { NAME } from './run-command.js';

export const RUN_DIR_COMMANDS = ['report', 'inspect'] as const;

export function reportProgram(): Command {
  return new Command(`${NAME} report`)
    .description('print a readable summary of the run in output_dir: stages, statuses, durations, errors, log paths')
    .helpOption('-h, --help', 'print this help and exit')
    .argument('<output_dir>', 'the output dir of a run')
    .allowExcessArguments(false);
}

export function inspectProgram(): Command {
  return new Command(`${NAME} inspect`)
    .description('replay the run in output_dir in the viewer, with a timeline to step through its transitions')
    .helpOption('-h, --help', 'print this help and exit')
    .argument('<output_dir>', 'the output dir of a finished or crashed run')
    .addOption(new Option('--port <port>', 'port of the viewer on 127.0.0.1 (default: a free port)').argParser(portFlag))
    .option('--open', 'open the viewer in a browser (xdg-open)', false)
    .option('--plan <file>', "the run's plan: each stage's steps drawn as a DAG, replayed by time")
    .allowExcessArguments(false);
}

export async function reportCommand(program: Command): Promise<number> {
  const dir = program.processedArgs[0] as string;
  const report = requireReport(dir);
  const events = readEventLog(eventLogPathIn(dir));
  const eventLog = existsSync(eventLogPathIn(dir)) ? { path: eventLogPathIn(dir), entries: events.length } : undefined;
  process.stdout.write(summarizeReport(report, eventLog ? { eventLog } : {}));
  return EXIT.done;
}

export async function inspectCommand(program: Command): Promise<number> {
  const dir = program.processedArgs[0] as string;
  requireReport(dir);
  const flags = program.opts<{ port?: number; open: boolean; plan?: string }>();
  const plan = flags.plan ? await loadPlanFile(flags.plan) : undefined;
  const server = await startServer({ port: flags.port ?? 0, open: flags.open, keep: true, inspectorUrl: null }, dir, 'replay', plan);
  process.stderr.write(`${NAME}: replay of ${dir} at ${server.url} (Ctrl-C to stop)\n`);
  if (flags.open && !openInBrowser(server.url)) process.stderr.write(`${NAME}: no xdg-open here; open the URL yourself\n`);
  await untilStopped();
  await server.stop();
  return EXIT.done;
}

function requireReport(dir: string): RunReport {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new OrchestratorError(`output_dir ${dir} is not a directory`, EXIT.usage);
  }
  const path = reportPathIn(dir);
  if (!existsSync(path)) throw new OrchestratorError(`no run report in ${dir} (expected ${path}); run the orchestrator there first`, EXIT.usage);
  const report = readRunReport(dir);
  if (report === null) throw new OrchestratorError(`cannot read run report ${path}: not a report of this orchestrator`, EXIT.usage);
  return report;
}

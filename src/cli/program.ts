/**
 * V0's command line: `autonomy-orchestrator [output_dir] [flags]`, the same flags with the same
 * meanings and defaults, parsed into an orchestration configuration.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EnvPair, Invocation, OrchestrationConfigInput } from '../config/schema.js';
import { VERSION } from '../version.js';

export interface CliRun {
  config: OrchestrationConfigInput;
  debug: boolean;
  warnings: string[];
  view: ViewFlags;
}

/** How the run is shown: terminal progress, JSON Lines, the inspector. */
export interface ViewFlags {
  json: boolean;
  /** Null unless an inspector is wanted. */
  inspect: { port: number; open: boolean; keep: boolean; inspectorUrl: string | null } | null;
}

const MAX_TIMER_MS = 2_147_483_647;

export function buildProgram(): Command {
  return new Command('autonomy-orchestrator')
    .description('Drive a run through planning, policy_ingestion, execution, validation and closure.')
    .version(VERSION, '--version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .argument('[output_dir]', 'where the report, checkpoint and stage logs are written', './out')
    .option('--resume', 'continue the run recorded in the checkpoint; completed stages are not run again', false)
    .option('--simulate-blocked', 'stop after validation with terminal state blocked (closure never entered)', false)
    .addOption(
      new Option('--timeout-ms <ms>', 'timeout of each program invocation').argParser(integerFlag('--timeout-ms', 1)).default(30_000),
    )
    .addOption(
      new Option('--kill-grace-ms <ms>', 'time between SIGTERM and SIGKILL when a stage is ended')
        .argParser(integerFlag('--kill-grace-ms', 0))
        .default(2_000),
    )
    .option('--checkpoint-path <path>', 'checkpoint file (default: <output_dir>/orchestrator_checkpoint.json)')
    .option('--manager-bin <bin>', 'program run in the planning stage')
    .option('--manager-arg <arg>', 'argument for the manager, passed verbatim (repeatable)', collect, [])
    .option('--manager-env <KEY=VALUE>', 'environment pair added for the manager (repeatable)', collectEnv('--manager-env'), [])
    .option('--manager-expected-artifact <path>', 'file the manager must produce (repeatable)', collect, [])
    .option('--executor-bin <bin>', 'program run in the execution stage')
    .option('--executor-arg <arg>', 'argument for the executor, passed verbatim (repeatable)', collect, [])
    .option('--executor-env <KEY=VALUE>', 'environment pair added for the executor (repeatable)', collectEnv('--executor-env'), [])
    .option('--executor-expected-artifact <path>', 'file the executor must produce (repeatable)', collect, [])
    .option('--json', 'write one JSON object per run event (JSON Lines) to stdout; other output goes to stderr', false)
    .option('--inspect', 'serve a live viewer of the run on 127.0.0.1 and print its URL on stderr', false)
    .addOption(new Option('--inspect-port <port>', 'port of the inspector server (default: a free port); implies --inspect').argParser(portFlag))
    .option('--inspect-open', 'open the viewer in a browser (xdg-open); implies --inspect', false)
    .option('--inspect-keep', 'keep the inspector server after the run ends, until Ctrl-C; implies --inspect', false)
    .addOption(
      new Option('--inspector-url <url>', 'hand the stream to this inspector UI instead, e.g. https://stately.ai/inspect; implies --inspect').argParser(
        urlFlag,
      ),
    )
    .option('--debug', 'print stack traces of internal errors', false)
    .addHelpText(
      'after',
      [
        '',
        'Other commands:',
        '  autonomy-orchestrator report <output_dir>    print a summary of the run in output_dir',
        '  autonomy-orchestrator inspect <output_dir>   replay the run in output_dir in the viewer',
        '',
        'Exit codes: 0 done, 1 failed, 2 usage error, 3 blocked, 124 timeout, 130/143 stopped by SIGINT/SIGTERM.',
      ].join('\n'),
    )
    .allowExcessArguments(false)
    .showSuggestionAfterError(true);
}

interface ParsedFlags {
  resume: boolean;
  simulateBlocked: boolean;
  timeoutMs: number;
  killGraceMs: number;
  checkpointPath?: string;
  managerBin?: string;
  managerArg: string[];
  managerEnv: EnvPair[];
  managerExpectedArtifact: string[];
  executorBin?: string;
  executorArg: string[];
  executorEnv: EnvPair[];
  executorExpectedArtifact: string[];
  debug: boolean;
  json: boolean;
  inspect: boolean;
  inspectPort?: number;
  inspectOpen: boolean;
  inspectKeep: boolean;
  inspectorUrl?: string;
}

/** Throws commander's errors (exit code 2 in the CLI) for bad input. */
export function parseCommandLine(argv: readonly string[]): CliRun {
  const program = buildProgram()
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  program.parse(argv as string[], { from: 'user' });
  const flags = program.opts<ParsedFlags>();
  const outputDir = (program.processedArgs[0] as string | undefined) ?? './out';
  const warnings: string[] = [];
  const manager = invocation('manager', flags.managerBin, flags.managerArg, flags.managerEnv, flags.managerExpectedArtifact, warnings);
  const executor = invocation('executor', flags.executorBin, flags.executorArg, flags.executorEnv, flags.executorExpectedArtifact, warnings);
  return {
    config: {
      outputDir,
      ...(flags.checkpointPath !== undefined ? { checkpointPath: flags.checkpointPath } : {}),
      resume: flags.resume,
      simulateBlocked: flags.simulateBlocked,
      timeoutMs: flags.timeoutMs,
      killGraceMs: flags.killGraceMs,
      stages: {
        ...(manager ? { planning: manager } : {}),
        ...(executor ? { execution: executor } : {}),
      },
    },
    debug: flags.debug,
    warnings,
    view: viewFlags(flags),
  };
}

function viewFlags(flags: ParsedFlags): ViewFlags {
  const wanted =
    flags.inspect || flags.inspectOpen || flags.inspectKeep || flags.inspectPort !== undefined || flags.inspectorUrl !== undefined;
  return {
    json: flags.json,
    inspect: wanted
      ? { port: flags.inspectPort ?? 0, open: flags.inspectOpen, keep: flags.inspectKeep, inspectorUrl: flags.inspectorUrl ?? null }
      : null,
  };
}

export function portFlag(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('takes a port number between 0 and 65535');
  return Number(value);
}

function urlFlag(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('takes an http(s) URL, e.g. https://stately.ai/inspect');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('takes an http(s) URL');
  return url.href;
}

function invocation(
  role: 'manager' | 'executor',
  bin: string | undefined,
  args: string[],
  env: EnvPair[],
  expectedArtifacts: string[],
  warnings: string[],
): Invocation | undefined {
  if (bin !== undefined) return { bin, args, env, expectedArtifacts };
  if (args.length + env.length + expectedArtifacts.length > 0) {
    warnings.push(`--${role}-arg/--${role}-env/--${role}-expected-artifact are ignored without --${role}-bin`);
  }
  return undefined;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function collectEnv(flag: string) {
  return (value: string, previous: EnvPair[]): EnvPair[] => {
    const at = value.indexOf('=');
    // The value is never echoed: it may be a secret.
    if (at < 1) throw new InvalidArgumentError(`${flag} takes KEY=VALUE with a non-empty KEY`);
    return [...previous, { key: value.slice(0, at), value: value.slice(at + 1) }];
  };
}

function integerFlag(flag: string, min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a whole number of milliseconds`);
    const n = Number(value);
    if (n < min || n > MAX_TIMER_MS) throw new InvalidArgumentError(`${flag} must be between ${min} and ${MAX_TIMER_MS}`);
    return n;
  };
}

/**
 * V0's command line: `autonomy-orchestrator [output_dir] [flags]`, the same flags with the same
 * meanings and defaults, parsed into an orchestration configuration.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { EnvPair, Invocation, OrchestrationConfigInput } from '../config/schema.js';
import { VERSION } from '../version.js';

export interface CliRun {
  config: OrchestrationConfigInput;
  debug: boolean;
  warnings: string[];
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
    .option('--debug', 'print stack traces of internal errors', false)
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 failed, 2 usage error, 3 blocked, 124 timeout, 130/143 stopped by SIGINT/SIGTERM.',
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
  };
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
    // Not InvalidArgumentError: commander would echo the value, and it may be a secret.
    if (at < 1) throw new CommanderError(2, 'commander.invalidArgument.env', `${flag} takes KEY=VALUE with a non-empty KEY`);
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

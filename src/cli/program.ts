/**
 * The command line. The default command is V0's: `autonomy-orchestrator [output_dir] [flags]`,
 * the same flags with the same meanings and defaults, plus `--plan`; other commands sit beside it.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type SettingKey, type Settings, resolveSettings } from '../config/layers.js';
import type { OrchestrationConfigInput } from '../config/schema.js';
import type { PlanInput, Step } from '../plan/schema.js';
import { VERSION } from '../version.js';
import { type LaterFlags, addLaterOptions, laterConfigFrom, laterFlagsGiven, parseValidationInvocations } from './later-flags.js';
import { type ConfigIo, type ConfigIoFlags, addConfigIoOptions, configIoOf } from './config-flags.js';

/** How a run is shown: terminal progress, JSON Lines, the inspector. */
export interface ViewFlags {
  json: boolean;
  /** Null unless an inspector is wanted. */
  inspect: { port: number; open: boolean; keep: boolean; inspectorUrl: string | null } | null;
}

export type RunRequest = {
  command: 'run';
  config: OrchestrationConfigInput;
  planPath: string | null;
  /** `--store`: the checkpoint goes to this store, keyed by `runId` (src/cli/run-store.ts). */
  store: { address: string; runId?: string } | null;
  debug: boolean;
  warnings: string[];
  view: ViewFlags;
  /** `--config-save`/`--config-load` (src/cli/config-io.ts). */
  configIo: ConfigIo;
  /** The flags given that a loaded config replaces: the user is told they are not used. */
  replaceableFlags: string[];
  /** The id a fresh run takes (a loaded config's `runId`); by default a new one. */
  runId?: string;
  /** The env entries a loaded config gives as `{"value": …}` (src/cli/config-io.ts): a save writes them so again. */
  literalEnv?: ReadonlySet<string>;
};

export type CliRequest =
  | RunRequest
  | { command: 'config'; settings: Settings; json: boolean; debug: boolean }
  | {
      command: 'approve';
      /** Undefined only with `store` and its `runId`. */
      outputDir: string | undefined;
      checkpointPath?: string;
      /** `--store`: the run's checkpoint is in this store, keyed as `run --store` keys it. */
      store: { address: string; runId?: string } | null;
      gate?: string;
      by?: string;
      note?: string;
      debug: boolean;
    };

const MAX_TIMER_MS = 2_147_483_647;

interface SettingFlags {
  config?: string;
  checkpointPath?: string;
  plan?: string;
  timeoutMs?: number;
  killGraceMs?: number;
  concurrency?: number;
  costBudget?: number;
  maxWallMs?: number;
}

interface RunFlags extends SettingFlags, LaterFlags, ConfigIoFlags {
  resume: boolean;
  resumeOrStart: boolean;
  simulateBlocked: boolean;
  managerBin?: string;
  managerArg: string[];
  managerEnv: [string, string][];
  managerExpectedArtifact: string[];
  executorBin?: string;
  executorArg: string[];
  executorEnv: [string, string][];
  executorExpectedArtifact: string[];
  store?: string;
  runId?: string;
  debug: boolean;
  json: boolean;
  inspect: boolean;
  inspectPort?: number;
  inspectOpen: boolean;
  inspectKeep: boolean;
  inspectorUrl?: string;
}

/** Parses argv; throws commander's errors (exit code 2 in the CLI) for bad input. */
export function parseCommandLine(argv: readonly string[]): CliRequest {
  let request: CliRequest | null = null;
  const program = new Command('autonomy-orchestrator')
    .description('Drive a run through planning, policy_ingestion, execution, validation and closure.')
    .version(VERSION, '--version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .addHelpText(
      'after',
      [
        '',
        'Other commands:',
        '  autonomy-orchestrator report <output_dir>    print a summary of the run in output_dir',
        '  autonomy-orchestrator inspect <output_dir>   replay the run in output_dir in the viewer',
        '  autonomy-orchestrator graph [--format F]     print the machine (mermaid, dot, json)',
        '  autonomy-orchestrator submit --plan FILE     queue a run for the workers (see `help submit`)',
        '  autonomy-orchestrator worker                 run queued runs until stopped',
        '  autonomy-orchestrator status                 the runs a store holds, and per-step counts',
        '  autonomy-orchestrator export --format F      a store\'s runs or records as CSV or JSON lines',
        '  autonomy-orchestrator config-validate FILE   check a run config file (--config-save wrote it) without running it',
        '  autonomy-orchestrator help <command>         the help of one command',
        '',
        'Exit codes: 0 done, 1 failed, 2 usage error, 3 blocked, 124 timeout, 130/143 stopped by SIGINT/SIGTERM.',
      ].join('\n'),
    )
    .showSuggestionAfterError(true)
    // The program's own options (--version, --help) only before a command: after it, they may be
    // the values of --manager-arg and belong to the program that is run.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: () => {} });

  const run: Command = settingOptions(
    program
      .command('run [output_dir]')
      .description('run (or --resume) an orchestration; the command name may be left out, as in V0')
      .option('--resume', 'continue the run recorded in the checkpoint; completed steps are not run again', false)
      .option('--resume-or-start', 'resume the run in the checkpoint if there is one, else start a new run (for a supervisor that restarts after a crash)', false)
      .option('--simulate-blocked', 'stop after validation with terminal state blocked (closure never entered)', false),
  )
    .option('--manager-bin <bin>', 'program run in the planning stage')
    .option('--manager-arg <arg>', 'argument for the manager, passed verbatim (repeatable)', collect, [])
    .option('--manager-env <KEY=VALUE>', 'environment pair added for the manager (repeatable)', collectEnv('--manager-env'), [])
    .option('--manager-expected-artifact <path>', 'file the manager must produce (repeatable)', collect, [])
    .option('--executor-bin <bin>', 'program run in the execution stage')
    .option('--executor-arg <arg>', 'argument for the executor, passed verbatim (repeatable)', collect, [])
    .option('--executor-env <KEY=VALUE>', 'environment pair added for the executor (repeatable)', collectEnv('--executor-env'), [])
    .option('--executor-expected-artifact <path>', 'file the executor must produce (repeatable)', collect, []);
  // V0's later flags (loops and gates): src/cli/later-flags.ts; its config files: src/cli/config-flags.ts.
  addConfigIoOptions(addLaterOptions(run))
    .option('--store <address>', "keep the checkpoint in file:DIR, postgres://… or redis://…, keyed by --run-id (default: the output directory's name)")
    .option('--run-id <id>', 'with --store: the key (and a fresh run\'s id) of this run in the store')
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
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .action((outputDir: string | undefined, flags: RunFlags) => {
      const configIo = configIoOf(flags);
      request = {
        ...runRequest(outputDir, flags, laterFlagsGiven(argv) ? laterConfigFrom(flags, argv, valueFlagsOf(run)) : null),
        configIo,
        replaceableFlags: configIo.load === null ? [] : replaceableFlagsOf(run),
      };
    });
  // V0 users ask `--help` for the flags: the default command's help comes with the program's.
  program.addHelpText('after', () => `\nThe default command, run:\n\n${run.helpInformation()}`);

  settingOptions(
    program
      .command('config [output_dir]')
      .description('print the effective settings and where each comes from (default < config file < ORCHESTRATOR_* < flag)'),
  )
    .option('--json', 'print JSON', false)
    .option('--debug', 'print stack traces of internal errors', false)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .action((outputDir: string | undefined, flags: SettingFlags & { json: boolean; debug: boolean }) => {
      request = { command: 'config', settings: settingsFrom(outputDir, flags), json: flags.json, debug: flags.debug };
    });

  program
    .command('approve [output_dir]')
    .description('approve what a blocked run waits for; `--resume` then carries on')
    .option('--gate <gate>', 'what to approve (default: the gate the run waits at), e.g. stage:closure or step:execution/deploy')
    .option('--by <name>', 'who approves (default: the current user)')
    .option('--note <text>', 'why')
    .option('--checkpoint-path <path>', 'checkpoint file (default: <output_dir>/orchestrator_checkpoint.json)')
    .option('--store <address>', "the run keeps its checkpoint in file:DIR, postgres://… or redis://…, keyed by --run-id (default: the output directory's name)")
    .option('--run-id <id>', 'with --store: the key of the run in the store; output_dir may then be left out')
    .option('--debug', 'print stack traces of internal errors', false)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .action((outputDir: string | undefined, flags: ApproveFlags) => {
      request = approveRequest(outputDir, flags);
    });

  const routed = route(argv);
  // Upstream reads native validations from the raw command line, before its parser: so do its errors.
  if (routed[0] === 'run') parseValidationInvocations(routed.slice(1), valueFlagsOf(run));
  program.parse(routed, { from: 'user' });
  if (request === null) throw new CommanderError(2, 'commander.noCommand', 'no command given');
  return request;
}

interface ApproveFlags {
  gate?: string;
  by?: string;
  note?: string;
  checkpointPath?: string;
  store?: string;
  runId?: string;
  debug: boolean;
}

/** What a loaded config does not replace: where the run's files are, and how it is shown. */
const KEPT_WITH_LOADED_CONFIG = new Set([
  '--checkpoint-path',
  '--cycle-memory-path',
  '--next-actions-path',
  '--resume',
  '--resume-or-start',
  '--store',
  '--run-id',
  '--json',
  '--inspect',
  '--inspect-port',
  '--inspect-open',
  '--inspect-keep',
  '--inspector-url',
  '--debug',
  '--verbose',
  '--config',
  '--config-save',
  '--config-save-json',
  '--config-load',
  '--config-load-json',
]);

/** The run's flags given on the command line that a loaded config replaces. */
function replaceableFlagsOf(command: Command): string[] {
  return command.options
    .filter((option) => option.long !== undefined && !KEPT_WITH_LOADED_CONFIG.has(option.long) && command.getOptionValueSource(option.attributeName()) === 'cli')
    .map((option) => option.long!);
}

/** The run command's flags that take a value: the token after one is that value, not a flag. */
function valueFlagsOf(command: Command): Set<string> {
  return new Set(command.options.filter((o) => o.required || o.optional).map((o) => o.long ?? ''));
}

function approveRequest(outputDir: string | undefined, flags: ApproveFlags): CliRequest {
  const { store, runId, ...rest } = flags;
  if (runId !== undefined && store === undefined) throw new CommanderError(2, 'commander.invalidArgument', 'option --run-id needs --store');
  if (store !== undefined && flags.checkpointPath !== undefined) {
    throw new CommanderError(2, 'commander.conflictingOption', 'option --checkpoint-path cannot be used with --store (the store holds the checkpoint)');
  }
  if (outputDir === undefined && (store === undefined || runId === undefined)) {
    throw new CommanderError(2, 'commander.missingArgument', "missing required argument 'output_dir' (or give --store and --run-id)");
  }
  return { command: 'approve', outputDir, store: store === undefined ? null : { address: store, ...(runId !== undefined ? { runId } : {}) }, ...rest };
}

/** The options every command that resolves settings takes. */
function settingOptions(command: Command): Command {
  return command
    .option('--config <file>', 'settings file (default: ./autonomy-orchestrator.config.json if present)')
    .option('--checkpoint-path <path>', 'checkpoint file (default: <output_dir>/orchestrator_checkpoint.json)')
    .option('--plan <file>', 'plan of steps per stage (JSON or YAML; see schemas/plan.schema.json)')
    .addOption(new Option('--timeout-ms <ms>', 'timeout of each program invocation (default 30000)').argParser(integerFlag('--timeout-ms', 1)))
    .addOption(new Option('--kill-grace-ms <ms>', 'time between SIGTERM and SIGKILL when a step is ended (default 2000)').argParser(integerFlag('--kill-grace-ms', 0, 600_000)))
    .addOption(new Option('--concurrency <n>', "independent steps of a stage run at once (default: the plan's, else 1)").argParser(integerFlag('--concurrency', 1, 256)))
    .addOption(new Option('--cost-budget <n>', "stop blocked once the steps' reported cost passes this").argParser(numberFlag('--cost-budget')))
    .addOption(new Option('--max-wall-ms <ms>', 'end the run (timeout) once it has run this long, across resumes').argParser(integerFlag('--max-wall-ms', 1)));
}

function settingsFrom(outputDir: string | undefined, flags: SettingFlags): Settings {
  const given: Partial<Record<SettingKey, string | number>> = {};
  if (outputDir !== undefined) given.outputDir = outputDir;
  for (const key of ['checkpointPath', 'plan', 'timeoutMs', 'killGraceMs', 'concurrency', 'costBudget', 'maxWallMs'] as const) {
    if (flags[key] !== undefined) given[key] = flags[key];
  }
  return resolveSettings({ flags: given, env: process.env, configPath: flags.config, cwd: process.cwd() });
}

const COMMANDS = ['run', 'config', 'approve', 'help', 'report', 'inspect', 'graph'];
const PROGRAM_FLAGS = ['--help', '-h', '--version'];

/**
 * V0's command line has no command name: anything that does not start with one is `run`. Routed
 * here rather than by commander's default command, which takes `-h` for help anywhere, even as
 * the value of --manager-arg.
 */
function route(argv: readonly string[]): string[] {
  const first = argv[0];
  if (first !== undefined && (COMMANDS.includes(first) || PROGRAM_FLAGS.includes(first))) return [...argv];
  return ['run', ...argv];
}

function runRequest(
  outputDir: string | undefined,
  flags: RunFlags,
  later: ReturnType<typeof laterConfigFrom> | null,
): Omit<RunRequest, 'configIo' | 'replaceableFlags'> {
  const settings = settingsFrom(outputDir, flags);
  const value = <T extends string | number>(key: SettingKey) => (settings[key].value ?? undefined) as T | undefined;
  const warnings: string[] = [];
  const manager = v0Step('manager', flags.managerBin, flags.managerArg, flags.managerEnv, flags.managerExpectedArtifact, warnings);
  const executor = v0Step('executor', flags.executorBin, flags.executorArg, flags.executorEnv, flags.executorExpectedArtifact, warnings);
  const planPath = value<string>('plan') ?? null;
  if (planPath !== null && (manager || executor)) {
    throw new CommanderError(2, 'commander.conflict', '--plan cannot be combined with --manager-bin or --executor-bin: put those steps in the plan');
  }
  if (planPath !== null && (later?.validationSteps.length ?? 0) > 0) {
    throw new CommanderError(2, 'commander.conflict', '--plan cannot be combined with --reviewer-bin or --validation-bin: put those steps in the plan');
  }
  const plan: PlanInput = {
    stages: {
      ...(manager ? { planning: [{ ...manager, idempotencyKey: 'stage:Planning' }] } : {}),
      ...(executor ? { execution: [{ ...executor, idempotencyKey: 'stage:Execution' }] } : {}),
      ...(later && later.validationSteps.length > 0 ? { validation: later.validationSteps } : {}),
    },
  };
  const optional = (key: SettingKey) => (settings[key].value !== null ? { [key]: settings[key].value } : {});
  if (flags.runId !== undefined && flags.store === undefined) throw new CommanderError(2, 'commander.conflict', '--run-id needs --store (a run in its output directory takes the id in its checkpoint)');
  if (flags.store !== undefined && settings.checkpointPath.value !== null) {
    throw new CommanderError(2, 'commander.conflict', `--store cannot be combined with a checkpoint path (from ${settings.checkpointPath.source}): the store holds the checkpoint`);
  }
  return {
    command: 'run',
    planPath,
    store: flags.store === undefined ? null : { address: flags.store, ...(flags.runId !== undefined ? { runId: flags.runId } : {}) },
    debug: flags.debug,
    warnings,
    view: viewFlags(flags),
    config: {
      outputDir: value<string>('outputDir') ?? './out',
      ...optional('checkpointPath'),
      resume: flags.resume || flags.resumeOrStart,
      ...(flags.resumeOrStart ? { resumeOrStart: true } : {}),
      simulateBlocked: flags.simulateBlocked,
      ...optional('timeoutMs'),
      ...optional('killGraceMs'),
      ...optional('concurrency'),
      ...optional('costBudget'),
      ...optional('maxWallMs'),
      ...optional('feePct'),
      ...optional('burnPct'),
      ...(settings.thermostat.value !== null ? { thermostat: JSON.parse(String(settings.thermostat.value)) as Record<string, number> } : {}),
      ...(later ? { later: later.later } : {}),
      plan,
    },
  };
}

function viewFlags(flags: RunFlags): ViewFlags {
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

/** V0's manager and executor are one step each, keeping V0's idempotency keys. */
function v0Step(
  id: 'manager' | 'executor',
  bin: string | undefined,
  args: string[],
  env: [string, string][],
  expectedArtifacts: string[],
  warnings: string[],
): Pick<Step, 'id' | 'bin' | 'args' | 'env' | 'expectedArtifacts'> | undefined {
  if (bin !== undefined) return { id, bin, args, env: Object.fromEntries(env), expectedArtifacts };
  if (args.length + env.length + expectedArtifacts.length > 0) {
    warnings.push(`--${id}-arg/--${id}-env/--${id}-expected-artifact are ignored without --${id}-bin`);
  }
  return undefined;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function collectEnv(flag: string) {
  return (value: string, previous: [string, string][]): [string, string][] => {
    const at = value.indexOf('=');
    // Not InvalidArgumentError: commander would echo the value, and it may be a secret.
    if (at < 1) throw new CommanderError(2, 'commander.invalidArgument.env', `${flag} takes KEY=VALUE with a non-empty KEY`);
    return [...previous, [value.slice(0, at), value.slice(at + 1)]];
  };
}

function integerFlag(flag: string, min: number, max = MAX_TIMER_MS) {
  return (value: string): number => {
    if (!/^[+-]?\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${flag} must be between ${min} and ${max}`);
    return n;
  };
}

function numberFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} takes a number, 0 or more`);
    return n;
  };
}

/**
 * `--config-load` and `--config-save` (V0's config I/O, JSON only): a loaded config replaces the
 * configuration the command line gives, but for where the run's files are (output_dir, with the
 * report and the previous report; the checkpoint, cycle-memory and next-actions paths) and how it
 * is resumed and shown; a save writes the configuration the run then has, before the run. A file
 * keeps no environment value: each env entry names the variable read where the file is loaded.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeFileDurably } from '../checkpoint/durable-write.js';
import { laterWithAbsolutePaths, planPartsWithAbsolutePaths, stepWithAbsolutePaths } from './config-paths.js';
import { type RunConfigFile, type RunConfigFileInput, type SavedStepInput, runConfigFileSchema } from '../config/run-config-file.js';
import type { OrchestrationConfigInput } from '../config/schema.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { checkPlan, formatPath, loadPlanFile } from '../plan/load.js';
import { mergeThermostat, thermostatProblem } from '../plan/thermostat.js';
import type { PlanInput, StepInput } from '../plan/schema.js';
import { isOwnEnvValue } from '../run/loop-steps.js';
import { STAGES, type Stage } from '../../machines/stages.js';
import type { RunRequest } from './program.js';

/**
 * The run as the config files make it: loaded (if asked), then saved (if asked). A plan file is
 * loaded before the save (and handed to the run): a plan the run refuses leaves no file behind.
 */
export async function applyConfigIo(request: RunRequest, env: NodeJS.ProcessEnv): Promise<RunRequest> {
  const loaded = request.configIo.load === null ? request : withLoadedConfig(request, request.configIo.load, env);
  if (request.configIo.save === null) return loaded;
  if (namesNoProgram(loaded)) throw new OrchestratorError(noProgramToSave(request.configIo.save, loaded.config), EXIT.usage);
  const run = loaded.planPath === null ? loaded : { ...loaded, config: { ...loaded.config, plan: await loadPlanFile(loaded.planPath) } };
  saveRunConfig(request.configIo.save, run);
  // A saved plan path keeps no env at all: a run of the file reads the plan file's own values.
  const warning = loaded.planPath !== null ? null : referencesWarning(request.configIo.save, envReferences(run.config.plan, run.literalEnv ?? new Set()));
  return warning === null ? run : { ...run, warnings: [...run.warnings, warning] };
}

/** Names only, never a value: the variables a run of the file reads, and those it cannot tell apart. */
function referencesWarning(path: string, references: Map<string, Set<string>>): string | null {
  if (references.size === 0) return null;
  const names = [...references.keys()];
  const shared = names.filter((name) => references.get(name)!.size > 1);
  const line = `--config-save ${path} keeps ${names.join(', ')} as references: a run of it takes their values from its own environment`;
  if (shared.length === 0) return line;
  return `${line}; ${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are each'} given different values for different programs here, and a run of it gives every program the environment's value`;
}

/** Neither a plan file nor a step: a file of it would run nothing (a load refuses it). */
function namesNoProgram(run: RunRequest): boolean {
  return run.planPath === null && STAGES.every((stage) => (run.config.plan?.stages?.[stage] ?? []).length === 0);
}

function noProgramToSave(path: string, config: OrchestrationConfigInput): string {
  const resumed = config.resume === true || config.resumeOrStart === true;
  const why = resumed ? 'this resume names no program (its programs come from its checkpoint)' : 'the run names no program';
  return `--config-save ${path}: ${why}, so the file would run nothing; give the programs (--manager-bin/--executor-bin) or --plan`;
}

/** The env entries a save keeps as references, by name (in the order of the plan), with the values given now. */
function envReferences(plan: PlanInput | undefined, literalEnv: ReadonlySet<string>): Map<string, Set<string>> {
  const values = new Map<string, Set<string>>();
  for (const stage of STAGES) {
    for (const step of plan?.stages?.[stage] ?? []) {
      for (const [name, value] of Object.entries(step.env ?? {})) {
        if (isOwnEnvValue(step, name, value) || literalEnv.has(envEntryKey(stage, step.id, name))) continue;
        values.set(name, (values.get(name) ?? new Set()).add(value));
      }
    }
  }
  return values;
}

/** Settings that only the command line gives: named when a file has them. */
const COMMAND_LINE_ONLY: Record<string, string> = {
  outputDir: 'output_dir',
  checkpointPath: '--checkpoint-path',
  resume: '--resume',
  resumeOrStart: '--resume-or-start',
  cycleMemoryPath: '--cycle-memory-path',
  nextActionsPath: '--next-actions-path',
};

/**
 * Reads and checks a run config file; a problem is one line naming the file and the field (exit 1).
 * `input` is the file as written (a run fills in the defaults as for flags), `file` with defaults.
 */
export function readRunConfigFile(path: string): { file: RunConfigFile; input: RunConfigFileInput } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw loadError(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Not the parser's own words: they differ between Node versions.
    throw loadError(path, 'it is not valid JSON');
  }
  const parsed = runConfigFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'invalid_key') throw loadError(path, badKeyProblem(issue.path, data));
    const field = issue.path.length > 0 ? formatPath(issue.path) : '(document)';
    throw loadError(path, `${field}: ${problemOf(issue)}`);
  }
  if (parsed.data.plan !== undefined && parsed.data.planPath !== undefined) {
    throw loadError(path, 'planPath: cannot be combined with plan: give the steps in one or the other');
  }
  if (parsed.data.planPath === undefined && STAGES.every((stage) => (parsed.data.plan?.stages[stage] ?? []).length === 0)) {
    throw loadError(path, 'plan: it names no program (no step in plan.stages, no planPath), so a run of it would run nothing');
  }
  const planProblem = parsed.data.plan === undefined ? null : problemOfPlan(parsed.data.plan);
  if (planProblem !== null) throw loadError(path, `plan.${planProblem}`);
  const thermostat = parsed.data.thermostat === undefined ? null : mergeThermostat(parsed.data.plan?.thermostat, parsed.data.thermostat);
  const thermostatError = thermostat && thermostatProblem(thermostat);
  if (thermostatError) throw loadError(path, `thermostat.${thermostatError}`);
  return { file: parsed.data, input: data as RunConfigFileInput };
}

/** The checks a `--plan` file gets, on the file's steps with each env entry as an empty value. */
function problemOfPlan(plan: NonNullable<RunConfigFile['plan']>): string | null {
  const stages = Object.fromEntries(
    Object.entries(plan.stages).map(([stage, steps]) => [stage, steps?.map((step) => ({ ...step, env: Object.fromEntries(Object.keys(step.env).map((name) => [name, ''])) }))]),
  );
  const checked = checkPlan({ ...plan, stages });
  return typeof checked === 'string' ? checked : null;
}

/**
 * An env key that is no variable name: never printed (`TOKEN=value` is a value pasted where a name
 * goes); the step is named instead.
 */
function badKeyProblem(at: readonly PropertyKey[], data: unknown): string {
  const key = String(at.at(-1));
  const record = at.slice(0, -1);
  const step = record.slice(0, -1).reduce<unknown>((node, part) => (node as Record<PropertyKey, unknown> | undefined)?.[part], data) as { id?: unknown } | undefined;
  const named = typeof step?.id === 'string' ? ` (step ${JSON.stringify(step.id)})` : '';
  const what = key.includes('=') ? 'a key contains "="' : 'a key is empty or contains a space or a control character';
  return `${formatPath(record)}${named}: ${what}; a key is the variable's name (not printed here: it may hold a value)`;
}

function problemOf(issue: { code: string; message: string; keys?: string[]; issues?: { message: string }[] }): string {
  const cliOnly = issue.code === 'unrecognized_keys' ? issue.keys?.find((key) => key in COMMAND_LINE_ONLY) : undefined;
  if (cliOnly !== undefined) return `${cliOnly} is not kept in a config file: it comes from the command line (${COMMAND_LINE_ONLY[cliOnly]})`;
  // A record key that breaks its own schema nests the real message one level down.
  const inner = issue.issues?.[0]?.message;
  return issue.code === 'invalid_key' && inner ? inner : issue.message;
}

function withLoadedConfig(request: RunRequest, path: string, env: NodeJS.ProcessEnv): RunRequest {
  const { $schema: _schema, version: _version, runId, later, plan, planPath, ...settings } = readRunConfigFile(path).input;
  const cli = request.config;
  const paths = {
    ...(cli.later?.cycleMemoryPath !== undefined ? { cycleMemoryPath: cli.later.cycleMemoryPath } : {}),
    ...(cli.later?.nextActionsPath !== undefined ? { nextActionsPath: cli.later.nextActionsPath } : {}),
  };
  const laterOfRun = later === undefined && Object.keys(paths).length === 0 ? undefined : { ...later, ...paths };
  const config: OrchestrationConfigInput = {
    outputDir: cli.outputDir,
    ...(cli.checkpointPath !== undefined ? { checkpointPath: cli.checkpointPath } : {}),
    resume: cli.resume,
    ...(cli.resumeOrStart !== undefined ? { resumeOrStart: cli.resumeOrStart } : {}),
    ...settings,
    ...(laterOfRun !== undefined ? { later: laterOfRun } : {}),
    plan: plan === undefined ? { stages: {} } : planWithEnvValues(plan, path, env),
  };
  const literalEnv = new Set<string>();
  for (const stage of STAGES) {
    for (const step of plan?.stages?.[stage] ?? []) {
      for (const [name, entry] of Object.entries(step.env ?? {})) if ('value' in entry) literalEnv.add(envEntryKey(stage, step.id, name));
    }
  }
  const warnings = [...request.warnings];
  if (request.replaceableFlags.length > 0) {
    warnings.push(`--config-load ${path} replaces the run's configuration: ${request.replaceableFlags.join(', ')} given on the command line ${request.replaceableFlags.length === 1 ? 'is' : 'are'} not used`);
  }
  if (runId !== undefined && request.store !== null) warnings.push(`--config-load ${path}: its runId ${runId} is not used: with --store, the run's id is its key in the store`);
  return {
    ...request,
    config,
    planPath: planPath ?? null,
    warnings,
    literalEnv,
    ...(runId !== undefined && request.store === null ? { runId } : {}),
  };
}

/** One env entry of one step: a step id has no "/", so the name after it is the rest. */
function envEntryKey(stage: Stage, stepId: string, name: string): string {
  return `${stage}/${stepId}/${name}`;
}

/** The loaded steps with their env values: each named variable from the environment of this process. */
function planWithEnvValues(plan: NonNullable<RunConfigFileInput['plan']>, path: string, env: NodeJS.ProcessEnv): PlanInput {
  const stages: PlanInput['stages'] = {};
  for (const stage of STAGES) {
    const steps = plan.stages?.[stage];
    if (steps === undefined) continue;
    stages[stage] = steps.map((step, i) => ({
      ...step,
      env: Object.fromEntries(
        Object.entries(step.env ?? {}).map(([name, entry]) => {
          if ('value' in entry) return [name, entry.value];
          const value = env[name];
          if (value === undefined) {
            throw loadError(path, `plan.stages.${stage}[${i}].env.${name}: the environment variable ${name} is not set (the file keeps only its name: set it where the run starts)`);
          }
          return [name, value];
        }),
      ),
    }));
  }
  return { ...plan, stages };
}

/** What a save writes: the run's configuration but for the command line's own paths, env values as names. */
export function runConfigFileOf(request: RunRequest): RunConfigFileInput {
  const { outputDir: _out, checkpointPath: _checkpoint, resume: _resume, resumeOrStart: _orStart, later, plan, planPath: _planPath, ...settings } = request.config;
  const { cycleMemoryPath: _cycleMemory, nextActionsPath: _nextActions, ...laterKept } = later ?? {};
  return {
    version: 1,
    ...(request.runId !== undefined ? { runId: request.runId } : {}),
    ...settings,
    ...(request.planPath !== null ? { planPath: resolve(request.planPath) } : {}),
    ...(later !== undefined ? { later: laterWithAbsolutePaths(laterKept) } : {}),
    ...(request.planPath === null && plan !== undefined ? { plan: planWithEnvNames(plan, request.literalEnv ?? new Set()) } : {}),
  };
}

function planWithEnvNames(plan: PlanInput, literalEnv: ReadonlySet<string>): NonNullable<RunConfigFileInput['plan']> {
  const stages: Partial<Record<Stage, SavedStepInput[]>> = {};
  for (const stage of STAGES) {
    const steps = plan.stages?.[stage];
    if (steps !== undefined) stages[stage] = steps.map((step) => stepWithAbsolutePaths(stepWithEnvNames(stage, step, literalEnv)));
  }
  return { ...planPartsWithAbsolutePaths(plan), stages };
}

/**
 * Never a value given for a child: its name, read again where the file is loaded. But for what is
 * no secret: the orchestrator's own variables, and the values a loaded file gave as such.
 */
function stepWithEnvNames(stage: Stage, step: StepInput, literalEnv: ReadonlySet<string>): SavedStepInput {
  const env = Object.entries(step.env ?? {}).map(([name, value]) => {
    const literal = isOwnEnvValue(step, name, value) || literalEnv.has(envEntryKey(stage, step.id, name));
    return [name, literal ? { value } : { fromEnv: true as const }];
  });
  return { ...step, env: Object.fromEntries(env) };
}

function saveRunConfig(path: string, request: RunRequest): void {
  const file = runConfigFileOf(request);
  const checked = runConfigFileSchema.safeParse(file);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new OrchestratorError(`invalid configuration: ${formatPath(issue.path)}: ${issue.message}`, EXIT.usage);
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw new OrchestratorError(`cannot write the run config ${path}: its folder cannot be made (${(error as NodeJS.ErrnoException).code ?? String(error)})`, EXIT.failed);
  }
  try {
    writeFileDurably(path, `${JSON.stringify(file, null, 2)}\n`);
  } catch (error) {
    throw new OrchestratorError(`cannot write the run config ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT.failed);
  }
}

function loadError(path: string, problem: string): OrchestratorError {
  return new OrchestratorError(`cannot load the run config ${path}: ${problem}`, EXIT.failed);
}

/**
 * Layered settings (seed 003's config reflection): built-in defaults < config file
 * (`autonomy-orchestrator.config.json`, or `--config`) < `ORCHESTRATOR_*` environment variables <
 * flags. Every value remembers where it came from; an invalid value is an error naming its source.
 */
import { existsSync, readFileSync } from 'node:fs';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { thermostatSchema } from '../plan/thermostat.js';

export const CONFIG_FILE = 'autonomy-orchestrator.config.json';
const MAX_TIMER_MS = 2_147_483_647;

type Parser = (raw: unknown) => { ok: true; value: string | number } | { ok: false; problem: string };

export interface SettingSpec {
  key: SettingKey;
  /** Null for a setting with no flag (environment and config file only). */
  flag: string | null;
  env: string;
  parse: Parser;
  default: string | number | null;
  help: string;
}

export type SettingKey =
  | 'outputDir'
  | 'checkpointPath'
  | 'plan'
  | 'timeoutMs'
  | 'killGraceMs'
  | 'concurrency'
  | 'costBudget'
  | 'maxWallMs'
  | 'feePct'
  | 'burnPct'
  | 'thermostat';

export const SETTINGS: readonly SettingSpec[] = [
  { key: 'outputDir', flag: 'output_dir', env: 'ORCHESTRATOR_OUTPUT_DIR', parse: text(), default: './out', help: 'report, checkpoint and logs' },
  { key: 'checkpointPath', flag: '--checkpoint-path', env: 'ORCHESTRATOR_CHECKPOINT_PATH', parse: text(), default: null, help: 'checkpoint file (default <output_dir>/orchestrator_checkpoint.json)' },
  { key: 'plan', flag: '--plan', env: 'ORCHESTRATOR_PLAN', parse: text(), default: null, help: 'plan file' },
  { key: 'timeoutMs', flag: '--timeout-ms', env: 'ORCHESTRATOR_TIMEOUT_MS', parse: integer(1, MAX_TIMER_MS), default: 30_000, help: 'timeout of each program invocation' },
  { key: 'killGraceMs', flag: '--kill-grace-ms', env: 'ORCHESTRATOR_KILL_GRACE_MS', parse: integer(0, 600_000), default: 2_000, help: 'SIGTERM to SIGKILL grace' },
  { key: 'concurrency', flag: '--concurrency', env: 'ORCHESTRATOR_CONCURRENCY', parse: integer(1, 256), default: null, help: "steps at once (default: the plan's, else 1)" },
  { key: 'costBudget', flag: '--cost-budget', env: 'ORCHESTRATOR_COST_BUDGET', parse: nonNegative(), default: null, help: "cost budget (default: the plan's)" },
  { key: 'maxWallMs', flag: '--max-wall-ms', env: 'ORCHESTRATOR_MAX_WALL_MS', parse: integer(1, MAX_TIMER_MS), default: null, help: "wall-clock budget (default: the plan's)" },
  { key: 'feePct', flag: null, env: 'ORCHESTRATOR_FEE_PCT', parse: percent(), default: 5, help: "percent of a step's value taken as fee (net ROI)" },
  { key: 'burnPct', flag: null, env: 'ORCHESTRATOR_BURN_PCT', parse: percent(), default: 2, help: "percent of a step's value burned (net ROI)" },
  { key: 'thermostat', flag: null, env: 'ORCHESTRATOR_THERMOSTAT', parse: thermostatJson(), default: null, help: "thermostat fields laid over the plan's (JSON)" },
];

export interface Resolved {
  value: string | number | null;
  /** `default`, `config file <path>`, `environment <NAME>` or `flag <--name>`. */
  source: string;
}

export type Settings = Record<SettingKey, Resolved>;

export interface LayerInputs {
  /** Values given on the command line (already parsed by the flag parser). */
  flags: Partial<Record<SettingKey, string | number>>;
  env: NodeJS.ProcessEnv;
  /** `--config`: must exist. Without it, `autonomy-orchestrator.config.json` in `cwd` if present. */
  configPath?: string | undefined;
  cwd: string;
}

export function resolveSettings(inputs: LayerInputs): Settings {
  const file = readConfigFile(inputs);
  const settings = {} as Settings;
  for (const spec of SETTINGS) {
    settings[spec.key] = resolveOne(spec, inputs, file);
  }
  return settings;
}

function resolveOne(spec: SettingSpec, inputs: LayerInputs, file: ConfigFile | null): Resolved {
  const flagged = inputs.flags[spec.key];
  if (flagged !== undefined) return { value: flagged, source: `flag ${spec.flag}` };
  const fromEnv = inputs.env[spec.env];
  if (fromEnv !== undefined && fromEnv !== '') {
    const parsed = spec.parse(fromEnv);
    if (!parsed.ok) throw new OrchestratorError(`environment ${spec.env}: ${parsed.problem}`, EXIT.usage);
    return { value: parsed.value, source: `environment ${spec.env}` };
  }
  if (file && spec.key in file.values) {
    const parsed = spec.parse(file.values[spec.key]);
    if (!parsed.ok) throw new OrchestratorError(`config file ${file.path}: ${spec.key}: ${parsed.problem}`, EXIT.usage);
    return { value: parsed.value, source: `config file ${file.path}` };
  }
  return { value: spec.default, source: 'default' };
}

interface ConfigFile {
  path: string;
  values: Record<string, unknown>;
}

function readConfigFile(inputs: LayerInputs): ConfigFile | null {
  const path = inputs.configPath ?? (existsSync(`${inputs.cwd}/${CONFIG_FILE}`) ? `${inputs.cwd}/${CONFIG_FILE}` : null);
  if (path === null) return null;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `not valid JSON (${error.message})` : `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
    throw new OrchestratorError(`config file ${path}: ${reason}`, EXIT.usage);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new OrchestratorError(`config file ${path}: expected a JSON object of settings`, EXIT.usage);
  }
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  for (const key of Object.keys(data)) {
    if (!known.has(key) && key !== '$schema') {
      throw new OrchestratorError(`config file ${path}: ${key}: not a setting (known: ${[...known].join(', ')})`, EXIT.usage);
    }
  }
  return { path, values: data as Record<string, unknown> };
}

function text(): Parser {
  return (raw) => (typeof raw === 'string' && raw.length > 0 ? { ok: true, value: raw } : { ok: false, problem: 'expected a non-empty string' });
}

function integer(min: number, max: number): Parser {
  return (raw) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n)) return { ok: false, problem: 'expected a whole number' };
    if (n < min || n > max) return { ok: false, problem: `expected a whole number from ${min} to ${max}` };
    return { ok: true, value: n };
  };
}

function nonNegative(): Parser {
  return (raw) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    if (!Number.isFinite(n) || n < 0) return { ok: false, problem: 'expected a number, 0 or more' };
    return { ok: true, value: n };
  };
}

function percent(): Parser {
  return (raw) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    if (!Number.isFinite(n) || n < 0 || n > 100) return { ok: false, problem: 'expected a percentage from 0 to 100' };
    return { ok: true, value: n };
  };
}

/** An object in the config file, JSON text in the environment; kept as its JSON text. */
function thermostatJson(): Parser {
  return (raw) => {
    let data = raw;
    if (typeof raw === 'string') {
      try {
        data = JSON.parse(raw);
      } catch {
        return { ok: false, problem: 'expected a JSON object of thermostat fields' };
      }
    }
    const parsed = thermostatSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return { ok: false, problem: `${field}${issue?.message ?? 'invalid'}` };
    }
    return { ok: true, value: JSON.stringify(parsed.data) };
  };
}

/**
 * V0's planning context (`--planning-context-artifact`, `planning.repo_context`): the repository's
 * top-level entries, workspace members and validation commands, and the feedback of the previous
 * run (its report and next actions), written after planning's programs so that the next run's
 * manager reads them. Upstream's repo-specific parts (`ownership_boundaries`, `hot_paths`: fixed
 * paths of upstream's own repository) are written empty.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileDurably } from '../checkpoint/durable-write.js';
import type { NextActions } from '../report/next-actions.js';
import type { ValidationCommand } from './cycle-memory.js';

const MAX_FEEDBACK_ITEMS = 8;
const MAX_FEEDBACK_TEXT_LEN = 240;
const MAX_TOP_LEVEL_ENTRIES = 200;

/** What the feedback reads of a previous run: its report's outcome and its validation records. */
export interface FeedbackSource {
  run_id: string;
  terminal_state: string | null;
  blocked_reason_codes: string[];
  reviewer_next_steps: string[];
  validation_outcomes: ValidationOutcome[];
}

export interface ValidationOutcome {
  command: string;
  status: string;
  exit_code: number | null;
}

export interface PlanningFeedback {
  schema_version: 1;
  source_run_id: string | null;
  terminal_state: string | null;
  blocked_reason_codes: string[];
  reviewer_next_steps: string[];
  recommended_actions: string[];
  validation_outcomes: ValidationOutcome[];
  feedback_signature: string;
  truncated: boolean;
}

export interface RepoContext {
  repo_root: string;
  generated_at_unix_secs: number;
  top_level_entries: string[];
  workspace_members: string[];
  ownership_boundaries: string[];
  hot_paths: string[];
  detected_validation_commands: ValidationCommand[];
  planning_feedback: PlanningFeedback | null;
}

/** The feedback source in a run report's text (ours or V0's); null when it is not one. */
export function feedbackSourceOfReport(text: string | null): FeedbackSource | null {
  if (text === null) return null;
  let report: Record<string, unknown>;
  try {
    report = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof report !== 'object' || report === null || typeof report.run_id !== 'string') return null;
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const records = Array.isArray(report.stage_executions) ? (report.stage_executions as Record<string, unknown>[]) : [];
  return {
    run_id: report.run_id,
    terminal_state: typeof report.terminal_state === 'string' ? report.terminal_state : null,
    blocked_reason_codes: strings(report.blocked_reason_codes),
    reviewer_next_steps: strings(report.reviewer_next_steps),
    validation_outcomes: validationOutcomesOf(records),
  };
}

/** The previous run's validation records that ran (not skipped). */
export function validationOutcomesOf(records: Iterable<Record<string, unknown>>): ValidationOutcome[] {
  const outcomes: ValidationOutcome[] = [];
  for (const record of records) {
    if (record?.stage !== 'validation' || record.status === 'skipped' || typeof record.command !== 'string') continue;
    outcomes.push({ command: record.command, status: String(record.status), exit_code: typeof record.exit_code === 'number' ? record.exit_code : null });
  }
  return outcomes;
}

/** Upstream's feedback: lists trimmed, cut to 240 characters, sorted, unique, at most 8; null with neither source. */
export function planningFeedback(report: FeedbackSource | null, next: NextActions | null): PlanningFeedback | null {
  if (report === null && next === null) return null;
  const blocked = normalizeTexts([...(report?.blocked_reason_codes ?? []), ...(next?.blocked_reason_codes ?? [])]);
  const review = normalizeTexts([...(report?.reviewer_next_steps ?? []), ...(next?.reviewer_next_steps ?? [])]);
  const recommended = normalizeTexts(next?.recommended_actions ?? []);
  const validation = normalizeOutcomes(report?.validation_outcomes ?? []);
  const terminal = report?.terminal_state ?? next?.terminal_state ?? null;
  const signature = [
    `terminal=${terminal ?? 'unknown'}`,
    `blocked=${blocked.values.join('|')}`,
    `review=${review.values.join('|')}`,
    `recommended=${recommended.values.join('|')}`,
    `validation=${validation.values.map((o) => `${o.command}:${o.status}:${o.exit_code ?? 'none'}`).join('|')}`,
  ].join(';');
  return {
    schema_version: 1,
    source_run_id: report?.run_id ?? next?.run_id ?? null,
    terminal_state: terminal,
    blocked_reason_codes: blocked.values,
    reviewer_next_steps: review.values,
    recommended_actions: recommended.values,
    validation_outcomes: validation.values,
    feedback_signature: signature,
    truncated: blocked.truncated || review.truncated || recommended.truncated || validation.truncated,
  };
}

function cut(value: string): { text: string; cut: boolean } {
  const chars = [...value];
  return chars.length <= MAX_FEEDBACK_TEXT_LEN ? { text: value, cut: false } : { text: chars.slice(0, MAX_FEEDBACK_TEXT_LEN).join(''), cut: true };
}

function normalizeTexts(items: string[]): { values: string[]; truncated: boolean } {
  let truncated = false;
  const values = new Set<string>();
  for (const item of items) {
    const trimmed = item.trim();
    if (trimmed === '') continue;
    const { text, cut: wasCut } = cut(trimmed);
    truncated ||= wasCut;
    values.add(text);
  }
  const sorted = [...values].sort(byCodeUnits);
  return { values: sorted.slice(0, MAX_FEEDBACK_ITEMS), truncated: truncated || sorted.length > MAX_FEEDBACK_ITEMS };
}

function normalizeOutcomes(items: ValidationOutcome[]): { values: ValidationOutcome[]; truncated: boolean } {
  let truncated = false;
  const keyed = new Map<string, ValidationOutcome>();
  for (const item of items) {
    const { text, cut: wasCut } = cut(item.command);
    truncated ||= wasCut;
    const outcome = { ...item, command: text };
    keyed.set(`${outcome.command}|${outcome.status}|${outcome.exit_code ?? 'none'}`, outcome);
  }
  const sorted = [...keyed.entries()].sort(([a], [b]) => byCodeUnits(a, b)).map(([, value]) => value);
  return { values: sorted.slice(0, MAX_FEEDBACK_ITEMS), truncated: truncated || sorted.length > MAX_FEEDBACK_ITEMS };
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The repository's context; throws (upstream's words) when the root cannot be read. */
export function repoContextOf(repoRoot: string, feedback: PlanningFeedback | null, nowMs = Date.now()): RepoContext {
  let entries: string[];
  try {
    entries = readdirSync(repoRoot);
  } catch (error) {
    throw new Error(`Failed to read repo root '${repoRoot}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  return {
    repo_root: repoRoot,
    generated_at_unix_secs: Math.floor(nowMs / 1000),
    top_level_entries: entries.sort(byCodeUnits).slice(0, MAX_TOP_LEVEL_ENTRIES),
    workspace_members: workspaceMembers(repoRoot),
    ownership_boundaries: [],
    hot_paths: [],
    detected_validation_commands: detectedValidationCommands(repoRoot),
    planning_feedback: feedback,
  };
}

export function writeRepoContext(path: string, context: RepoContext): void {
  try {
    const parent = dirname(path);
    if (parent !== '') mkdirSync(parent, { recursive: true });
    writeFileDurably(path, `${JSON.stringify(context, null, 2)}\n`);
  } catch (error) {
    throw new Error(`Failed to write planning repo context artifact '${path}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
}

const line = (command: string, ...args: string[]): ValidationCommand => ({ command_line: { command, args } });

/** Upstream's commands for a Cargo or an npm project. */
function detectedValidationCommands(repoRoot: string): ValidationCommand[] {
  const commands: ValidationCommand[] = [];
  if (existsSync(join(repoRoot, 'Cargo.toml'))) {
    commands.push(line('cargo', 'fmt', '--all', '--', '--check'), line('cargo', 'clippy', '--workspace', '--all-targets', '--', '-D', 'warnings'), line('cargo', 'test', '--workspace'));
  }
  if (existsSync(join(repoRoot, 'package.json'))) commands.push(line('npm', 'run', 'lint'), line('npm', 'test'));
  return commands;
}

/** `[workspace] members` of Cargo.toml (every quoted entry, also several on a line) and package.json's `workspaces`; sorted. */
function workspaceMembers(repoRoot: string): string[] {
  const members: string[] = [];
  const cargo = readOrNull(join(repoRoot, 'Cargo.toml'));
  if (cargo !== null) {
    let inWorkspace = false;
    let inMembers = false;
    for (const raw of cargo.split('\n')) {
      const trimmed = raw.trim();
      if (trimmed.startsWith('[') && trimmed.endsWith(']') && !inMembers) {
        inWorkspace = trimmed === '[workspace]';
        continue;
      }
      if (!inWorkspace) continue;
      if (/^members\s*=/.test(trimmed)) inMembers = true;
      if (!inMembers) continue;
      for (const match of trimmed.matchAll(/"([^"]+)"/g)) members.push(match[1]!);
      if (trimmed.includes(']')) inMembers = false;
    }
  }
  const npm = readOrNull(join(repoRoot, 'package.json'));
  if (npm !== null) {
    try {
      const workspaces = (JSON.parse(npm) as { workspaces?: unknown }).workspaces;
      const list = Array.isArray(workspaces) ? workspaces : (workspaces as { packages?: unknown } | undefined)?.packages;
      if (Array.isArray(list)) members.push(...list.filter((m): m is string => typeof m === 'string' && m !== ''));
    } catch {
      // not JSON: no members
    }
  }
  return [...new Set(members)].sort(byCodeUnits);
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The artifact's detected validation commands (upstream also reads a legacy list of strings); throws upstream's words. */
export function readDetectedValidationCommands(path: string): ValidationCommand[] {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Failed to read planning context artifact '${path}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  const bad = (why: string) => new Error(`Failed to parse planning context artifact '${path}': ${why}`);
  let data: { detected_validation_commands?: unknown };
  try {
    data = JSON.parse(raw) as typeof data;
  } catch (error) {
    throw bad((error as Error).message);
  }
  const list = data?.detected_validation_commands;
  if (!Array.isArray(list)) throw bad('detected_validation_commands: expected a list');
  return list.flatMap((item: unknown): ValidationCommand[] => {
    if (typeof item === 'string') {
      const [command, ...args] = item.split(/\s+/).filter(Boolean);
      return command === undefined ? [] : [line(command, ...args)];
    }
    const commandLine = (item as { command_line?: { command?: unknown; args?: unknown } })?.command_line;
    if (typeof commandLine?.command !== 'string' || (commandLine.args !== undefined && !Array.isArray(commandLine.args))) {
      throw bad('detected_validation_commands: expected {command_line: {command, args}} or a string');
    }
    return [line(commandLine.command, ...((commandLine.args as unknown[] | undefined) ?? []).map(String))];
  });
}

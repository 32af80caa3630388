/**
 * The vocabulary of a run: its five stages, in order, and its four terminal states.
 * Pure data; everything else (schemas, CLI, report) derives from these arrays.
 */
export const STAGES = ['planning', 'policy_ingestion', 'execution', 'validation', 'closure'] as const;
export type Stage = (typeof STAGES)[number];

export const TERMINAL_STATES = ['done', 'blocked', 'failed', 'timeout'] as const;
export type TerminalState = (typeof TERMINAL_STATES)[number];

/** How one stage's work ended. V0's execution statuses, plus `passed` for a stage with no work. */
export const STAGE_STATUSES = [
  'success',
  'skipped',
  'failed',
  'timeout',
  'spawn_failed',
  'artifact_missing',
] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

export function isTerminalState(value: unknown): value is TerminalState {
  return typeof value === 'string' && (TERMINAL_STATES as readonly string[]).includes(value);
}

/** V0 writes stage names the way Rust's `Debug` prints its enum: `PolicyIngestion`. */
export function stageTitle(stage: Stage): string {
  return stage
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** `stage:Planning`, as V0 writes it in every execution record. */
export function stageIdempotencyKey(stage: Stage): string {
  return `stage:${stageTitle(stage)}`;
}

export function nextStage(stage: Stage): Stage | null {
  const index = STAGES.indexOf(stage);
  return STAGES[index + 1] ?? null;
}

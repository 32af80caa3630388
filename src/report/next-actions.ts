/**
 * V0's next actions, as JSON (upstream writes a binary file): what the run ended with and what to
 * do before the next one. Written after every run, only with `--next-actions-path`; read back by
 * the planning context's feedback and as the remediation steps' last fallback.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { TERMINAL_STATES, type TerminalState } from '../../machines/stages.js';
import { writeFileDurably } from '../checkpoint/durable-write.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import type { VersioningDelta } from '../run/versioning.js';

export const nextActionsSchema = z.object({
  run_id: z.string(),
  terminal_state: z.nullable(z.enum(TERMINAL_STATES)),
  blocked_reason_codes: z.array(z.string()),
  reviewer_next_steps: z.array(z.string()),
  recommended_actions: z.array(z.string()),
  versioning_delta: z.nullable(
    z.object({
      before_head_commit: z.nullable(z.string()),
      after_head_commit: z.nullable(z.string()),
      touched_files: z.array(z.string()),
      worktree_changed: z.boolean(),
    }),
  ),
  generated_at_unix_secs: z.int(),
});

export type NextActions = z.infer<typeof nextActionsSchema>;

/** Upstream's exact words per blocked reason code (`runtime.rs::build_recommended_actions`). */
const ACTIONS: Record<string, string> = {
  GATE_POLICY_DENIED_OR_UNKNOWN: 'Resolve policy gate: enforce allow signal before rerun',
  GATE_CI_NOT_SUCCESS: 'Resolve CI gate: ensure CI status is success',
  GATE_REVIEW_NOT_APPROVED: 'Resolve review gate: obtain approved review status',
  DECISION_CONFIDENCE_BELOW_THRESHOLD: 'Raise decision confidence or lower threshold with explicit governance approval',
  DECISION_TIE_FAIL_CLOSED: 'Resolve conflicting agent votes to remove fail-closed tie',
  DECISION_ESCALATED: 'Manual escalation required before closure can proceed',
  DECISION_NO_CONTRIBUTIONS: 'Provide at least one decision contribution for final arbitration',
  HARD_GATE_SECRET_POLICY_VIOLATION: 'Remove secrets exposure operation from invocation before rerun',
  HARD_GATE_AUTH_POLICY_VIOLATION: 'Remove auth/authz mutation operation from invocation before rerun',
  HARD_GATE_GIT_HISTORY_REWRITE_FORBIDDEN: 'Remove git history rewrite operation from invocation before rerun',
  HARD_GATE_INFRA_DESTRUCTIVE_OPERATION: 'Remove destructive infrastructure operation from invocation before rerun',
};

export const FAILED_RUN_ACTION = 'Inspect failed stage execution and remediate before rerun';

export interface RunOutcomeFields {
  run_id: string;
  terminal_state: TerminalState | null;
  blocked_reason_codes?: string[] | undefined;
  reviewer_next_steps?: string[] | undefined;
}

/** The reviewer's steps as they are; else one action per blocked code; else, for a failed run, one. */
export function recommendedActions(outcome: RunOutcomeFields): string[] {
  const steps = outcome.reviewer_next_steps ?? [];
  if (steps.length > 0) return [...steps];
  const actions: string[] = [];
  for (const code of outcome.blocked_reason_codes ?? []) {
    const action = Object.hasOwn(ACTIONS, code) ? ACTIONS[code]! : `Resolve blocked reason: ${code}`;
    if (!actions.includes(action)) actions.push(action);
  }
  if (actions.length === 0 && outcome.terminal_state === 'failed') actions.push(FAILED_RUN_ACTION);
  return actions;
}

export function nextActionsOf(outcome: RunOutcomeFields, delta: VersioningDelta | null, nowMs = Date.now()): NextActions {
  return {
    run_id: outcome.run_id,
    terminal_state: outcome.terminal_state,
    blocked_reason_codes: [...(outcome.blocked_reason_codes ?? [])],
    reviewer_next_steps: [...(outcome.reviewer_next_steps ?? [])],
    recommended_actions: recommendedActions(outcome),
    versioning_delta: delta,
    generated_at_unix_secs: Math.floor(nowMs / 1000),
  };
}

/** Atomic (temp file, fsync, rename); a failure is the run's failure, in one line naming the file. */
export function writeNextActions(path: string, actions: NextActions): void {
  try {
    writeFileDurably(path, `${JSON.stringify(actions, null, 2)}\n`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new OrchestratorError(`Failed to write next actions artifact ${path}: ${code}`, EXIT.failed);
  }
}

/** The previous run's next actions, or null when there are none (or they cannot be read). */
export function readNextActions(path: string): NextActions | null {
  try {
    const parsed = nextActionsSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

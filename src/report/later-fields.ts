/**
 * The report fields of V0's later contract, written once any later flag is given (all of them,
 * `[]` or `null` where unused, so that readers of V0's later reports can read ours), plus the loop
 * counters this project adds (`loops`).
 */
import * as z from 'zod/mini';
import type { LoopState } from '../../machines/loops.js';

const anyList = () => z.optional(z.array(z.unknown()));
const nullable = () => z.optional(z.nullable(z.unknown()));

/** Optional in the schema: a seed run's report has none of them. */
export const laterReportShape = {
  gate_decisions: z.optional(z.array(z.object({ gate: z.string(), status: z.string(), passed: z.boolean(), reason_code: z.nullable(z.string()) }))),
  hard_gate_results: z.optional(z.array(z.object({ id: z.string(), passed: z.boolean(), reason_code: z.nullable(z.string()) }))),
  blocked_reason_codes: z.optional(z.array(z.string())),
  reviewer_next_steps: z.optional(z.array(z.string())),
  reviewer_verdicts: anyList(),
  review_ensemble_result: nullable(),
  final_decision: nullable(),
  decision_confidence: nullable(),
  decision_rationale_codes: anyList(),
  decision_contributions: anyList(),
  decision_threshold: nullable(),
  decision_reliability_factors: anyList(),
  decision_reliability_updates: anyList(),
  adaptive_policy_decisions: z.optional(
    z.array(
      z.object({ action: z.string(), reason_code: z.string(), trigger_signature: z.string(), previous_value: z.int(), new_value: z.int() }),
    ),
  ),
  auto_fix_attempts: anyList(),
  provenance_records: anyList(),
  provenance_schema_version: z.optional(z.string()),
  escalation_cases: anyList(),
  rollout_steps: anyList(),
  rollback_decision: nullable(),
  pr_risk_breakdown: nullable(),
  planner_path_record: nullable(),
  risk_tier: nullable(),
  risk_signals: anyList(),
  /** This project's: where the loops stand (attempt and cycle counts, budgets after adaptation). */
  loops: z.optional(
    z.object({
      execution_attempt: z.int(),
      execution_max_iterations: z.int(),
      remediation_cycle: z.int(),
      remediation_max_cycles: z.int(),
    }),
  ),
};

/** Only with --autonomous-loop: the loop's runs, each ended short of done, and why it stopped. */
export const autonomousReportShape = {
  autonomous_loop: z.optional(
    z.object({
      run: z.int(),
      max_runs: z.int(),
      stop_reason: z.nullable(z.string()),
      runs: z.array(
        z.object({ run: z.int(), terminal_state: z.string(), failure_signature: z.string(), noop_signature: z.nullable(z.string()), elapsed_ms: z.int() }),
      ),
    }),
  ),
};

export function autonomousFieldsOf(loops: LoopState): z.infer<typeof autonomousReportShape.autonomous_loop> {
  const state = loops.autonomous;
  const settings = loops.settings.autonomous;
  if (!state || !settings) return undefined;
  return { run: state.run, max_runs: settings.maxRuns, stop_reason: state.stopReason, runs: state.runs };
}

export type LaterReportFields = { [K in keyof typeof laterReportShape]: z.infer<(typeof laterReportShape)[K]> };

export function laterFieldsOf(loops: LoopState): Required<LaterReportFields> {
  return {
    gate_decisions: loops.gateDecisions,
    hard_gate_results: loops.hardGateResults,
    blocked_reason_codes: loops.blockedReasonCodes,
    reviewer_next_steps: loops.reviewerNextSteps,
    reviewer_verdicts: [],
    review_ensemble_result: null,
    final_decision: null,
    decision_confidence: null,
    decision_rationale_codes: [],
    decision_contributions: [],
    decision_threshold: null,
    decision_reliability_factors: [],
    decision_reliability_updates: [],
    adaptive_policy_decisions: loops.adaptiveDecisions,
    auto_fix_attempts: [],
    provenance_records: [],
    provenance_schema_version: '1',
    escalation_cases: [],
    rollout_steps: [],
    rollback_decision: null,
    pr_risk_breakdown: null,
    planner_path_record: null,
    risk_tier: null,
    risk_signals: [],
    loops: {
      execution_attempt: loops.executionAttempt,
      execution_max_iterations: loops.settings.executionMaxIterations,
      remediation_cycle: loops.remediationCycle,
      remediation_max_cycles: loops.settings.remediationMaxCycles,
    },
  };
}

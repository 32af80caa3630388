/**
 * The report fields of V0's later contract, written once any later flag is given (all of them,
 * `[]` or `null` where unused, so that readers of V0's later reports can read ours), plus the loop
 * counters this project adds (`loops`).
 */
import * as z from 'zod/mini';
import { VOTES } from '../../machines/decisions.js';
import { type LoopState, prRiskOn, rationaleCodesOf, validationFailuresOf } from '../../machines/loops.js';
import { type PrRiskBreakdown, prRiskOf } from '../../machines/pr-risk.js';
import { RISK_TIERS } from '../../machines/risk-tier.js';
import type { Stage } from '../../machines/stages.js';
import { PROVENANCE_SCHEMA_VERSION, type ProvenanceRecord, provenanceRecordsOf } from './provenance.js';
import { decisionContributionSchema, reviewerVerdictSchema } from '../config/later.js';

const anyList = () => z.optional(z.array(z.unknown()));
const nullable = () => z.optional(z.nullable(z.unknown()));

/** Optional in the schema: a seed run's report has none of them. */
export const laterReportShape = {
  gate_decisions: z.optional(z.array(z.object({ gate: z.string(), status: z.string(), passed: z.boolean(), reason_code: z.nullable(z.string()) }))),
  hard_gate_results: z.optional(z.array(z.object({ id: z.string(), passed: z.boolean(), reason_code: z.nullable(z.string()) }))),
  blocked_reason_codes: z.optional(z.array(z.string())),
  reviewer_next_steps: z.optional(z.array(z.string())),
  reviewer_verdicts: z.optional(z.array(reviewerVerdictSchema)),
  review_ensemble_result: z.optional(z.nullable(z.object({ passed: z.boolean(), confidence: z.int(), reason_codes: z.array(z.string()) }))),
  final_decision: z.optional(z.nullable(z.enum(VOTES))),
  decision_confidence: z.optional(z.nullable(z.int())),
  decision_rationale_codes: z.optional(z.array(z.string())),
  decision_contributions: z.optional(z.array(decisionContributionSchema)),
  decision_threshold: z.optional(z.nullable(z.int())),
  decision_reliability_factors: z.optional(
    z.array(
      z.object({
        contributor_id: z.string(),
        capability: z.string(),
        reliability_score: z.int(),
        reliability_factor: z.int(),
        base_score: z.int(),
        adjusted_score: z.int(),
      }),
    ),
  ),
  decision_reliability_updates: z.optional(
    z.array(z.object({ contributor_id: z.string(), capability: z.string(), previous_score: z.int(), new_score: z.int(), reason_code: z.string() })),
  ),
  adaptive_policy_decisions: z.optional(
    z.array(
      z.object({ action: z.string(), reason_code: z.string(), trigger_signature: z.string(), previous_value: z.int(), new_value: z.int() }),
    ),
  ),
  auto_fix_attempts: z.optional(
    z.array(
      z.object({
        attempt_number: z.int(),
        autofix_bin: z.string(),
        exit_code: z.nullable(z.int()),
        status: z.enum(['applied', 'failed', 'spawn_failed']),
        started_at_unix_secs: z.int(),
        duration_ms: z.number(),
        reason_code: z.string(),
      }),
    ),
  ),
  provenance_records: z.optional(
    z.array(
      z.object({
        id: z.string(),
        event_type: z.string(),
        parent_ids: z.array(z.string()),
        reason_codes: z.array(z.string()),
        artifact_refs: z.array(z.string()),
        timestamp_unix_secs: z.int(),
      }),
    ),
  ),
  provenance_schema_version: z.optional(z.string()),
  escalation_cases: z.optional(
    z.array(
      z.object({
        id: z.string(),
        trigger_code: z.string(),
        severity: z.enum(['sev1', 'sev2', 'sev3']),
        required_actions: z.array(z.string()),
        context_artifacts: z.array(z.string()),
      }),
    ),
  ),
  rollout_steps: anyList(),
  rollback_decision: nullable(),
  pr_risk_breakdown: z.optional(
    z.nullable(
      z.object({
        total_score: z.int(),
        factors: z.array(z.object({ name: z.string(), score: z.int(), rationale: z.string() })),
        eligible_for_auto_merge: z.boolean(),
      }),
    ),
  ),
  planner_path_record: nullable(),
  risk_tier: z.optional(z.nullable(z.enum(RISK_TIERS))),
  risk_signals: z.optional(z.array(z.object({ code: z.string(), source: z.string(), value: z.string() }))),
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

/** Where the run stands in the report: what provenance and the PR risk are built from. */
export interface RunEnd {
  runId: string;
  transitions: readonly { to_stage: Stage; timestamp_unix_secs: number }[];
  terminal: 'done' | 'blocked' | 'failed' | 'timeout' | null;
  /** The stage and status of the failure that ended the run, if one did. */
  failure: { stage: Stage; status: string } | null;
  startedAtSecs: number;
  endedAtSecs: number;
}

export function laterFieldsOf(loops: LoopState, end: RunEnd): Required<LaterReportFields> {
  const { decision } = loops;
  return {
    gate_decisions: loops.gateDecisions,
    hard_gate_results: loops.hardGateResults,
    blocked_reason_codes: loops.blockedReasonCodes,
    reviewer_next_steps: loops.reviewerNextSteps,
    // As V0: the verdicts once the ensemble weighed them; the decision's fields once it was taken.
    reviewer_verdicts: loops.reviewEnsemble ? (loops.settings.reviewerVerdicts ?? []) : [],
    review_ensemble_result: loops.reviewEnsemble ?? null,
    final_decision: decision?.final_decision ?? null,
    decision_confidence: decision?.decision_confidence ?? null,
    decision_rationale_codes: rationaleCodesOf(loops),
    decision_contributions: decision?.decision_contributions ?? [],
    decision_threshold: decision?.decision_threshold ?? null,
    decision_reliability_factors: decision?.decision_reliability_factors ?? [],
    decision_reliability_updates: decision?.decision_reliability_updates ?? [],
    adaptive_policy_decisions: loops.adaptiveDecisions,
    auto_fix_attempts: loops.autofixAttempts ?? [],
    provenance_records: provenanceOf(loops, end),
    provenance_schema_version: PROVENANCE_SCHEMA_VERSION,
    escalation_cases: [],
    rollout_steps: [],
    rollback_decision: null,
    pr_risk_breakdown: prRiskBreakdownOf(loops, end),
    planner_path_record: null,
    risk_tier: loops.settings.riskTier?.tier ?? null,
    risk_signals: loops.settings.riskTier?.signals ?? [],
    loops: {
      execution_attempt: loops.executionAttempt,
      execution_max_iterations: loops.settings.executionMaxIterations,
      remediation_cycle: loops.remediationCycle,
      remediation_max_cycles: loops.settings.remediationMaxCycles,
    },
  };
}

/** Only with the gate flags (V0's provenance is always on, and mostly repeats `transitions`). */
function provenanceOf(loops: LoopState, end: RunEnd): ProvenanceRecord[] {
  if (loops.settings.gates === null) return [];
  return provenanceRecordsOf({
    runId: end.runId,
    startedAtSecs: end.startedAtSecs,
    transitions: end.transitions,
    gateDecisions: loops.gateDecisions,
    decisionReached: loops.decision !== undefined || loops.closureReached === true,
    decisionCodes: loops.decision?.decision_rationale_codes ?? [],
    terminal: end.terminal,
    blockedReasonCodes: loops.blockedReasonCodes,
    endedAtSecs: end.endedAtSecs,
  });
}

/** As scored in `pr_risk` for a run that passed closure; else scored on how the run ended. */
function prRiskBreakdownOf(loops: LoopState, end: RunEnd): PrRiskBreakdown | null {
  if (!prRiskOn(loops)) return null;
  if (loops.prRisk) return loops.prRisk;
  const validationFailed = end.failure?.stage === 'validation' && ['failed', 'timeout', 'spawn_failed'].includes(end.failure.status);
  return prRiskOf(
    {
      failingGates: loops.gateDecisions.filter((d) => !d.passed).length,
      decisionConfidence: loops.decision?.decision_confidence ?? null,
      terminal: end.terminal,
      blockedReasonCodes: loops.blockedReasonCodes,
      validationFailures: validationFailuresOf(loops, validationFailed),
    },
    loops.settings.prRisk!.threshold,
  );
}

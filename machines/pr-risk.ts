/**
 * V0's PR risk (`pr_risk.rs`): a score from the run's gates, decision, end, hard gates and
 * validation failures, and whether it is low enough to merge on its own. Pure; nothing is merged.
 */

export const DEFAULT_PR_RISK_THRESHOLD = 40;
export const PR_RISK_ELIGIBLE_FOR_AUTO_MERGE = 'PR_RISK_ELIGIBLE_FOR_AUTO_MERGE';
export const PR_RISK_ABOVE_THRESHOLD = 'PR_RISK_ABOVE_THRESHOLD';

/** V0 counts these codes (the fail-closed gates' own) for `hard_gate_status`. */
const HARD_GATE_STATUS_CODES: readonly string[] = ['GATE_POLICY_DENIED_OR_UNKNOWN', 'GATE_CI_NOT_SUCCESS', 'GATE_REVIEW_NOT_APPROVED'];

export interface PrRiskSettings {
  /** `--pr-risk-threshold` (0..1000, default 40). */
  threshold: number;
  /** `--auto-merge-on-eligible`: a done run above the threshold ends blocked. */
  autoMerge: boolean;
}

export interface PrRiskFactor {
  name: 'gate_quality' | 'decision_confidence' | 'risk_tier' | 'hard_gate_status' | 'test_stability';
  score: number;
  rationale: string;
}

export interface PrRiskBreakdown {
  total_score: number;
  factors: PrRiskFactor[];
  eligible_for_auto_merge: boolean;
}

/** What the score is computed from: what the report says at the run's end. */
export interface PrRiskInput {
  failingGates: number;
  decisionConfidence: number | null;
  terminal: 'done' | 'blocked' | 'failed' | 'timeout' | null;
  blockedReasonCodes: readonly string[];
  /** Validation records that failed, timed out or could not start. */
  validationFailures: number;
}

export function prRiskOf(input: PrRiskInput, threshold: number): PrRiskBreakdown {
  const confidence = input.decisionConfidence;
  const confidenceScore = confidence === null || confidence >= 80 ? 0 : confidence >= 60 ? 8 : confidence >= 40 ? 16 : 24;
  const [tierScore, tier] = input.terminal === 'done' ? [0, 'low'] : input.terminal === 'blocked' ? [8, 'medium'] : [16, 'high'];
  const hardBlocked = input.blockedReasonCodes.some((code) => HARD_GATE_STATUS_CODES.includes(code));
  const failures = input.validationFailures;
  const factors: PrRiskFactor[] = [
    { name: 'gate_quality', score: input.failingGates * 12, rationale: `${input.failingGates} gate(s) non-passing` },
    { name: 'decision_confidence', score: confidenceScore, rationale: `decision confidence: ${confidence ?? 'none'}` },
    { name: 'risk_tier', score: tierScore, rationale: `risk tier: ${tier}` },
    { name: 'hard_gate_status', score: hardBlocked ? 12 : 0, rationale: hardBlocked ? 'hard gates blocked' : 'hard gates clear' },
    { name: 'test_stability', score: failures === 0 ? 0 : failures < 3 ? 6 : 12, rationale: `${failures} validation failure(s)` },
  ];
  const total = factors.reduce((sum, factor) => sum + factor.score, 0);
  return { total_score: total, factors, eligible_for_auto_merge: total <= threshold };
}

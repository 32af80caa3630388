/**
 * The review ensemble and the final decision (V0's later contract): reviewers' verdicts weighed
 * into a pass or a block, and contributors' votes weighed, by their reliability, into proceed,
 * block or escalate. Pure: the inputs come with the machine's input, the results are data the
 * report copies. Scoring, ties and codes as upstream's `review_ensemble.rs` and
 * `decision_aggregator.rs`.
 */

export const VOTES = ['proceed', 'block', 'escalate'] as const;
export type Vote = (typeof VOTES)[number];

export interface DecisionContribution {
  contributor_id: string;
  capability: string;
  vote: Vote;
  confidence: number;
  weight: number;
  reason_codes: string[];
  artifact_refs: string[];
}

export interface ReliabilityInput {
  contributor_id: string;
  capability: string;
  score: number;
}

export interface DecisionSettings {
  contributions: DecisionContribution[];
  reliability: ReliabilityInput[];
  /** `--decision-threshold`: the confidence a `proceed` needs (default 70). */
  threshold: number;
  /** `--decision-require-contributions`: decide (and block) even with no contribution. */
  requireContributions: boolean;
  /** From the long-horizon memory (`--memory-path`): used where no explicit reliability is given. */
  memoryReliability?: ReliabilityInput[];
}

export const DEFAULT_DECISION_THRESHOLD = 70;

export interface ReliabilityFactor {
  contributor_id: string;
  capability: string;
  reliability_score: number;
  reliability_factor: number;
  base_score: number;
  adjusted_score: number;
}

export interface ReliabilityUpdate {
  contributor_id: string;
  capability: string;
  previous_score: number;
  new_score: number;
  reason_code: 'RELIABILITY_REWARD_ALIGNMENT' | 'RELIABILITY_PENALIZE_DIVERGENCE';
}

export interface DecisionSummary {
  final_decision: Vote;
  decision_confidence: number;
  decision_rationale_codes: string[];
  decision_contributions: DecisionContribution[];
  decision_threshold: number;
  decision_reliability_factors: ReliabilityFactor[];
  decision_reliability_updates: ReliabilityUpdate[];
}

/** The rationale codes that block the run (they also go into `blocked_reason_codes`). */
export const BLOCKING_DECISION_CODES = ['DECISION_CONFIDENCE_BELOW_THRESHOLD', 'DECISION_TIE_FAIL_CLOSED', 'DECISION_ESCALATED', 'DECISION_NO_CONTRIBUTIONS'];

const COLD_START = 50;

function reliabilityOf(contribution: DecisionContribution, inputs: readonly ReliabilityInput[]): number | undefined {
  return inputs.find((input) => input.contributor_id === contribution.contributor_id && input.capability === contribution.capability)?.score;
}

/** Each contribution scores confidence × weight × (50 + reliability); the highest total wins, ties fail closed. */
export function decide(settings: DecisionSettings, contributions: readonly DecisionContribution[]): DecisionSummary {
  const threshold = settings.threshold;
  if (contributions.length === 0) {
    return {
      final_decision: 'block',
      decision_confidence: 0,
      decision_rationale_codes: ['DECISION_NO_CONTRIBUTIONS'],
      decision_contributions: [],
      decision_threshold: threshold,
      decision_reliability_factors: [],
      decision_reliability_updates: [],
    };
  }
  const tally = Object.fromEntries(VOTES.map((vote) => [vote, { score: 0, maxConfidence: 0, count: 0 }])) as Record<Vote, { score: number; maxConfidence: number; count: number }>;
  let weighted = false;
  let coldStart = false;
  let fromMemory = false;
  const memory = settings.memoryReliability ?? [];
  const factors = contributions.map((contribution): ReliabilityFactor => {
    const explicit = reliabilityOf(contribution, settings.reliability);
    const remembered = explicit === undefined ? reliabilityOf(contribution, memory) : undefined;
    const score = explicit ?? remembered ?? COLD_START;
    // As upstream: an explicit score of exactly 50 counts as a cold start.
    if (remembered !== undefined) fromMemory = true;
    else if (score === COLD_START) coldStart = true;
    else weighted = true;
    const factor = COLD_START + score;
    const base = contribution.confidence * contribution.weight;
    const entry = tally[contribution.vote];
    entry.score += base * factor;
    entry.count += 1;
    entry.maxConfidence = Math.max(entry.maxConfidence, contribution.confidence);
    return { contributor_id: contribution.contributor_id, capability: contribution.capability, reliability_score: score, reliability_factor: factor, base_score: base, adjusted_score: base * factor };
  });

  const codes: string[] = [];
  let candidates = VOTES.map((vote) => ({ vote, ...tally[vote] }));
  for (const key of ['score', 'maxConfidence', 'count'] as const) {
    const best = Math.max(...candidates.map((c) => c[key]));
    candidates = candidates.filter((c) => c[key] === best);
  }
  if (candidates.length > 1) {
    codes.push('DECISION_TIE_FAIL_CLOSED');
    // Fail closed: block before escalate before proceed.
    const rank: Record<Vote, number> = { block: 0, escalate: 1, proceed: 2 };
    candidates.sort((a, b) => rank[a.vote] - rank[b.vote]);
  }
  if (weighted) codes.push('DECISION_RELIABILITY_WEIGHTED');
  if (coldStart) codes.push('DECISION_RELIABILITY_COLD_START');
  if (fromMemory) codes.push('MEMORY_SIGNAL_APPLIED');

  const winner = candidates[0]!;
  const total = VOTES.reduce((sum, vote) => sum + tally[vote].score, 0);
  const confidence = total === 0 ? 0 : Math.floor((winner.score * 100 + Math.floor(total / 2)) / total);
  let final: Vote = winner.vote;
  if (final === 'proceed' && confidence < threshold) {
    final = 'block';
    codes.push('DECISION_CONFIDENCE_BELOW_THRESHOLD');
  }
  if (final === 'escalate') codes.push('DECISION_ESCALATED');
  return {
    final_decision: final,
    decision_confidence: confidence,
    decision_rationale_codes: codes,
    decision_contributions: [...contributions],
    decision_threshold: threshold,
    decision_reliability_factors: factors,
    decision_reliability_updates: contributions.map((contribution) => reliabilityUpdate(contribution, final, [...settings.reliability, ...memory])),
  };
}

/** A contributor that voted with the decision gains 2 (3 when confident, >= 80), one that did not loses as much. */
function reliabilityUpdate(contribution: DecisionContribution, final: Vote, inputs: readonly ReliabilityInput[]): ReliabilityUpdate {
  const previous = reliabilityOf(contribution, inputs) ?? COLD_START;
  const aligned = contribution.vote === final;
  const step = contribution.confidence >= 80 ? 3 : 2;
  const delta = aligned ? step : -step;
  return {
    contributor_id: contribution.contributor_id,
    capability: contribution.capability,
    previous_score: previous,
    new_score: Math.min(100, Math.max(0, previous + delta)),
    reason_code: aligned ? 'RELIABILITY_REWARD_ALIGNMENT' : 'RELIABILITY_PENALIZE_DIVERGENCE',
  };
}

// --- the review ensemble ------------------------------------------------------------------------

export interface ReviewerVerdict {
  reviewer_id: string;
  specialty: string;
  verdict: 'approve' | 'reject';
  confidence: number;
  weight: number;
  reason_codes: string[];
}

export interface ReviewEnsembleResult {
  passed: boolean;
  confidence: number;
  reason_codes: string[];
}

export const MANDATORY_SPECIALTIES = ['correctness', 'security', 'maintainability'] as const;
const MIN_APPROVAL_CONFIDENCE = 70;

/** The reviewer next steps V0 adds for each mandatory specialty no verdict came from. */
export function missingSpecialtySteps(verdicts: readonly ReviewerVerdict[]): string[] {
  return MANDATORY_SPECIALTIES.filter((specialty) => !verdicts.some((v) => v.specialty === specialty)).map(
    (specialty) => `No verdict from mandatory specialty: ${specialty}`,
  );
}

/** A security rejection blocks outright; otherwise confidence × weight decides, a tie or a weak approval blocks. */
export function reviewEnsemble(verdicts: readonly ReviewerVerdict[]): ReviewEnsembleResult {
  if (verdicts.length === 0) return { passed: false, confidence: 0, reason_codes: ['REVIEW_ENSEMBLE_TIE_FAIL_CLOSED'] };
  if (verdicts.some((v) => v.specialty === 'security' && v.verdict === 'reject')) {
    return { passed: false, confidence: 100, reason_codes: ['REVIEW_ENSEMBLE_SECURITY_REJECTION'] };
  }
  let approve = 0;
  let reject = 0;
  for (const v of verdicts) {
    if (v.verdict === 'approve') approve += v.confidence * v.weight;
    else reject += v.confidence * v.weight;
  }
  const total = approve + reject;
  if (approve === reject) return { passed: false, confidence: total === 0 ? 0 : 50, reason_codes: ['REVIEW_ENSEMBLE_TIE_FAIL_CLOSED'] };
  const passed = approve > reject;
  const confidence = Math.min(100, Math.floor(((passed ? approve : reject) * 100 + Math.floor(total / 2)) / total));
  if (passed && confidence < MIN_APPROVAL_CONFIDENCE) return { passed: false, confidence, reason_codes: ['REVIEW_ENSEMBLE_CONFIDENCE_BELOW_THRESHOLD'] };
  return { passed, confidence, reason_codes: [] };
}

/** A passing ensemble takes part in the decision as one contribution of weight 100 (V0). */
export function ensembleContribution(result: ReviewEnsembleResult): DecisionContribution {
  return {
    contributor_id: 'review_ensemble',
    capability: 'review',
    vote: result.passed ? 'proceed' : 'block',
    confidence: result.confidence,
    weight: 100,
    reason_codes: [...result.reason_codes],
    artifact_refs: [],
  };
}

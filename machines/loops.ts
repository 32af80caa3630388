/**
 * Loops and gates (V0's later contract): the execution attempts, the reviewer's remediation
 * cycles, the fail-closed gates and the hard-gate deny list. Pure: the settings come in with the
 * machine's input, the counters live in its context (and so in the checkpoint), the decisions are
 * data the report copies. Nothing here reads a clock, a file or the environment.
 */
import * as decisions from './decisions.js';
import type { DecisionSettings, DecisionSummary, ReviewEnsembleResult, ReviewerVerdict } from './decisions.js';
import type { Stage } from './stages.js';
import type { DeliverySettings } from './delivery.js';
import { RISK_TIER_HIGH_BLOCKED, type RiskTierSettings, riskTierBlocks } from './risk-tier.js';
import { PR_RISK_ABOVE_THRESHOLD, PR_RISK_ELIGIBLE_FOR_AUTO_MERGE, type PrRiskBreakdown, type PrRiskSettings, prRiskOf } from './pr-risk.js';

/** V0's adaptive policy: each budget goes up by one, once per run, while under its cap. */
export const EXECUTION_ITERATIONS_CAP = 5;
export const REMEDIATION_CYCLES_CAP = 3;

export const POLICY_STATUSES = ['allow', 'deny', 'unknown'] as const;
export const CI_STATUSES = ['success', 'pending', 'failure', 'missing'] as const;
export const REVIEW_STATUSES = ['approved', 'changes_requested', 'missing'] as const;

export interface GateInputs {
  policy: (typeof POLICY_STATUSES)[number];
  ci: (typeof CI_STATUSES)[number];
  review: (typeof REVIEW_STATUSES)[number];
}

export interface GateDecision {
  gate: 'policy' | 'ci' | 'review';
  status: string;
  passed: boolean;
  reason_code: string | null;
}

export const HARD_GATE_CATEGORIES = ['secrets', 'auth', 'git_history', 'infra_destructive'] as const;
export type HardGateCategory = (typeof HARD_GATE_CATEGORIES)[number];

export interface HardGateRule {
  id: string;
  category: HardGateCategory;
  pattern: string;
  mode: 'match_any_invocation_arg';
}

export interface HardGateResult {
  id: string;
  passed: boolean;
  reason_code: string | null;
}

export const HARD_GATE_EXTERNAL_RULES_LOAD_FAILED = 'HARD_GATE_EXTERNAL_RULES_LOAD_FAILED';

const HARD_GATE_CODES: Record<HardGateCategory, string> = {
  secrets: 'HARD_GATE_SECRET_POLICY_VIOLATION',
  auth: 'HARD_GATE_AUTH_POLICY_VIOLATION',
  git_history: 'HARD_GATE_GIT_HISTORY_REWRITE_FORBIDDEN',
  infra_destructive: 'HARD_GATE_INFRA_DESTRUCTIVE_OPERATION',
};

export const BUILTIN_HARD_GATES: readonly HardGateRule[] = (
  [
    ['builtin-secrets-1', 'secrets', 'dump-secrets'],
    ['builtin-secrets-2', 'secrets', 'export-credentials'],
    ['builtin-auth-1', 'auth', 'modify-sudoers'],
    ['builtin-auth-2', 'auth', 'chmod-auth'],
    ['builtin-git-history-1', 'git_history', '--force-push'],
    ['builtin-git-history-2', 'git_history', 'filter-branch'],
    ['builtin-infra-1', 'infra_destructive', 'terraform-destroy'],
    ['builtin-infra-2', 'infra_destructive', 'drop-database'],
  ] as const
).map(([id, category, pattern]) => ({ id, category, pattern, mode: 'match_any_invocation_arg' as const }));

/** A native validation command the planner asked for (V0's `validation_commands[]`). */
export interface ValidationCommand {
  command: string;
  args: string[];
}

/** `commands` added to `existing` in order, leaving out any with the same command and args (V0). */
export function mergeValidationCommands(existing: readonly ValidationCommand[], commands: readonly ValidationCommand[]): ValidationCommand[] {
  const merged = [...existing];
  for (const command of commands) {
    const same = (other: ValidationCommand) => other.command === command.command && JSON.stringify(other.args) === JSON.stringify(command.args);
    if (!merged.some(same)) merged.push(command);
  }
  return merged;
}

/** What the run was started with; kept in context so that a resumed run loops the same way. */
export interface LoopSettings {
  executionMaxIterations: number;
  /** `--execution-max-iterations` was given: its budget may adapt once. */
  executionAdaptive: boolean;
  remediationMaxCycles: number;
  /** `--reviewer-remediation-max-cycles` was given: its budget may adapt once. */
  remediationAdaptive: boolean;
  /** A reviewer and an executor are configured: only then does a failed validation loop back. */
  remediationPossible: boolean;
  /** The planner's (or the plan's) steps, used when the reviewer gave none. */
  plannedRemediationSteps: string[];
  /** The planner's native validation commands, run after the command line's (without a reviewer). */
  plannedValidationCommands: ValidationCommand[];
  /** Null: the gates are not evaluated (no gate flag given). */
  gates: GateInputs | null;
  /** Null: no hard gates. `tokens` are the programs and arguments the run would start. */
  hardGates: { rules: HardGateRule[]; tokens: string[]; loadFailed: boolean } | null;
  /** `--planning-context-artifact`: the repository context is written after planning's programs. */
  planningContext?: boolean;
  /** `--autonomous-loop`: the run starts over after it ends short of done, until a cap stops it. */
  autonomous?: AutonomousSettings | null;
  /** `--reviewer-verdict`s: the review ensemble decides after the gates (none: no ensemble). */
  reviewerVerdicts?: ReviewerVerdict[];
  /** `--decision-*`: the final decision after the ensemble (absent: V0's defaults, no contribution). */
  decision?: DecisionSettings;
  /** `--autofix-enabled --autofix-bin`: a failed validation runs the fixer, then validation again. */
  autofix?: AutofixSettings | null;
  /** With the gate flags or a `--pr-risk-*`/`--auto-merge-*` flag: the PR risk, scored in `pr_risk` after closure. */
  prRisk?: PrRiskSettings | null;
  /** `--risk-tier-override` or `--risk-allow-high`: the run's risk tier, decided before the hard gates. */
  riskTier?: RiskTierSettings | null;
  /** `--delivery-enabled`: the delivery's commands after closure, run in `delivery_step` (a dry run: recorded in `delivery`). */
  delivery?: DeliverySettings | null;
}

export interface AutonomousSettings {
  maxRuns: number;
  maxDurationMs: number;
  sameErrorLimit: number;
}

/** How a run of the autonomous loop ended short of done (done ends the loop at once). */
export type LoopRunOutcome = 'failed' | 'blocked' | 'timeout';

/** What the runner measured when a loop run ended (the clock, the records, the repository). */
export interface LoopRunReport {
  /** Since the loop began. */
  elapsedMs: number;
  /** `Some(<Outcome>)|<blocked codes>|<commands of failed records>`, V0's. */
  failureSignature: string;
  /** The failure signature with the touched files and the recommended actions, when the run changed nothing in the repository; else null. */
  noopSignature: string | null;
}

export interface AutonomousState {
  /** The run of the loop under way, 1-based. */
  run: number;
  /** How the current run ended, once it has. */
  outcome: LoopRunOutcome | null;
  failureSignature: string | null;
  failureStreak: number;
  noopSignature: string | null;
  noopStreak: number;
  /** Upstream's stop message, once the loop stops. */
  stopReason: string | null;
  /** Every ended run, for the report. */
  runs: { run: number; terminal_state: LoopRunOutcome; failure_signature: string; noop_signature: string | null; elapsed_ms: number }[];
}

export interface AutofixSettings {
  bin: string;
  args: string[];
  /** `--autofix-max-attempts` (default 3). */
  maxAttempts: number;
}

export const DEFAULT_AUTOFIX_MAX_ATTEMPTS = 3;

/** One run of the fixer, as V0 reports it; its reason code never changes (V0). */
export interface AutoFixAttempt {
  attempt_number: number;
  autofix_bin: string;
  exit_code: number | null;
  status: 'applied' | 'failed' | 'spawn_failed';
  started_at_unix_secs: number;
  duration_ms: number;
  reason_code: 'AUTOFIX_ATTEMPT_APPLIED';
}

export interface AdaptiveDecision {
  action: 'increase_execution_budget' | 'increase_remediation_cycles';
  reason_code: 'ADAPTIVE_RETRY_BUDGET_INCREASED' | 'ADAPTIVE_REMEDIATION_CYCLES_INCREASED';
  trigger_signature: string;
  previous_value: number;
  new_value: number;
}

/** The loop counters and decisions of a run. */
export interface LoopState {
  settings: LoopSettings;
  /** The current execution attempt, 1-based; starts over at each remediation cycle. */
  executionAttempt: number;
  executionAdapted: boolean;
  /** Remediation cycles started; 0 on the first pass. */
  remediationCycle: number;
  remediationAdapted: boolean;
  /** The steps handed to the executor in the current cycle. */
  remediationSteps: string[];
  /** The reviewer's last non-empty `next_step_plan`. */
  reviewerNextSteps: string[];
  adaptiveDecisions: AdaptiveDecision[];
  gateDecisions: GateDecision[];
  hardGateResults: HardGateResult[];
  blockedReasonCodes: string[];
  /** With `--autonomous-loop`: the loop's run and its stop counters. */
  autonomous?: AutonomousState;
  /** What blocked the run, if a gate, the review ensemble or the decision did. */
  blockedBy: 'risk_tier' | 'gates' | 'hard_gates' | 'review_ensemble' | 'decision' | 'pr_risk' | null;
  /** The review ensemble's result, once it decided. */
  reviewEnsemble?: ReviewEnsembleResult;
  /** The final decision, once it was taken. */
  decision?: DecisionSummary;
  /** Auto-fix attempts started (the loop's counter), and the ones that ended. */
  autofixAttempt?: number;
  autofixAttempts?: AutoFixAttempt[];
  /** Closure was entered: a run fixed by auto-fix then says it converged (V0). */
  closureReached?: boolean;
  /** The PR risk as scored after closure (the run then done), and the code it added. */
  prRisk?: PrRiskBreakdown;
  prRiskCode?: string;
  /** A real delivery: its steps that succeeded, in order (a resumed run starts at the next one). */
  delivered?: number;
}

/** A record the orchestrator itself writes (V0's synthetic `command` names); the runner adds the rest. */
export interface LoopRecord {
  stage: Stage;
  idempotency_key: string;
  command: string;
  args: string[];
  status: 'success' | 'failed';
  error: string | null;
  /** A dry run's `0` (V0); absent: no program ran (null). */
  exit_code?: number;
}

export function initialLoopState(settings: LoopSettings): LoopState {
  return {
    settings,
    executionAttempt: 1,
    executionAdapted: false,
    remediationCycle: 0,
    remediationAdapted: false,
    remediationSteps: [],
    reviewerNextSteps: [],
    adaptiveDecisions: [],
    gateDecisions: [],
    hardGateResults: [],
    blockedReasonCodes: [],
    blockedBy: null,
    ...(settings.autonomous
      ? { autonomous: { run: 1, outcome: null, failureSignature: null, failureStreak: 0, noopSignature: null, noopStreak: 0, stopReason: null, runs: [] } }
      : {}),
  };
}

// --- execution attempts -----------------------------------------------------------------------

export function attemptsLeft(loops: LoopState): boolean {
  return loops.executionAttempt < loops.settings.executionMaxIterations;
}

export function executionAdaptable(loops: LoopState): boolean {
  return loops.settings.executionAdaptive && !loops.executionAdapted && loops.settings.executionMaxIterations < EXECUTION_ITERATIONS_CAP;
}

export function nextAttempt(loops: LoopState): LoopState {
  return { ...loops, executionAttempt: loops.executionAttempt + 1 };
}

/** V0's adaptive policy: a budget grows by one, once per run; the decision is kept for the report. */
const BUDGETS = {
  execution: { setting: 'executionMaxIterations', adapted: 'executionAdapted', action: 'increase_execution_budget', reason: 'ADAPTIVE_RETRY_BUDGET_INCREASED' },
  remediation: { setting: 'remediationMaxCycles', adapted: 'remediationAdapted', action: 'increase_remediation_cycles', reason: 'ADAPTIVE_REMEDIATION_CYCLES_INCREASED' },
} as const;

function adaptBudget(loops: LoopState, kind: keyof typeof BUDGETS, signature: string): LoopState {
  const budget = BUDGETS[kind];
  const previous = loops.settings[budget.setting];
  const decision: AdaptiveDecision = {
    action: budget.action,
    reason_code: budget.reason,
    trigger_signature: signature,
    previous_value: previous,
    new_value: previous + 1,
  };
  return {
    ...loops,
    settings: { ...loops.settings, [budget.setting]: previous + 1 },
    [budget.adapted]: true,
    adaptiveDecisions: [...loops.adaptiveDecisions, decision],
  };
}

export function adaptExecution(loops: LoopState, signature: string): LoopState {
  return adaptBudget(loops, 'execution', signature);
}

/** The record of a budget spent: `<command>` with args `[<reason>, <max>]`. */
function budgetRecord(stage: Stage, key: string, command: string, reason: string, max: number, error: string): LoopRecord {
  return { stage, idempotency_key: key, command, args: [reason, String(max)], status: 'failed', error };
}

export function executionBudgetRecord(loops: LoopState): LoopRecord {
  const max = loops.settings.executionMaxIterations;
  const error = `Execution iteration budget exhausted after ${max} attempt(s)`;
  return budgetRecord('execution', 'stage:Execution:budget', 'execution.iteration_budget', 'max_iterations_exhausted', max, error);
}

// --- remediation cycles -----------------------------------------------------------------------

/** The steps a new cycle would hand to the executor: the reviewer's, else the planned ones. */
export function remediationStepsOf(loops: LoopState): string[] {
  return loops.reviewerNextSteps.length > 0 ? loops.reviewerNextSteps : loops.settings.plannedRemediationSteps;
}

/**
 * A failed validation may loop back at all: a reviewer and an executor, and steps to hand over;
 * not once auto-fix began (its loop runs validation only, as V0's).
 */
export function remediationWanted(loops: LoopState): boolean {
  return loops.settings.remediationPossible && remediationStepsOf(loops).length > 0 && (loops.autofixAttempt ?? 0) === 0;
}

export function cyclesLeft(loops: LoopState): boolean {
  return loops.remediationCycle < loops.settings.remediationMaxCycles;
}

export function remediationAdaptable(loops: LoopState): boolean {
  return loops.settings.remediationAdaptive && !loops.remediationAdapted && loops.settings.remediationMaxCycles < REMEDIATION_CYCLES_CAP;
}

export function adaptRemediation(loops: LoopState, signature: string): LoopState {
  return adaptBudget(loops, 'remediation', signature);
}

export function startCycle(loops: LoopState): LoopState {
  return { ...loops, remediationCycle: loops.remediationCycle + 1, remediationSteps: remediationStepsOf(loops), executionAttempt: 1 };
}

export function remediationBudgetRecord(loops: LoopState): LoopRecord {
  const max = loops.settings.remediationMaxCycles;
  const error = `Remediation cycle budget exhausted after ${max} cycle(s)`;
  return budgetRecord('validation', 'stage:Validation:remediation_budget', 'remediation.cycle_budget', 'max_cycles_exhausted', max, error);
}

export function adaptRecord(stage: 'execution' | 'validation', decision: AdaptiveDecision): LoopRecord {
  const title = stage === 'execution' ? 'Execution' : 'Validation';
  return {
    stage,
    idempotency_key: `stage:${title}:adaptive_policy`,
    command: `${stage}.policy.adapt`,
    args: [decision.reason_code, decision.trigger_signature, String(decision.previous_value), String(decision.new_value)],
    status: 'success',
    error: null,
  };
}

// --- gates --------------------------------------------------------------------------------------

export function gateDecisionsOf(gates: GateInputs): GateDecision[] {
  const decide = (gate: GateDecision['gate'], status: string, pass: string, code: string): GateDecision => ({
    gate,
    status,
    passed: status === pass,
    reason_code: status === pass ? null : code,
  });
  return [
    decide('policy', gates.policy, 'allow', 'GATE_POLICY_DENIED_OR_UNKNOWN'),
    decide('ci', gates.ci, 'success', 'GATE_CI_NOT_SUCCESS'),
    decide('review', gates.review, 'approved', 'GATE_REVIEW_NOT_APPROVED'),
  ];
}

export function gatesPass(loops: LoopState): boolean {
  return loops.settings.gates === null || gateDecisionsOf(loops.settings.gates).every((d) => d.passed);
}

export function withGateDecisions(loops: LoopState): LoopState {
  if (loops.settings.gates === null) return loops;
  const gateDecisions = gateDecisionsOf(loops.settings.gates);
  const failing = gateDecisions.filter((d) => !d.passed).map((d) => d.reason_code!);
  return { ...loops, gateDecisions, blockedReasonCodes: failing, blockedBy: failing.length > 0 ? 'gates' : loops.blockedBy };
}

// --- hard gates ---------------------------------------------------------------------------------

/** Every rule, passed or not: a rule fails when any token contains its pattern (case-insensitive). */
export function hardGateResultsOf(hard: NonNullable<LoopSettings['hardGates']>): HardGateResult[] {
  const tokens = hard.tokens.map((t) => t.toLowerCase());
  const results = hard.rules.map((rule) => {
    const hit = tokens.some((token) => token.includes(rule.pattern.toLowerCase()));
    return { id: rule.id, passed: !hit, reason_code: hit ? HARD_GATE_CODES[rule.category] : null };
  });
  if (hard.loadFailed) results.push({ id: 'external-rules', passed: false, reason_code: HARD_GATE_EXTERNAL_RULES_LOAD_FAILED });
  return results;
}

export function hardGatesPass(loops: LoopState): boolean {
  return loops.settings.hardGates === null || hardGateResultsOf(loops.settings.hardGates).every((r) => r.passed);
}

export function withHardGateResults(loops: LoopState): LoopState {
  if (loops.settings.hardGates === null) return loops;
  const hardGateResults = hardGateResultsOf(loops.settings.hardGates);
  const codes = [...new Set(hardGateResults.filter((r) => !r.passed).map((r) => r.reason_code!))];
  return {
    ...loops,
    hardGateResults,
    blockedReasonCodes: [...new Set([...loops.blockedReasonCodes, ...codes])],
    blockedBy: codes.length > 0 ? 'hard_gates' : loops.blockedBy,
  };
}

// --- risk tiers (risk-tier.ts) ---------------------------------------------------------------------

export function riskTierBlocked(loops: LoopState): boolean {
  return riskTierBlocks(loops.settings.riskTier);
}

/** A high tier without --risk-allow-high: blocked before anything runs (V0). */
export function withRiskTierBlock(loops: LoopState): LoopState {
  return { ...loops, blockedReasonCodes: blockedWith(loops, [RISK_TIER_HIGH_BLOCKED]), blockedBy: 'risk_tier' };
}

// --- the autonomous loop ------------------------------------------------------------------------

export function autonomousOn(loops: LoopState | undefined): boolean {
  return (loops?.settings.autonomous ?? null) !== null && loops?.autonomous !== undefined;
}

export function withRunOutcome(loops: LoopState, outcome: LoopRunOutcome): LoopState {
  return { ...loops, autonomous: { ...loops.autonomous!, outcome } };
}

/**
 * Upstream's checks after a run that did not end done, in its order: the duration, the same
 * failure signature `sameErrorLimit` times in a row, the same no-op signature twice, the runs.
 */
export function afterLoopRun(loops: LoopState, report: LoopRunReport): LoopState {
  const settings = loops.settings.autonomous!;
  const state = loops.autonomous!;
  const failureStreak = state.failureSignature === report.failureSignature ? state.failureStreak + 1 : 1;
  const noopStreak = report.noopSignature === null ? state.noopStreak : state.noopSignature === report.noopSignature ? state.noopStreak + 1 : 1;
  const stopReason =
    report.elapsedMs > settings.maxDurationMs
      ? `Autonomous loop stopped after exceeding max duration (${settings.maxDurationMs} ms)`
      : failureStreak >= settings.sameErrorLimit
        ? `Autonomous loop stopped: same failure signature repeated ${failureStreak} time(s)`
        : report.noopSignature !== null && noopStreak >= 2
          ? 'Autonomous loop stopped: no-op signature repeated'
          : state.run >= settings.maxRuns
            ? `Autonomous loop stopped: max runs reached (${settings.maxRuns})`
            : null;
  const ended = { run: state.run, terminal_state: state.outcome!, failure_signature: report.failureSignature, noop_signature: report.noopSignature, elapsed_ms: report.elapsedMs };
  return {
    ...loops,
    autonomous: {
      ...state,
      failureSignature: report.failureSignature,
      failureStreak,
      noopSignature: report.noopSignature ?? state.noopSignature,
      noopStreak,
      stopReason,
      runs: [...state.runs, ended],
    },
  };
}

/** The next run starts over from its first stage; the budgets and adaptations so far carry on. */
export function nextLoopRun(loops: LoopState): LoopState {
  const fresh = initialLoopState(loops.settings);
  return {
    ...fresh,
    executionAdapted: loops.executionAdapted,
    remediationAdapted: loops.remediationAdapted,
    adaptiveDecisions: loops.adaptiveDecisions,
    autonomous: { ...loops.autonomous!, run: loops.autonomous!.run + 1, outcome: null },
  };
}
// --- the review ensemble and the final decision (decisions.ts) ------------------------------------

function blockedWith(loops: LoopState, codes: readonly string[]): string[] {
  return [...new Set([...loops.blockedReasonCodes, ...codes])];
}

export function reviewWanted(loops: LoopState): boolean {
  return (loops.settings.reviewerVerdicts ?? []).length > 0;
}

export function withReviewEnsemble(loops: LoopState): LoopState {
  const verdicts = loops.settings.reviewerVerdicts ?? [];
  const result = decisions.reviewEnsemble(verdicts);
  return {
    ...loops,
    reviewEnsemble: result,
    reviewerNextSteps: [...loops.reviewerNextSteps, ...decisions.missingSpecialtySteps(verdicts)],
    blockedReasonCodes: blockedWith(loops, result.reason_codes),
    blockedBy: result.passed ? loops.blockedBy : 'review_ensemble',
  };
}

export function reviewPassed(loops: LoopState): boolean {
  return loops.reviewEnsemble?.passed === true;
}

export function decisionSettingsOf(loops: LoopState): DecisionSettings {
  return loops.settings.decision ?? { contributions: [], reliability: [], threshold: decisions.DEFAULT_DECISION_THRESHOLD, requireContributions: false };
}

/** The given contributions, and the review ensemble's when it passed (V0 adds it last). */
function contributionsOf(loops: LoopState): decisions.DecisionContribution[] {
  const given = decisionSettingsOf(loops).contributions;
  return loops.reviewEnsemble?.passed ? [...given, decisions.ensembleContribution(loops.reviewEnsemble)] : given;
}

/** The decision is taken with a contribution, or when contributions are required. */
export function decisionWanted(loops: LoopState): boolean {
  return contributionsOf(loops).length > 0 || decisionSettingsOf(loops).requireContributions;
}

export function withDecision(loops: LoopState): LoopState {
  const summary = decisions.decide(decisionSettingsOf(loops), contributionsOf(loops));
  const blocking = summary.decision_rationale_codes.filter((code) => decisions.BLOCKING_DECISION_CODES.includes(code));
  return {
    ...loops,
    decision: summary,
    blockedReasonCodes: blockedWith(loops, blocking),
    blockedBy: summary.final_decision === 'proceed' ? loops.blockedBy : 'decision',
  };
}

export function decisionProceeds(loops: LoopState): boolean {
  return loops.decision?.final_decision === 'proceed';
}

// --- the auto-fix loop ----------------------------------------------------------------------------

export function autofixOn(loops: LoopState): boolean {
  return (loops.settings.autofix ?? null) !== null;
}

export function autofixLeft(loops: LoopState): boolean {
  return autofixOn(loops) && (loops.autofixAttempt ?? 0) < loops.settings.autofix!.maxAttempts;
}

export function startAutofix(loops: LoopState): LoopState {
  return { ...loops, autofixAttempt: (loops.autofixAttempt ?? 0) + 1 };
}

export function withAutofixAttempt(loops: LoopState, attempt: AutoFixAttempt): LoopState {
  return { ...loops, autofixAttempts: [...(loops.autofixAttempts ?? []), attempt] };
}

/** Out of attempts: the run fails with AUTOFIX_MAX_ATTEMPTS_EXHAUSTED among its codes (V0). */
export function autofixExhausted(loops: LoopState): LoopState {
  if (!autofixOn(loops)) return loops;
  return { ...loops, blockedReasonCodes: [...loops.blockedReasonCodes, 'AUTOFIX_MAX_ATTEMPTS_EXHAUSTED'] };
}

/** The rationale codes the report shows: the decision's, and V0's convergence note for a run auto-fix fixed. */
export function rationaleCodesOf(loops: LoopState): string[] {
  const codes = loops.decision?.decision_rationale_codes ?? [];
  const converged = loops.closureReached === true && (loops.autofixAttempts ?? []).length > 0;
  const eligible = loops.prRiskCode === PR_RISK_ELIGIBLE_FOR_AUTO_MERGE ? [PR_RISK_ELIGIBLE_FOR_AUTO_MERGE] : [];
  return [...codes, ...(converged ? ['AUTOFIX_CONVERGENCE_REACHED'] : []), ...eligible];
}

// --- PR risk (pr-risk.ts) -------------------------------------------------------------------------

export function prRiskOn(loops: LoopState): boolean {
  return (loops.settings.prRisk ?? null) !== null;
}

/** Failed validation passes: each remediation cycle and fixer attempt followed one; `failedNow` the run's last. */
export function validationFailuresOf(loops: LoopState, failedNow: boolean): number {
  return loops.remediationCycle + (loops.autofixAttempts ?? []).length + (failedNow ? 1 : 0);
}

/** The score of a run that passed closure (so done), and with --auto-merge-on-eligible its verdict (V0). */
export function withPrRisk(loops: LoopState): LoopState {
  const settings = loops.settings.prRisk!;
  const prRisk = prRiskOf(
    {
      failingGates: loops.gateDecisions.filter((d) => !d.passed).length,
      decisionConfidence: loops.decision?.decision_confidence ?? null,
      terminal: 'done',
      blockedReasonCodes: loops.blockedReasonCodes,
      validationFailures: validationFailuresOf(loops, false),
    },
    settings.threshold,
  );
  if (!settings.autoMerge) return { ...loops, prRisk };
  if (prRisk.eligible_for_auto_merge) return { ...loops, prRisk, prRiskCode: PR_RISK_ELIGIBLE_FOR_AUTO_MERGE };
  return { ...loops, prRisk, prRiskCode: PR_RISK_ABOVE_THRESHOLD, blockedReasonCodes: blockedWith(loops, [PR_RISK_ABOVE_THRESHOLD]), blockedBy: 'pr_risk' };
}

export function prRiskBlocks(loops: LoopState): boolean {
  return loops.prRiskCode === PR_RISK_ABOVE_THRESHOLD;
}

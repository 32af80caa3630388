/**
 * V0's later contract, opt-in: the settings its later flags (or a plan's `loops`) give a run.
 * Present (even empty) means a later flag was given: the report then carries every later field.
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import { CI_STATUSES, HARD_GATE_CATEGORIES, POLICY_STATUSES, REVIEW_STATUSES } from '../../machines/loops.js';
import { VOTES } from '../../machines/decisions.js';
import { RISK_TIERS } from '../../machines/risk-tier.js';

const id = () => z.string();
const confidence = () => z.int().check(z.gte(0), z.lte(100));
const weight = () => z.int().check(z.gte(1), z.lte(100));
const codes = () => z._default(z.array(z.string()), []);

/** A decision contribution (`--decision-contribution contributor_id=..,capability=..,vote=..,confidence=..,weight=..`). */
export const decisionContributionSchema = z.strictObject({
  contributor_id: id(),
  capability: id(),
  vote: z.enum(VOTES),
  confidence: confidence(),
  weight: weight(),
  reason_codes: codes(),
  artifact_refs: codes(),
});

/** A reviewer's verdict (`--reviewer-verdict reviewer_id=..,specialty=..,verdict=approve|reject,confidence=..,weight=..`). */
export const reviewerVerdictSchema = z.strictObject({
  reviewer_id: id(),
  specialty: id(),
  verdict: z.enum(['approve', 'reject']),
  confidence: confidence(),
  weight: weight(),
  reason_codes: codes(),
});

/** A contributor's reliability for a capability (`--decision-reliability contributor_id=..,capability=..,score=0..100`). */
export const decisionReliabilitySchema = z.strictObject({ contributor_id: id(), capability: id(), score: confidence() });

export const laterConfigSchema = z.strictObject({
  /** `--execution-max-iterations`: attempts of the execution stage; adapts +1 once when given. */
  executionMaxIterations: z.optional(z.int().check(z.gte(1, { error: 'must be >= 1' }), z.lte(1000))),
  /** `--reviewer-remediation-max-cycles`: validation → execution cycles; adapts +1 once when given. */
  reviewerRemediationMaxCycles: z.optional(z.int().check(z.gte(0), z.lte(1000))),
  /** V0's one-time +1 of each budget given (caps 5 and 3); false keeps the budgets exact. */
  adaptive: z._default(z.boolean(), true),
  /** The validation step whose JSON artifacts hold the reviewer's `next_step_plan`. */
  reviewerStep: z.optional(z.string().check(z.minLength(1))),
  /** Steps handed to the executor when the reviewer gives none (the planner's `remediation_steps`). */
  remediationSteps: z._default(z.array(z.string()), []),
  policyStatus: z.optional(z.enum(POLICY_STATUSES)),
  ciStatus: z.optional(z.enum(CI_STATUSES)),
  reviewStatus: z.optional(z.enum(REVIEW_STATUSES)),
  /** `--reviewer-verdict`: the review ensemble weighs them after the gates. */
  reviewerVerdicts: z._default(z.array(reviewerVerdictSchema), []),
  /** `--decision-contribution`: votes weighed into the final decision after the review ensemble. */
  decisionContributions: z._default(z.array(decisionContributionSchema), []),
  /** `--decision-reliability`: a contributor's reliability for a capability (default 50). */
  decisionReliability: z._default(z.array(decisionReliabilitySchema), []),
  /** `--decision-threshold`: the confidence a `proceed` needs (default 70). */
  decisionThreshold: z.optional(z.int().check(z.gte(0), z.lte(100, { error: 'must be <= 100' }))),
  /** `--decision-require-contributions`: decide, and block, even with no contribution. */
  decisionRequireContributions: z.optional(z.boolean()),
  /** `--memory-path`: the long-horizon memory (JSON) whose contributors' scores feed the decision. */
  memoryPath: z.optional(z.string().check(z.minLength(1))),
  /** `--memory-max-entries` (default 500), `--memory-decay-window-runs` (default 100). */
  memoryMaxEntries: z.optional(z.int().check(z.gte(0))),
  memoryDecayWindowRuns: z.optional(z.int().check(z.gte(0))),
  /** `--autofix-enabled`: with `autofixBin`, a failed validation runs the fixer, then validation again. */
  autofixEnabled: z.optional(z.boolean()),
  /** `--autofix-bin` and `--autofix-arg`: the fixer, run with ORCHESTRATOR_AUTOFIX_ATTEMPT. */
  autofixBin: z.optional(z.string().check(z.minLength(1))),
  autofixArgs: z._default(z.array(z.string()), []),
  /** `--autofix-max-attempts` (default 3). */
  autofixMaxAttempts: z.optional(z.int().check(z.gte(0), z.lte(1000))),
  /** `--pr-risk-threshold` (0..1000, default 40): the highest PR risk score still eligible for auto-merge. */
  prRiskThreshold: z.optional(z.int().check(z.gte(0), z.lte(1000, { error: 'must be <= 1000' }))),
  /** `--auto-merge-on-eligible`: a done run whose PR risk is above the threshold ends blocked. */
  autoMergeOnEligible: z.optional(z.boolean()),
  /** `--risk-tier-override`: the run's risk tier, instead of the one its executor's arguments call for. */
  riskTierOverride: z.optional(z.enum(RISK_TIERS)),
  /** `--risk-allow-high`: a high risk tier runs (else it blocks before anything runs). */
  riskAllowHigh: z.optional(z.boolean()),
  /**
   * `--delivery-enabled` and the `--delivery-*` values: after closure, git and gh run in `repoRoot`
   * (`--delivery-dry-run`: their commands recorded, none run). `enabled: false` (the values without
   * --delivery-enabled) does nothing, as in V0; `config-validate` flags a PR asked for that way.
   */
  delivery: z.optional(
    z.strictObject({
      enabled: z._default(z.boolean(), true),
      dryRun: z._default(z.boolean(), false),
      branch: z.optional(z.string().check(z.minLength(1))),
      commitMessage: z.optional(z.string()),
      prEnabled: z._default(z.boolean(), false),
      prNumber: z.optional(z.int().check(z.gte(0))),
      prBase: z.optional(z.string()),
      prTitle: z.optional(z.string()),
      prBody: z.optional(z.string()),
    }),
  ),
  /** A JSON array of `{id, category, pattern, mode}` rules added to the built-in deny list. */
  hardGatesFile: z.optional(z.string().check(z.minLength(1))),
  /** Hard-gate rules declared inline (a plan's), added to the built-in deny list. */
  hardGates: z._default(
    z.array(
      z.strictObject({
        id: z.string().check(z.minLength(1)),
        category: z.enum(HARD_GATE_CATEGORIES),
        pattern: z.string().check(z.minLength(1)),
        mode: z._default(z.literal('match_any_invocation_arg'), 'match_any_invocation_arg'),
      }),
    ),
    [],
  ),
  /** `--next-actions-path`: V0's next actions (JSON here), written after every run. */
  nextActionsPath: z.optional(z.string().check(z.minLength(1))),
  /** `--repo-root`: the repository the versioning delta, the planning context and the delivery work in (default `.`). */
  repoRoot: z.optional(z.string().check(z.minLength(1))),
  /** `--cycle-memory-path`: V0's cycle memory (JSON here), read at start, written with every checkpoint. */
  cycleMemoryPath: z.optional(z.string().check(z.minLength(1))),
  /** `--planning-context-artifact`: the repository context written after the manager, in planning. */
  planningContextArtifact: z.optional(z.string().check(z.minLength(1))),
  /** `--validation-from-planning-context`: validation also runs the artifact's detected commands. */
  validationFromPlanningContext: z.optional(z.boolean()),
  /** `--autonomous-loop` and its caps: the run is started again until it ends done or a cap stops it. */
  autonomous: z.optional(
    z.strictObject({
      maxRuns: z._default(z.int().check(z.gte(1, { error: 'must be >= 1' }), z.lte(1000)), 3),
      maxDurationMs: z._default(z.int().check(z.gte(0)), 300_000),
      sameErrorLimit: z._default(z.int().check(z.gte(1, { error: 'must be >= 1' }), z.lte(1000)), 2),
    }),
  ),
});

export type LaterConfig = z.infer<typeof laterConfigSchema>;
export type LaterConfigInput = z.input<typeof laterConfigSchema>;

/** Gates are evaluated once any gate flag is given; the others are then fail-closed. */
export function gatesWanted(later: LaterConfig): boolean {
  return later.policyStatus !== undefined || later.ciStatus !== undefined || later.reviewStatus !== undefined;
}

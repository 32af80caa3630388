/**
 * The machine's loop settings from the run's configuration: budgets, gates, and the hard gates
 * (the built-in deny list, the rules file read here, the programs and arguments the run starts).
 */
import { readFileSync } from 'node:fs';
import { BUILTIN_HARD_GATES, DEFAULT_AUTOFIX_MAX_ATTEMPTS, HARD_GATE_CATEGORIES, type HardGateRule, type LoopSettings } from '../../machines/loops.js';
import { STAGES } from '../../machines/stages.js';
import { DEFAULT_DECISION_THRESHOLD } from '../../machines/decisions.js';
import { DEFAULT_PR_RISK_THRESHOLD } from '../../machines/pr-risk.js';
import { classifyRisk } from '../../machines/risk-tier.js';
import type { DeliverySettings } from '../../machines/delivery.js';
import { type LaterConfig, gatesWanted } from '../config/later.js';
import type { Plan } from '../plan/schema.js';

/** What the later flags set (the rest of the later settings come from a plan, or their defaults). */
const FLAG_KEYS = [
  'executionMaxIterations',
  'reviewerRemediationMaxCycles',
  'reviewerStep',
  'policyStatus',
  'ciStatus',
  'reviewStatus',
  'hardGatesFile',
  'nextActionsPath',
  'repoRoot',
  'cycleMemoryPath',
  'planningContextArtifact',
  'validationFromPlanningContext',
  'autonomous',
  'decisionThreshold',
  'decisionRequireContributions',
  'memoryPath',
  'memoryMaxEntries',
  'memoryDecayWindowRuns',
  'autofixEnabled',
  'autofixBin',
  'autofixMaxAttempts',
  'prRiskThreshold',
  'autoMergeOnEligible',
  'riskTierOverride',
  'riskAllowHigh',
  'delivery',
] as const;
/** Given on the command line when not at their defaults. */
const FLAG_LISTS = ['reviewerVerdicts', 'decisionContributions', 'decisionReliability', 'autofixArgs'] as const;

/** The later settings of a run: its plan's `loops`, with the later flags given over them. */
export function laterOf(config: { later?: LaterConfig | undefined; plan: Plan }): LaterConfig | undefined {
  if (config.plan.loops === undefined) return config.later;
  if (config.later === undefined) return config.plan.loops;
  const later = config.later;
  const given = Object.fromEntries(FLAG_KEYS.filter((key) => later[key] !== undefined).map((key) => [key, later[key]]));
  const lists = Object.fromEntries(FLAG_LISTS.filter((key) => later[key].length > 0).map((key) => [key, later[key]]));
  return { ...config.plan.loops, ...given, ...lists };
}

export function loopSettingsOf(later: LaterConfig | undefined, plan: Plan): LoopSettings | null {
  if (later === undefined) return null;
  const reviewer = reviewerStepOf(later, plan);
  const hardGatesOn = gatesWanted(later) || later.hardGatesFile !== undefined || later.hardGates.length > 0;
  const external = later.hardGatesFile === undefined ? { rules: [], failed: false } : readRulesFile(later.hardGatesFile);
  return {
    executionMaxIterations: later.executionMaxIterations ?? 1,
    executionAdaptive: later.adaptive && later.executionMaxIterations !== undefined,
    remediationMaxCycles: later.reviewerRemediationMaxCycles ?? 0,
    remediationAdaptive: later.adaptive && later.reviewerRemediationMaxCycles !== undefined,
    remediationPossible: reviewer !== null && (plan.stages.execution ?? []).length > 0,
    plannedRemediationSteps: later.remediationSteps,
    plannedValidationCommands: [],
    gates: gatesWanted(later)
      ? { policy: later.policyStatus ?? 'unknown', ci: later.ciStatus ?? 'missing', review: later.reviewStatus ?? 'missing' }
      : null,
    reviewerVerdicts: later.reviewerVerdicts,
    decision: {
      contributions: later.decisionContributions,
      reliability: later.decisionReliability,
      threshold: later.decisionThreshold ?? DEFAULT_DECISION_THRESHOLD,
      requireContributions: later.decisionRequireContributions ?? false,
    },
    // V0 runs the fixer only when it is enabled and named.
    autofix:
      later.autofixEnabled && later.autofixBin !== undefined
        ? { bin: later.autofixBin, args: later.autofixArgs, maxAttempts: later.autofixMaxAttempts ?? DEFAULT_AUTOFIX_MAX_ATTEMPTS }
        : null,
    hardGates: hardGatesOn
      ? { rules: [...BUILTIN_HARD_GATES, ...later.hardGates, ...external.rules], tokens: invocationTokens(plan), loadFailed: external.failed }
      : null,
    // V0 scores the PR risk always; here it comes with the gate flags (or a PR risk flag of its own).
    prRisk:
      gatesWanted(later) || later.prRiskThreshold !== undefined || later.autoMergeOnEligible === true
        ? { threshold: later.prRiskThreshold ?? DEFAULT_PR_RISK_THRESHOLD, autoMerge: later.autoMergeOnEligible === true }
        : null,
    // Opt-in (V0 always classifies, and blocks an executor given `-f`): only with a risk flag, or a
    // real delivery (a write that leaves the machine: to a protected branch it blocks unless allowed, as V0).
    riskTier:
      later.riskTierOverride !== undefined || later.riskAllowHigh === true || realDelivery(later)
        ? {
            ...classifyRisk({
              override: later.riskTierOverride ?? null,
              executors: plan.stages.execution ?? [],
              delivery: realDelivery(later) ? { branch: later.delivery!.branch ?? null } : null,
            }),
            allowHigh: later.riskAllowHigh === true,
          }
        : null,
    delivery: deliverySettingsOf(later),
    ...(later.planningContextArtifact !== undefined ? { planningContext: true } : {}),
    ...(later.autonomous !== undefined ? { autonomous: later.autonomous } : {}),
  };
}

/** The validation step whose artifacts hold the reviewer's next steps, if there is one. */
export function reviewerStepOf(later: LaterConfig | undefined, plan: Plan): string | null {
  if (later?.reviewerStep === undefined) return null;
  return (plan.stages.validation ?? []).some((step) => step.id === later.reviewerStep) ? later.reviewerStep : null;
}

function invocationTokens(plan: Plan): string[] {
  return STAGES.flatMap((stage) => (plan.stages[stage] ?? []).flatMap((step) => [step.bin, ...step.args]));
}

/** V0: an unreadable file, or a rule with an empty id or pattern, blocks the run (HARD_GATE_EXTERNAL_RULES_LOAD_FAILED). */
function readRulesFile(path: string): { rules: HardGateRule[]; failed: boolean } {
  try {
    const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!Array.isArray(data)) return { rules: [], failed: true };
    const rules: HardGateRule[] = [];
    for (const item of data as Record<string, unknown>[]) {
      const { id, category, pattern } = item ?? {};
      if (typeof id !== 'string' || id === '' || typeof pattern !== 'string' || pattern === '') return { rules: [], failed: true };
      if (!(HARD_GATE_CATEGORIES as readonly unknown[]).includes(category)) return { rules: [], failed: true };
      rules.push({ id, category: category as HardGateRule['category'], pattern, mode: 'match_any_invocation_arg' });
    }
    return { rules, failed: false };
  } catch {
    return { rules: [], failed: true };
  }
}

/** `--delivery-enabled`: the delivery's commands (a dry run with `--delivery-dry-run`); null without it. */
export function deliverySettingsOf(later: LaterConfig | undefined): DeliverySettings | null {
  if (later?.delivery === undefined || !later.delivery.enabled) return null;
  const { delivery } = later;
  return {
    dryRun: delivery.dryRun,
    branch: delivery.branch ?? null,
    commitMessage: delivery.commitMessage ?? null,
    pr: delivery.prEnabled ? { number: delivery.prNumber ?? null, base: delivery.prBase ?? null, title: delivery.prTitle ?? null, body: delivery.prBody ?? null } : null,
  };
}

/** `--delivery-enabled` without `--delivery-dry-run`: git and gh will write. */
function realDelivery(later: LaterConfig): boolean {
  return later.delivery !== undefined && later.delivery.enabled && !later.delivery.dryRun;
}

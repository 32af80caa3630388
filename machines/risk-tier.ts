/**
 * V0's risk tiers (`risk_classifier.rs`): a tier from the command line's override, else the highest
 * a real delivery's branch and the executor's arguments call for. Pure; the run is blocked before
 * anything runs when the tier is high and `--risk-allow-high` was not given (see the `hard_gates` state).
 */
import { isProtectedBranch } from './delivery.js';

export const RISK_TIERS = ['low', 'medium', 'high'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];
export const RISK_TIER_HIGH_BLOCKED = 'RISK_TIER_HIGH_BLOCKED';

export interface RiskSignal {
  code: string;
  source: string;
  value: string;
}

export interface RiskClassification {
  tier: RiskTier;
  signals: RiskSignal[];
}

/** What the run was started with: the tier, its signals, and whether a high tier may run. */
export interface RiskTierSettings extends RiskClassification {
  allowHigh: boolean;
}

export interface RiskInput {
  override: RiskTier | null;
  /** The execution stage's programs and their arguments (V0 has one executor). */
  executors: readonly { bin: string; args: readonly string[] }[];
  /** A real (not dry-run) delivery and its branch; null without one (a dry run writes nothing). */
  delivery?: { branch: string | null } | null;
}

export function classifyRisk(input: RiskInput): RiskClassification {
  if (input.override !== null) return { tier: input.override, signals: [{ code: 'RISK_TIER_OVERRIDE_APPLIED', source: 'cli_override', value: input.override }] };
  let tier: RiskTier = 'low';
  const signals: RiskSignal[] = [];
  if (input.delivery) {
    const { branch } = input.delivery;
    if (branch !== null && isProtectedBranch(branch)) {
      signals.push({ code: 'DELIVERY_TO_PROTECTED_BRANCH', source: 'delivery_options', value: branch });
      tier = 'high';
    } else {
      signals.push({ code: 'DELIVERY_WRITE_ENABLED', source: 'delivery_options', value: branch ?? 'no_branch' });
      tier = 'medium';
    }
  }
  for (const executor of input.executors) {
    if (historyRewriteIntent(executor.args)) {
      signals.push({ code: 'HISTORY_REWRITE_INTENT', source: 'executor_args', value: executor.args.join(' ') });
      tier = 'high';
    } else {
      signals.push({ code: 'EXECUTOR_WRITE_CAPABLE', source: 'executor_args', value: executor.bin });
      if (tier === 'low') tier = 'medium';
    }
  }
  return { tier, signals };
}

/** V0's words for rewriting history: each an argument of its own, exactly. */
function historyRewriteIntent(args: readonly string[]): boolean {
  const has = (word: string) => args.includes(word);
  const force = has('--force') || has('-f') || has('--force-with-lease');
  return force || args.some((a) => a.startsWith('--force-with-lease=')) || has('rebase') || (has('reset') && (has('--hard') || has('--mixed')));
}

export function riskTierBlocks(settings: RiskTierSettings | null | undefined): boolean {
  return !!settings && settings.tier === 'high' && !settings.allowHigh;
}

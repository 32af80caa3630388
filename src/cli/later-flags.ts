/**
 * V0's later flags (loops and gates) on the run command, with upstream's names, syntax, defaults
 * and error messages. Native validations are read from the raw command line, as upstream does:
 * each `--validation-arg`/`--validation-env` binds to the latest `--validation-bin`.
 */
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CI_STATUSES, POLICY_STATUSES, REVIEW_STATUSES } from '../../machines/loops.js';
import { RISK_TIERS } from '../../machines/risk-tier.js';
import type { LaterConfigInput } from '../config/later.js';
import { type DecisionContribution, type ReliabilityInput, type ReviewerVerdict, parseDecisionContribution, parseDecisionReliability, parseReviewerVerdict } from './decision-flags.js';
import type { StepInput } from '../plan/schema.js';
import { type Invocation, nativeStep } from '../run/loop-steps.js';

export interface LaterFlags {
  executionMaxIterations?: number;
  reviewerRemediationMaxCycles?: number;
  reviewerBin?: string;
  reviewerArg: string[];
  reviewerEnv: [string, string][];
  reviewerExpectedArtifact: string[];
  validationBin: string[];
  validationArg: string[];
  validationEnv: string[];
  policyStatus?: string;
  ciStatus?: string;
  reviewStatus?: string;
  hardGatesFile?: string;
  nextActionsPath?: string;
  repoRoot?: string;
  cycleMemoryPath?: string;
  planningContextArtifact?: string;
  validationFromPlanningContext?: boolean;
  autonomousLoop?: boolean;
  autonomousMaxRuns?: number;
  autonomousMaxDurationMs?: number;
  autonomousSameErrorLimit?: number;
  decisionContribution: DecisionContribution[];
  decisionReliability: ReliabilityInput[];
  decisionThreshold?: number;
  decisionRequireContributions?: boolean;
  reviewerVerdict: ReviewerVerdict[];
  memoryPath?: string;
  memoryMaxEntries?: number;
  memoryDecayWindowRuns?: number;
  autofixEnabled?: boolean;
  autofixBin?: string;
  autofixArg: string[];
  autofixMaxAttempts?: number;
  prRiskThreshold?: number;
  riskTierOverride?: string;
  deliveryEnabled?: boolean;
  deliveryDryRun?: boolean;
  deliveryBranch?: string;
  deliveryCommitMessage?: string;
  deliveryPrEnabled?: boolean;
  deliveryPrNumber?: number;
  deliveryPrBase?: string;
  deliveryPrTitle?: string;
  deliveryPrBody?: string;
  riskAllowHigh?: boolean;
  autoMergeOnEligible?: boolean;
  /** Accepted as V0's; nothing reads it (this project prints the seed's stdout either way). */
  verbose?: boolean;
}

const LATER_FLAGS = [
  '--execution-max-iterations',
  '--reviewer-remediation-max-cycles',
  '--reviewer-bin',
  '--reviewer-arg',
  '--reviewer-env',
  '--reviewer-expected-artifact',
  '--validation-bin',
  '--validation-arg',
  '--validation-env',
  '--policy-status',
  '--ci-status',
  '--review-status',
  '--hard-gates-file',
  '--next-actions-path',
  '--repo-root',
  '--cycle-memory-path',
  '--planning-context-artifact',
  '--validation-from-planning-context',
  '--autonomous-loop',
  '--autonomous-max-runs',
  '--autonomous-max-duration-ms',
  '--autonomous-same-error-limit',
  '--decision-contribution',
  '--decision-reliability',
  '--decision-threshold',
  '--decision-require-contributions',
  '--reviewer-verdict',
  '--memory-path',
  '--memory-max-entries',
  '--memory-decay-window-runs',
  '--autofix-enabled',
  '--autofix-bin',
  '--autofix-arg',
  '--autofix-max-attempts',
  '--pr-risk-threshold',
  '--risk-tier-override',
  '--risk-allow-high',
  '--delivery-enabled',
  '--delivery-dry-run',
  '--delivery-branch',
  '--delivery-commit-message',
  '--delivery-pr-enabled',
  '--delivery-pr-number',
  '--delivery-pr-base',
  '--delivery-pr-title',
  '--delivery-pr-body',
  '--auto-merge-on-eligible',
  '--verbose',
];

/** The reviewer's step id and V0's key for it. */
export const REVIEWER_STEP = 'reviewer';

export function addLaterOptions(command: Command): Command {
  const collect = (value: string, previous: string[]) => [...previous, value];
  return command
    .addOption(new Option('--execution-max-iterations <n>', 'attempts of the execution stage (default 1; +1 once after the last fails)').argParser(budget('--execution-max-iterations', 1)))
    .addOption(new Option('--reviewer-remediation-max-cycles <n>', 'validation -> execution cycles on the reviewer\'s next steps (default 0; +1 once)').argParser(budget('--reviewer-remediation-max-cycles', 0)))
    .option('--reviewer-bin <bin>', 'program run in the validation stage (its JSON artifacts\' next_step_plan drives remediation)')
    .option('--reviewer-arg <arg>', 'argument for the reviewer (repeatable)', collect, [])
    .option('--reviewer-env <KEY=VALUE>', 'environment pair added for the reviewer (repeatable)', envPair, [])
    .option('--reviewer-expected-artifact <path>', 'file the reviewer must produce (repeatable)', collect, [])
    .option('--validation-bin <cmd>', 'native validation command, run in order when there is no reviewer (repeatable)', collect, [])
    .option('--validation-arg <arg>', 'argument for the latest --validation-bin (repeatable)', collect, [])
    .option('--validation-env <KEY=VALUE>', 'environment pair for the latest --validation-bin (repeatable)', collect, [])
    .addOption(new Option('--policy-status <status>', 'policy gate input (fail-closed: unknown)').choices(POLICY_STATUSES))
    .addOption(new Option('--ci-status <status>', 'CI gate input (fail-closed: missing)').choices(CI_STATUSES))
    .addOption(new Option('--review-status <status>', 'review gate input (fail-closed: missing)').choices(REVIEW_STATUSES))
    .option('--hard-gates-file <path>', 'JSON array of {id, category, pattern, mode} deny rules added to the built-in ones')
    .option('--next-actions-path <path>', 'write the next actions (JSON: recommended actions, versioning delta) after every run')
    .option('--repo-root <path>', 'the repository for the versioning delta, the planning context and the delivery (default .)')
    .option('--cycle-memory-path <path>', 'JSON cycle memory: read at start (its budgets override the flags), written with every checkpoint')
    .option('--planning-context-artifact <path>', 'write the repository context and the previous run\'s feedback here after the manager')
    .option('--validation-from-planning-context', 'validation also runs the planning context\'s detected validation commands')
    .option('--autonomous-loop', 'start the run again until it ends done, or a cap below stops it')
    .addOption(new Option('--autonomous-max-runs <n>', 'runs of the autonomous loop (default 3)').argParser(budget('--autonomous-max-runs', 1)))
    .addOption(new Option('--autonomous-max-duration-ms <ms>', 'no new run of the autonomous loop after this long (default 300000)').argParser(duration('--autonomous-max-duration-ms')))
    .addOption(new Option('--autonomous-same-error-limit <n>', 'stop once the same failure signature repeats this many times (default 2)').argParser(budget('--autonomous-same-error-limit', 1)))
    .option('--decision-contribution <k=v,...>', 'contributor_id=..,capability=..,vote=proceed|block|escalate,confidence=0..100,weight=1..100[,reason_codes=A|B][,artifact_refs=x|y] (repeatable)', listOf('--decision-contribution', parseDecisionContribution), [])
    .option('--decision-reliability <k=v,...>', 'contributor_id=..,capability=..,score=0..100 (repeatable; default 50)', listOf('--decision-reliability', parseDecisionReliability), [])
    .addOption(new Option('--decision-threshold <n>', 'confidence a proceed needs, 0..100 (default 70)').argParser(threshold))
    .option('--decision-require-contributions', 'take the final decision (and block) even with no contribution')
    .option('--memory-path <path>', 'long-horizon memory (JSON): contributors\' reliability across runs, fed to the decision')
    .addOption(new Option('--memory-max-entries <n>', 'entries the memory keeps (default 500)').argParser(u32('--memory-max-entries')))
    .addOption(new Option('--memory-decay-window-runs <n>', 'runs an entry counts for (default 100)').argParser(u32('--memory-decay-window-runs')))
    .option('--autofix-enabled', 'after a failed validation (and no remediation cycle), run --autofix-bin, then validation again')
    .option('--autofix-bin <bin>', 'the fixer, run with ORCHESTRATOR_AUTOFIX_ATTEMPT (needs --autofix-enabled)')
    .option('--autofix-arg <arg>', 'argument for the fixer (repeatable)', collect, [])
    .addOption(new Option('--autofix-max-attempts <n>', 'fixer attempts (default 3)').argParser(budget('--autofix-max-attempts', 0)))
    .addOption(new Option('--pr-risk-threshold <n>', 'highest PR risk score eligible for auto-merge, 0..1000 (default 40)').argParser(prRiskThreshold))
    .option('--auto-merge-on-eligible', 'a done run whose PR risk is above --pr-risk-threshold ends blocked (nothing is merged)')
    .addOption(new Option('--risk-tier-override <tier>', 'the run\'s risk tier instead of the executor\'s (turns risk tiers on)').choices(RISK_TIERS))
    .option('--risk-allow-high', 'a high risk tier runs; without it, it blocks before anything runs (turns risk tiers on)')
    .option('--delivery-enabled', 'after closure, deliver in --repo-root: git switch -c/add -A/commit, then gh pr create/edit; a failing command fails the run (exit 1), --resume skips the commands that succeeded')
    .option('--delivery-dry-run', 'record the delivery\'s commands (delivery.*.dry_run) without running them')
    .option('--delivery-branch <b>', 'delivery: git switch -c <b> (and gh pr create --head <b>)')
    .option('--delivery-commit-message <m>', 'delivery: git commit -m <m>')
    .option('--delivery-pr-enabled', 'delivery: create a PR, or update --delivery-pr-number')
    .addOption(new Option('--delivery-pr-number <n>', 'delivery: the PR to update (gh pr edit <n>)').argParser(u32('--delivery-pr-number')))
    .option('--delivery-pr-base <b>', 'delivery: the PR\'s --base')
    .option('--delivery-pr-title <t>', 'delivery: the PR\'s --title')
    .option('--delivery-pr-body <b>', 'delivery: the PR\'s --body')
    .option('--verbose', 'accepted for V0\'s command lines; stdout is the same with or without it')
    .option('--reviewer-verdict <k=v,...>', 'reviewer_id=..,specialty=..,verdict=approve|reject,confidence=0..100,weight=1..100[,reason_codes=A|B] (repeatable)', listOf('--reviewer-verdict', parseReviewerVerdict), []);
}

/** Whether any later flag is on the command line (then the report carries every later field). */
export function laterFlagsGiven(argv: readonly string[]): boolean {
  return argv.some((token) => LATER_FLAGS.includes(token) || LATER_FLAGS.some((flag) => token.startsWith(`${flag}=`)));
}

/** The later settings, and the validation stage's steps, from the parsed flags and the raw argv. */
export function laterConfigFrom(
  flags: LaterFlags,
  argv: readonly string[],
  valueFlags: ReadonlySet<string>,
): { later: LaterConfigInput; validationSteps: StepInput[] } {
  const reviewer: StepInput | null =
    flags.reviewerBin === undefined
      ? null
      : {
          id: REVIEWER_STEP,
          idempotencyKey: 'stage:Validation',
          bin: flags.reviewerBin,
          args: flags.reviewerArg,
          env: Object.fromEntries(flags.reviewerEnv),
          expectedArtifacts: flags.reviewerExpectedArtifact,
        };
  const natives = parseValidationInvocations(argv, valueFlags);
  // A reviewer takes precedence over native validations (V0).
  const validationSteps = reviewer ? [reviewer] : natives.map((invocation, i) => nativeStep(invocation, i + 1));
  const later: LaterConfigInput = {
    ...(flags.executionMaxIterations !== undefined ? { executionMaxIterations: flags.executionMaxIterations } : {}),
    ...(flags.reviewerRemediationMaxCycles !== undefined ? { reviewerRemediationMaxCycles: flags.reviewerRemediationMaxCycles } : {}),
    ...(reviewer ? { reviewerStep: REVIEWER_STEP } : {}),
    ...(flags.policyStatus !== undefined ? { policyStatus: flags.policyStatus as never } : {}),
    ...(flags.ciStatus !== undefined ? { ciStatus: flags.ciStatus as never } : {}),
    ...(flags.reviewStatus !== undefined ? { reviewStatus: flags.reviewStatus as never } : {}),
    ...(flags.hardGatesFile !== undefined ? { hardGatesFile: flags.hardGatesFile } : {}),
    ...(flags.nextActionsPath !== undefined ? { nextActionsPath: flags.nextActionsPath } : {}),
    ...(flags.repoRoot !== undefined ? { repoRoot: flags.repoRoot } : {}),
    ...(flags.cycleMemoryPath !== undefined ? { cycleMemoryPath: flags.cycleMemoryPath } : {}),
    ...(flags.planningContextArtifact !== undefined ? { planningContextArtifact: flags.planningContextArtifact } : {}),
    ...(flags.validationFromPlanningContext ? { validationFromPlanningContext: true } : {}),
    ...(flags.autonomousLoop
      ? {
          autonomous: {
            ...(flags.autonomousMaxRuns !== undefined ? { maxRuns: flags.autonomousMaxRuns } : {}),
            ...(flags.autonomousMaxDurationMs !== undefined ? { maxDurationMs: flags.autonomousMaxDurationMs } : {}),
            ...(flags.autonomousSameErrorLimit !== undefined ? { sameErrorLimit: flags.autonomousSameErrorLimit } : {}),
          },
        }
      : {}),
    reviewerVerdicts: flags.reviewerVerdict,
    decisionContributions: flags.decisionContribution,
    decisionReliability: flags.decisionReliability,
    ...(flags.decisionThreshold !== undefined ? { decisionThreshold: flags.decisionThreshold } : {}),
    ...(flags.decisionRequireContributions ? { decisionRequireContributions: true } : {}),
    ...(flags.memoryPath !== undefined ? { memoryPath: flags.memoryPath } : {}),
    ...(flags.memoryMaxEntries !== undefined ? { memoryMaxEntries: flags.memoryMaxEntries } : {}),
    ...(flags.memoryDecayWindowRuns !== undefined ? { memoryDecayWindowRuns: flags.memoryDecayWindowRuns } : {}),
    ...(flags.autofixEnabled ? { autofixEnabled: true } : {}),
    ...(flags.autofixBin !== undefined ? { autofixBin: flags.autofixBin } : {}),
    autofixArgs: flags.autofixArg,
    ...(flags.autofixMaxAttempts !== undefined ? { autofixMaxAttempts: flags.autofixMaxAttempts } : {}),
    ...(flags.prRiskThreshold !== undefined ? { prRiskThreshold: flags.prRiskThreshold } : {}),
    ...(flags.autoMergeOnEligible ? { autoMergeOnEligible: true } : {}),
    ...(flags.riskTierOverride !== undefined ? { riskTierOverride: flags.riskTierOverride as never } : {}),
    ...(flags.riskAllowHigh ? { riskAllowHigh: true } : {}),
    ...deliveryOf(flags),
  };
  return { later, validationSteps };
}


/** Upstream's raw-argv reading: only the space-separated form; errors exit 2 with upstream's words. */
export function parseValidationInvocations(argv: readonly string[], valueFlags: ReadonlySet<string>): Invocation[] {
  const invocations: Invocation[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--validation-bin' || token === '--validation-arg' || token === '--validation-env') {
      const value = argv[i + 1];
      const current = invocations.at(-1);
      if (token !== '--validation-bin' && !current) throw usage(`${token} requires a preceding --validation-bin`);
      if (value === undefined) throw usage(`${token} requires a value`);
      i++;
      if (token === '--validation-bin') invocations.push({ command: value, args: [], env: [] });
      else if (token === '--validation-arg') current!.args.push(value);
      else current!.env.push(splitEnvPair(value));
    } else if (valueFlags.has(token)) {
      i++; // the value of another flag, e.g. `--executor-arg --validation-bin`
    }
  }
  return invocations;
}

function budget(flag: string, min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`invalid value '${value}' for '${flag}': expected a whole number`);
    const n = Number(value);
    if (n < min) throw usage(`Invalid ${flag} value: must be >= ${min}`);
    if (n > 1000) throw usage(`Invalid ${flag} value: must be <= 1000`);
    return n;
  };
}

function duration(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) throw new InvalidArgumentError(`invalid value '${value}' for '${flag}': expected a whole number`);
    return Number(value);
  };
}

/** A repeatable `k=v,...` flag; a bad value is refused as clap does, with upstream's reason. */
function listOf<T>(flag: string, parse: (raw: string) => T) {
  return (value: string, previous: T[]): T[] => {
    try {
      return [...previous, parse(value)];
    } catch (error) {
      throw usage(`invalid value '${value}' for '${flag}': ${(error as Error).message}`);
    }
  };
}

/** A u32 for clap. */
function u32(flag: string) {
  return (value: string): number => {
    if (!/^\+?\d+$/.test(value) || Number(value) > 4_294_967_295) throw usage(`invalid value '${value}' for '${flag}': expected a whole number`);
    return Number(value);
  };
}

/** A u8 for clap; above 100 refused with upstream's own line. */
function threshold(value: string): number {
  if (!/^\+?\d+$/.test(value) || Number(value) > 255) throw usage(`invalid value '${value}' for '--decision-threshold': expected an integer 0..100`);
  if (Number(value) > 100) throw usage('Invalid --decision-threshold value: must be <= 100');
  return Number(value);
}

/**
 * Without --delivery-enabled the other flags do nothing (V0), and are kept as `enabled: false` for a
 * saved config (`config-validate` flags a PR asked for that way).
 */
function deliveryOf(flags: LaterFlags): Pick<LaterConfigInput, 'delivery'> {
  const given = [flags.deliveryDryRun, flags.deliveryBranch, flags.deliveryCommitMessage, flags.deliveryPrEnabled, flags.deliveryPrNumber, flags.deliveryPrBase, flags.deliveryPrTitle, flags.deliveryPrBody];
  if (!flags.deliveryEnabled && given.every((value) => value === undefined)) return {};
  return {
    delivery: {
      enabled: flags.deliveryEnabled === true,
      dryRun: flags.deliveryDryRun === true,
      ...(flags.deliveryBranch !== undefined ? { branch: flags.deliveryBranch } : {}),
      ...(flags.deliveryCommitMessage !== undefined ? { commitMessage: flags.deliveryCommitMessage } : {}),
      prEnabled: flags.deliveryPrEnabled === true,
      ...(flags.deliveryPrNumber !== undefined ? { prNumber: flags.deliveryPrNumber } : {}),
      ...(flags.deliveryPrBase !== undefined ? { prBase: flags.deliveryPrBase } : {}),
      ...(flags.deliveryPrTitle !== undefined ? { prTitle: flags.deliveryPrTitle } : {}),
      ...(flags.deliveryPrBody !== undefined ? { prBody: flags.deliveryPrBody } : {}),
    },
  };
}

/** A u16 for clap; above 1000 refused with upstream's own line. */
function prRiskThreshold(value: string): number {
  if (!/^\+?\d+$/.test(value) || Number(value) > 65_535) throw usage(`invalid value '${value}' for '--pr-risk-threshold': expected an integer 0..1000`);
  if (Number(value) > 1000) throw usage('Invalid --pr-risk-threshold value: must be <= 1000');
  return Number(value);
}

function envPair(value: string, previous: [string, string][]): [string, string][] {
  return [...previous, splitEnvPair(value)];
}

/** Upstream's `parse_env_pair_cli`: split on the first `=`, trim the key. A value is never echoed. */
function splitEnvPair(raw: string): [string, string] {
  const at = raw.indexOf('=');
  const key = at < 0 ? '' : raw.slice(0, at).trim();
  if (key === '') throw usage(`Invalid env pair '${at < 0 ? raw : '=…'}', expected KEY=VALUE`);
  return [key, raw.slice(at + 1)];
}

/** Not commander's `invalidArgument` code: commander would prefix the message with the (maybe secret) value. */
function usage(message: string): CommanderError {
  return new CommanderError(2, 'commander.laterFlag', message);
}

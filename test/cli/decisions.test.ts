/**
 * The final decision and the review ensemble after the gates (V0's later contract): what a user
 * sees for `--decision-*` and `--reviewer-verdict` (exit codes, report fields, what blocked, what
 * ran again on --resume), and upstream's one-line errors for bad values. Expected scores are
 * worked out by hand from upstream's rules (confidence × weight × (50 + reliability)).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { STAGE, checkpointOf, reportOf, runCli, sideEffects, tempDir } from '../support/cli.js';

const executor = ['--executor-bin', STAGE, '--executor-arg', 'ok'];
const vote = (id: string, v: string, confidence: number, weight: number, extra = '') =>
  `contributor_id=${id},capability=plan,vote=${v},confidence=${confidence},weight=${weight}${extra}`;
const verdict = (id: string, specialty: string, v: string, confidence: number, weight: number) =>
  `reviewer_id=${id},specialty=${specialty},verdict=${v},confidence=${confidence},weight=${weight}`;
const contributions = (...values: string[]) => values.flatMap((v) => ['--decision-contribution', v]);
const verdicts = (...values: string[]) => values.flatMap((v) => ['--reviewer-verdict', v]);

function scene() {
  const dir = tempDir('ao-decisions-');
  const effects = join(dir, 'effects.txt');
  return { dir, out: join(dir, 'out'), effects, env: { SIDE_EFFECTS: effects } };
}

const stagesEntered = (report: any) => report.transitions.map((t: any) => t.to_stage);

describe.concurrent('the final decision (--decision-contribution, --decision-reliability, --decision-threshold)', () => {
  it('weighs votes by confidence, weight and reliability; a proceed above the threshold goes on into closure', async ({ expect }) => {
    const s = scene();
    const result = await runCli([
      s.out,
      ...executor,
      ...contributions(vote('a', 'proceed', 90, 50, ',reason_codes=OK|FAST,artifact_refs=plan.json'), vote('b', 'block', 40, 20)),
      '--decision-reliability', 'contributor_id=a,capability=plan,score=80',
    ]);
    expect(result.exitCode).toBe(0);
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('done');
    // a: 90·50 = 4500 × (50+80) = 585000; b: 40·20 = 800 × (50+50) = 80000; 585000/665000 = 88%.
    expect(report.final_decision).toBe('proceed');
    expect(report.decision_confidence).toBe(88);
    expect(report.decision_threshold).toBe(70);
    expect(report.decision_rationale_codes).toEqual(['DECISION_RELIABILITY_WEIGHTED', 'DECISION_RELIABILITY_COLD_START']);
    expect(report.decision_contributions[0]).toEqual({
      contributor_id: 'a', capability: 'plan', vote: 'proceed', confidence: 90, weight: 50, reason_codes: ['OK', 'FAST'], artifact_refs: ['plan.json'],
    });
    expect(report.decision_reliability_factors).toEqual([
      { contributor_id: 'a', capability: 'plan', reliability_score: 80, reliability_factor: 130, base_score: 4500, adjusted_score: 585000 },
      { contributor_id: 'b', capability: 'plan', reliability_score: 50, reliability_factor: 100, base_score: 800, adjusted_score: 80000 },
    ]);
    expect(report.decision_reliability_updates).toEqual([
      { contributor_id: 'a', capability: 'plan', previous_score: 80, new_score: 83, reason_code: 'RELIABILITY_REWARD_ALIGNMENT' },
      { contributor_id: 'b', capability: 'plan', previous_score: 50, new_score: 48, reason_code: 'RELIABILITY_PENALIZE_DIVERGENCE' },
    ]);
    expect(report.blocked_reason_codes).toEqual([]);
    const printed = await runCli(['report', s.out]);
    expect(printed.stdout).toContain('  final decision:     proceed, confidence 88 (threshold 70) (DECISION_RELIABILITY_WEIGHTED, DECISION_RELIABILITY_COLD_START)');
  });

  it('blocks a proceed below the threshold before closure; resumed with a lower threshold it ends done without running the executor again', async ({ expect }) => {
    const s = scene();
    const argv = [s.out, ...executor, ...contributions(vote('a', 'proceed', 90, 50), vote('b', 'block', 60, 50))];
    const blocked = await runCli(argv, { env: s.env });
    expect(blocked.exitCode).toBe(3);
    expect(blocked.stderr).toContain('blocked: the run was stopped by its decision (DECISION_CONFIDENCE_BELOW_THRESHOLD)');
    const report = reportOf(s.out);
    // 4500·100 against 3000·100: 60%.
    expect([report.final_decision, report.decision_confidence]).toEqual(['block', 60]);
    expect(report.blocked_reason_codes).toEqual(['DECISION_CONFIDENCE_BELOW_THRESHOLD']);
    expect(report.blocked).toEqual({ reason: 'decision', stage: 'validation', gate: null });
    expect(stagesEntered(report)).not.toContain('closure');
    expect(checkpointOf(s.out).terminal_state).toBe('blocked');

    const resumed = await runCli([...argv, '--resume', '--decision-threshold', '60'], { env: s.env });
    expect(resumed.exitCode).toBe(0);
    const after = reportOf(s.out);
    expect([after.terminal_state, after.final_decision, after.decision_threshold]).toEqual(['done', 'proceed', 60]);
    expect(sideEffects(s.effects)).toEqual(['execution 1']);
  });

  it('fails closed on a tie, blocks an escalation, and with --decision-require-contributions blocks when nobody voted', async ({ expect }) => {
    const cases: [string[], string, string[]][] = [
      [contributions(vote('a', 'proceed', 80, 10), vote('b', 'block', 80, 10)), 'block', ['DECISION_TIE_FAIL_CLOSED', 'DECISION_RELIABILITY_COLD_START']],
      [contributions(vote('a', 'escalate', 80, 10), vote('b', 'proceed', 10, 10)), 'escalate', ['DECISION_RELIABILITY_COLD_START', 'DECISION_ESCALATED']],
      [['--decision-require-contributions'], 'block', ['DECISION_NO_CONTRIBUTIONS']],
    ];
    for (const [args, final, codes] of cases) {
      const s = scene();
      const result = await runCli([s.out, ...executor, ...args]);
      expect(result.exitCode, args.join(' ')).toBe(3);
      const report = reportOf(s.out);
      expect(report.final_decision).toBe(final);
      expect(report.decision_rationale_codes).toEqual(codes);
      expect(report.blocked_reason_codes).toEqual(codes.filter((c) => c !== 'DECISION_RELIABILITY_COLD_START'));
    }
  });

  it('comes after the gates and --simulate-blocked, and is not taken when they block', async ({ expect }) => {
    const proceed = contributions(vote('a', 'proceed', 90, 10));
    const s = scene();
    expect((await runCli([s.out, ...executor, ...proceed, '--ci-status', 'failure'])).exitCode).toBe(3);
    expect([reportOf(s.out).blocked_reason_codes, reportOf(s.out).final_decision, reportOf(s.out).decision_threshold]).toEqual([
      ['GATE_POLICY_DENIED_OR_UNKNOWN', 'GATE_CI_NOT_SUCCESS', 'GATE_REVIEW_NOT_APPROVED'], null, null,
    ]);
    const t = scene();
    expect((await runCli([t.out, ...executor, ...proceed, '--simulate-blocked'])).exitCode).toBe(3);
    expect([reportOf(t.out).blocked.reason, reportOf(t.out).final_decision]).toEqual(['simulated', null]);
  });

  it('a plan declares the same under loops; a flag given on the command line wins', async ({ expect }) => {
    const s = scene();
    const plan = join(s.dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({
      loops: {
        decisionContributions: [
          { contributor_id: 'a', capability: 'plan', vote: 'proceed', confidence: 80, weight: 10 },
          { contributor_id: 'b', capability: 'plan', vote: 'block', confidence: 20, weight: 10 },
        ],
        decisionThreshold: 90, // 800 against 200: 80%
      },
    }));
    expect((await runCli([s.out, '--plan', plan])).exitCode).toBe(3);
    expect(reportOf(s.out).blocked_reason_codes).toEqual(['DECISION_CONFIDENCE_BELOW_THRESHOLD']);
    const t = scene();
    expect((await runCli([t.out, '--plan', plan, '--decision-threshold', '70'])).exitCode).toBe(0);
    expect(reportOf(t.out).decision_threshold).toBe(70);
  });
});

describe.concurrent('the review ensemble (--reviewer-verdict)', () => {
  it('a pass takes part in the decision as review_ensemble; mandatory specialties without a verdict become next steps', async ({ expect }) => {
    const s = scene();
    const result = await runCli([s.out, ...executor, ...verdicts(verdict('r1', 'security', 'approve', 90, 10), verdict('r2', 'correctness', 'reject', 20, 10))]);
    expect(result.exitCode).toBe(0);
    const report = reportOf(s.out);
    // 900 against 200: 82%.
    expect(report.review_ensemble_result).toEqual({ passed: true, confidence: 82, reason_codes: [] });
    expect(report.reviewer_verdicts.map((v: any) => v.reviewer_id)).toEqual(['r1', 'r2']);
    expect(report.reviewer_next_steps).toEqual(['No verdict from mandatory specialty: maintainability']);
    expect(report.decision_contributions).toEqual([
      { contributor_id: 'review_ensemble', capability: 'review', vote: 'proceed', confidence: 82, weight: 100, reason_codes: [], artifact_refs: [] },
    ]);
    expect([report.final_decision, report.decision_confidence]).toEqual(['proceed', 100]);
  });

  it('blocks on a security rejection, a tie or a weak approval, before the decision', async ({ expect }) => {
    const cases: [string[], string, number][] = [
      [verdicts(verdict('r1', 'security', 'reject', 10, 1), verdict('r2', 'correctness', 'approve', 100, 100)), 'REVIEW_ENSEMBLE_SECURITY_REJECTION', 100],
      [verdicts(verdict('r1', 'style', 'approve', 50, 10), verdict('r2', 'correctness', 'reject', 50, 10)), 'REVIEW_ENSEMBLE_TIE_FAIL_CLOSED', 50],
      [verdicts(verdict('r1', 'style', 'approve', 60, 10), verdict('r2', 'correctness', 'reject', 40, 10)), 'REVIEW_ENSEMBLE_CONFIDENCE_BELOW_THRESHOLD', 60],
    ];
    for (const [args, code, confidence] of cases) {
      const s = scene();
      const result = await runCli([s.out, ...executor, ...args, ...contributions(vote('a', 'proceed', 100, 100))]);
      expect(result.exitCode, code).toBe(3);
      const report = reportOf(s.out);
      expect(report.review_ensemble_result).toEqual({ passed: false, confidence, reason_codes: [code] });
      expect(report.blocked_reason_codes).toEqual([code]);
      expect(report.blocked).toEqual({ reason: 'review_ensemble', stage: 'validation', gate: null });
      expect(report.final_decision).toBeNull();
    }
  });

  it("a passing ensemble's contribution ties with an equal block: the decision fails closed", async ({ expect }) => {
    const s = scene();
    const result = await runCli([s.out, ...executor, ...verdicts(verdict('r1', 'security', 'approve', 100, 10)), ...contributions(vote('a', 'block', 100, 100))]);
    expect(result.exitCode).toBe(3);
    expect(reportOf(s.out).blocked_reason_codes).toEqual(['DECISION_TIE_FAIL_CLOSED']);
  });

  it('comes before --simulate-blocked', async ({ expect }) => {
    const s = scene();
    expect((await runCli([s.out, ...executor, ...verdicts(verdict('r1', 'security', 'approve', 100, 10)), '--simulate-blocked'])).exitCode).toBe(3);
    const report = reportOf(s.out);
    expect([report.blocked.reason, report.review_ensemble_result.passed, report.final_decision]).toEqual(['simulated', true, null]);
  });
});

describe.concurrent("bad decision input: exit 2, upstream's reason, no stack trace", () => {
  const c = '--decision-contribution';
  const cases: [string[], string][] = [
    [['--decision-threshold', '101'], 'Invalid --decision-threshold value: must be <= 100'],
    [[c, 'contributor_id=a'], `invalid value 'contributor_id=a' for '${c}': Missing decision contribution field 'confidence' (0..100)`],
    [[c, vote('a', 'proceed', 90, 0)], `invalid value '${vote('a', 'proceed', 90, 0)}' for '${c}': Invalid weight '0', expected integer 1..100`],
    [[c, vote('a', 'maybe', 90, 1)], `invalid value '${vote('a', 'maybe', 90, 1)}' for '${c}': Invalid decision vote 'maybe', expected proceed|block|escalate`],
    [[c, 'confidence=101,weight=1'], `invalid value 'confidence=101,weight=1' for '${c}': Invalid confidence '101', expected integer 0..100`],
    [[c, 'confidence=50,weight=1,who=x'], `invalid value 'confidence=50,weight=1,who=x' for '${c}': Unknown decision contribution key 'who'`],
    [[c, 'confidence=50,weight=1'], `invalid value 'confidence=50,weight=1' for '${c}': Missing decision contribution field 'contributor_id'`],
    [[c, 'nonsense'], `invalid value 'nonsense' for '${c}': Invalid decision contribution segment 'nonsense'`],
    [['--decision-reliability', 'contributor_id=a,capability=x,score=abc'], "invalid value 'contributor_id=a,capability=x,score=abc' for '--decision-reliability': Invalid reliability score 'abc', expected integer 0..100"],
    [['--reviewer-verdict', verdict('r', 'security', 'ok', 1, 1)], `invalid value '${verdict('r', 'security', 'ok', 1, 1)}' for '--reviewer-verdict': Invalid reviewer verdict 'ok', expected approve|reject`],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async ({ expect }) => {
      const result = await runCli([join(tempDir('ao-decisions-bad-'), 'out'), ...args]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(`autonomy-orchestrator: ${message}`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }
});

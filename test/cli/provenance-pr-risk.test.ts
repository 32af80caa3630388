/**
 * Provenance and PR risk (V0's later contract), which come with the gate flags: the provenance
 * chain in the report, the PR risk breakdown, and `--auto-merge-on-eligible` turning a done run
 * whose score is above `--pr-risk-threshold` into blocked (the `pr_risk` state after closure).
 * Also `--verbose`, accepted and printing nothing more.
 */
import { chmodSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ROOT, STAGE, checkpointOf, reportOf, runCli, tempDir } from '../support/cli.js';

const GATES_PASS = ['--policy-status', 'allow', '--ci-status', 'success', '--review-status', 'approved'];
const out = () => join(tempDir('ao-pr-risk-'), 'out');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'autofix-loop.sh');

/** A validation that fails on its first run and a fixer that makes it pass: one failed validation. */
function oneValidationFailure() {
  const dir = tempDir('ao-pr-risk-fix-');
  const fixer = join(dir, 'fixer.sh');
  copyFileSync(FIXTURE, fixer);
  chmodSync(fixer, 0o755);
  const argv = ['--validation-bin', FIXTURE, '--validation-arg', 'validate', '--validation-arg', dir, '--validation-arg', '1=fail', '--autofix-enabled', '--autofix-bin', fixer, '--autofix-arg', 'fix', '--autofix-arg', dir];
  const effects = () => readFileSync(join(dir, 'effects'), 'utf8').trim().split('\n');
  return { out: join(dir, 'out'), argv, effects };
}

const scores = (report: any) => Object.fromEntries(report.pr_risk_breakdown.factors.map((f: any) => [f.name, f.score]));

describe.concurrent('provenance records (with the gate flags)', () => {
  it('a done run: a linear chain from the start through every stage, the gates, the decision and the end', async ({ expect }) => {
    const dir = out();
    expect((await runCli([dir, ...GATES_PASS])).exitCode).toBe(0);
    const report = reportOf(dir);
    const run = `run:${report.run_id}`;
    expect(report.provenance_schema_version).toBe('1');
    expect(report.provenance_records.map((r: any) => [r.id, r.event_type, r.parent_ids, r.reason_codes])).toEqual([
      [`${run}:start`, 'run_start', [], ['PROVENANCE_NODE_RECORDED']],
      [`${run}:stage_transition:Planning:1`, 'stage_transition:Planning', [`${run}:start`], ['PROVENANCE_NODE_RECORDED']],
      [`${run}:stage_transition:PolicyIngestion:2`, 'stage_transition:PolicyIngestion', [`${run}:stage_transition:Planning:1`], ['PROVENANCE_NODE_RECORDED']],
      [`${run}:stage_transition:Execution:3`, 'stage_transition:Execution', [`${run}:stage_transition:PolicyIngestion:2`], ['PROVENANCE_NODE_RECORDED']],
      [`${run}:stage_transition:Validation:4`, 'stage_transition:Validation', [`${run}:stage_transition:Execution:3`], ['PROVENANCE_NODE_RECORDED']],
      [`${run}:gate_evaluation:5`, 'gate_evaluation', [`${run}:stage_transition:Validation:4`], ['PROVENANCE_NODE_RECORDED']],
      [`${run}:final_decision:6`, 'final_decision', [`${run}:gate_evaluation:5`], ['PROVENANCE_NODE_RECORDED']],
      [`${run}:stage_transition:Closure:7`, 'stage_transition:Closure', [`${run}:final_decision:6`], ['PROVENANCE_NODE_RECORDED']],
      [`${run}:terminal_state:8`, 'terminal_state', [`${run}:stage_transition:Closure:7`], ['DONE', 'PROVENANCE_NODE_RECORDED']],
    ]);
    expect(report.provenance_records[5].artifact_refs).toEqual(['gate:policy', 'gate:ci', 'gate:review']);
    const times = report.provenance_records.map((r: any) => r.timestamp_unix_secs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[1]).toBe(report.transitions[0].timestamp_unix_secs);
  });

  it('a gate block: the failing gates\' codes on the gate node, no decision, a BLOCKED end', async ({ expect }) => {
    const dir = out();
    expect((await runCli([dir, '--policy-status', 'allow'])).exitCode).toBe(3);
    const records = reportOf(dir).provenance_records;
    expect(records.map((r: any) => r.event_type)).toEqual([
      'run_start', 'stage_transition:Planning', 'stage_transition:PolicyIngestion', 'stage_transition:Execution', 'stage_transition:Validation', 'gate_evaluation', 'terminal_state',
    ]);
    expect(records[5].reason_codes).toEqual(['GATE_CI_NOT_SUCCESS', 'GATE_REVIEW_NOT_APPROVED', 'PROVENANCE_NODE_RECORDED']);
    expect(records[6].reason_codes).toEqual(['BLOCKED', 'GATE_CI_NOT_SUCCESS', 'GATE_REVIEW_NOT_APPROVED', 'PROVENANCE_NODE_RECORDED']);
  });

  it('a failed run has no end node (V0 records done and blocked only)', async ({ expect }) => {
    const dir = out();
    expect((await runCli([dir, ...GATES_PASS, '--executor-bin', STAGE, '--executor-arg', 'fail'])).exitCode).toBe(1);
    expect(reportOf(dir).provenance_records.map((r: any) => r.event_type)).toEqual(['run_start', 'stage_transition:Planning', 'stage_transition:PolicyIngestion', 'stage_transition:Execution']);
  });

  it('without a gate flag: no provenance, no PR risk; a seed run has neither field', async ({ expect }) => {
    const later = out();
    expect((await runCli([later, '--execution-max-iterations', '1'])).exitCode).toBe(0);
    expect([reportOf(later).provenance_records, reportOf(later).pr_risk_breakdown]).toEqual([[], null]);
    const seed = out();
    expect((await runCli([seed])).exitCode).toBe(0);
    expect(reportOf(seed)).not.toHaveProperty('provenance_records');
    expect(reportOf(seed)).not.toHaveProperty('pr_risk_breakdown');
  });
});

describe.concurrent('PR risk (--pr-risk-threshold, --auto-merge-on-eligible)', () => {
  it('a clean done run scores 0; without --auto-merge-on-eligible no code is added', async ({ expect }) => {
    const dir = out();
    expect((await runCli([dir, ...GATES_PASS])).exitCode).toBe(0);
    const report = reportOf(dir);
    expect(report.pr_risk_breakdown).toEqual({
      total_score: 0,
      factors: [
        { name: 'gate_quality', score: 0, rationale: '0 gate(s) non-passing' },
        { name: 'decision_confidence', score: 0, rationale: 'decision confidence: none' },
        { name: 'risk_tier', score: 0, rationale: 'risk tier: low' },
        { name: 'hard_gate_status', score: 0, rationale: 'hard gates clear' },
        { name: 'test_stability', score: 0, rationale: '0 validation failure(s)' },
      ],
      eligible_for_auto_merge: true,
    });
    expect(report.decision_rationale_codes).toEqual([]);
  });

  it('a gate block scores its failing gates, the blocked end and the gate codes: 24 + 8 + 12', async ({ expect }) => {
    const dir = out();
    expect((await runCli([dir, '--policy-status', 'allow', '--auto-merge-on-eligible'])).exitCode).toBe(3);
    const report = reportOf(dir);
    expect(scores(report)).toEqual({ gate_quality: 24, decision_confidence: 0, risk_tier: 8, hard_gate_status: 12, test_stability: 0 });
    expect([report.pr_risk_breakdown.total_score, report.pr_risk_breakdown.eligible_for_auto_merge]).toEqual([44, false]);
    // Blocked before closure: the auto-merge check never ran.
    expect(report.blocked_reason_codes).not.toContain('PR_RISK_ABOVE_THRESHOLD');
  });

  it('a failed validation scores as a failed run with one validation failure: 16 + 6', async ({ expect }) => {
    const dir = out();
    const argv = [dir, ...GATES_PASS, '--validation-bin', STAGE, '--validation-arg', 'fail'];
    expect((await runCli(argv)).exitCode).toBe(1);
    expect(scores(reportOf(dir))).toEqual({ gate_quality: 0, decision_confidence: 0, risk_tier: 16, hard_gate_status: 0, test_stability: 6 });
  });

  it('above the threshold with --auto-merge-on-eligible: done becomes blocked (exit 3) with PR_RISK_ABOVE_THRESHOLD', async ({ expect }) => {
    const s = oneValidationFailure();
    const result = await runCli([s.out, ...GATES_PASS, ...s.argv, '--auto-merge-on-eligible', '--pr-risk-threshold', '5']);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toContain('Terminal state: blocked');
    const report = reportOf(s.out);
    expect(scores(report).test_stability).toBe(6);
    expect([report.pr_risk_breakdown.total_score, report.pr_risk_breakdown.eligible_for_auto_merge]).toEqual([6, false]);
    expect([report.terminal_state, report.blocked_reason_codes, report.blocked]).toEqual(['blocked', ['PR_RISK_ABOVE_THRESHOLD'], { reason: 'pr_risk', stage: 'closure', gate: null }]);
    expect(report.decision_rationale_codes).not.toContain('PR_RISK_ELIGIBLE_FOR_AUTO_MERGE');
    expect(checkpointOf(s.out).terminal_state).toBe('blocked');
    expect(report.provenance_records.at(-1).reason_codes).toEqual(['BLOCKED', 'PR_RISK_ABOVE_THRESHOLD', 'PROVENANCE_NODE_RECORDED']);
  });

  it('blocked by the PR risk, then --resume with a higher threshold: done, running no program again', async ({ expect }) => {
    const s = oneValidationFailure();
    const argv = [s.out, ...GATES_PASS, ...s.argv, '--auto-merge-on-eligible'];
    expect((await runCli([...argv, '--pr-risk-threshold', '5'])).exitCode).toBe(3);
    expect(s.effects()).toEqual(['validation 1', 'fix 1', 'validation 2']);
    expect((await runCli([...argv, '--pr-risk-threshold', '1000', '--resume'])).exitCode).toBe(0);
    expect(s.effects()).toEqual(['validation 1', 'fix 1', 'validation 2']);
    const report = reportOf(s.out);
    expect([report.terminal_state, report.blocked_reason_codes, report.decision_rationale_codes]).toEqual(['done', [], ['PR_RISK_ELIGIBLE_FOR_AUTO_MERGE']]);
  });

  it('at the threshold: done, with PR_RISK_ELIGIBLE_FOR_AUTO_MERGE among the rationale codes', async ({ expect }) => {
    const s = oneValidationFailure();
    expect((await runCli([s.out, ...GATES_PASS, ...s.argv, '--auto-merge-on-eligible', '--pr-risk-threshold', '6'])).exitCode).toBe(0);
    const report = reportOf(s.out);
    expect([report.terminal_state, report.blocked_reason_codes]).toEqual(['done', []]);
    expect(report.decision_rationale_codes).toEqual(['AUTOFIX_CONVERGENCE_REACHED', 'PR_RISK_ELIGIBLE_FOR_AUTO_MERGE']);
  });

  it('--pr-risk-threshold above 1000: exit 2 with upstream\'s line; 1000 is accepted', async ({ expect }) => {
    const bad = await runCli([out(), '--pr-risk-threshold', '1001']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('autonomy-orchestrator: Invalid --pr-risk-threshold value: must be <= 1000');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const dir = out();
    expect((await runCli([dir, '--pr-risk-threshold', '1000'])).exitCode).toBe(0);
    expect(reportOf(dir).pr_risk_breakdown.eligible_for_auto_merge).toBe(true);
  });
});

describe.concurrent('--verbose', () => {
  it('is accepted and prints what a run without it prints; the report carries the later fields', async ({ expect }) => {
    const plain = out();
    const verbose = out();
    const a = await runCli([plain]);
    const b = await runCli([verbose, '--verbose']);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect(b.stdout.replaceAll(verbose, 'OUT')).toBe(a.stdout.replaceAll(plain, 'OUT'));
    expect(reportOf(verbose).provenance_records).toEqual([]);
    expect(existsSync(join(verbose, 'escalation_queue.json'))).toBe(false);
  });
});

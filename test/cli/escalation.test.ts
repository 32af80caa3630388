/**
 * Escalation (V0's later contract): the cases a run's end routes to a person, in the report's
 * `escalation_cases` and in `<out>/escalation_queue.json`, written only when there is a case and
 * a later flag was given (a seed run never writes it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { STAGE, reportOf, runCli, tempDir } from '../support/cli.js';

const queueOf = (out: string) => join(out, 'escalation_queue.json');
const out = () => join(tempDir('ao-escalation-'), 'out');

describe.concurrent('escalation cases and the escalation queue', () => {
  it('a gate block is a sev2 policy block naming the failing gates; the queue file holds the same cases', async ({ expect }) => {
    const dir = out();
    expect((await runCli([dir, '--policy-status', 'allow'])).exitCode).toBe(3);
    const report = reportOf(dir);
    expect(report.escalation_cases).toEqual([
      {
        id: `${report.run_id}:ESCALATION_TRIGGER_POLICY_BLOCK`,
        trigger_code: 'ESCALATION_TRIGGER_POLICY_BLOCK',
        severity: 'sev2',
        required_actions: ['Resolve policy gate before autonomous rerun'],
        context_artifacts: ['gate:ci', 'gate:review'],
      },
    ]);
    expect(JSON.parse(readFileSync(queueOf(dir), 'utf8'))).toEqual(report.escalation_cases);
    expect((await runCli(['report', dir])).stdout).toContain('  escalation:         sev2 ESCALATION_TRIGGER_POLICY_BLOCK (gate:ci, gate:review)\n');
  });

  it('a tied decision is a sev1 critical tie naming the voters', async ({ expect }) => {
    const dir = out();
    const vote = (id: string, v: string) => ['--decision-contribution', `contributor_id=${id},capability=plan,vote=${v},confidence=80,weight=10`];
    expect((await runCli([dir, ...vote('a', 'proceed'), ...vote('b', 'block')])).exitCode).toBe(3);
    const [only, ...rest] = reportOf(dir).escalation_cases;
    expect(rest).toEqual([]);
    expect([only.trigger_code, only.severity, only.context_artifacts]).toEqual(['ESCALATION_TRIGGER_CRITICAL_TIE', 'sev1', ['contributor:a', 'contributor:b']]);
    expect(existsSync(queueOf(dir))).toBe(true);
  });

  it('a spent execution budget is a sev3 cap exhaustion', async ({ expect }) => {
    const dir = out();
    expect((await runCli([dir, '--executor-bin', STAGE, '--executor-arg', 'fail', '--execution-max-iterations', '1'])).exitCode).toBe(1);
    const report = reportOf(dir);
    expect(report.escalation_cases).toEqual([
      {
        id: `${report.run_id}:ESCALATION_TRIGGER_CAP_EXHAUSTED`,
        trigger_code: 'ESCALATION_TRIGGER_CAP_EXHAUSTED',
        severity: 'sev3',
        required_actions: ['Inspect exhausted iteration budget and adjust policy caps'],
        context_artifacts: [`run:${report.run_id}`],
      },
    ]);
    expect(JSON.parse(readFileSync(queueOf(dir), 'utf8'))).toEqual(report.escalation_cases);
  });

  it('no case, no file; a seed run never writes it, whatever its end', async ({ expect }) => {
    const quiet = out();
    expect((await runCli([quiet, '--policy-status', 'allow', '--ci-status', 'success', '--review-status', 'approved'])).exitCode).toBe(0);
    expect(reportOf(quiet).escalation_cases).toEqual([]);
    expect(existsSync(queueOf(quiet))).toBe(false);
    const seed = out();
    expect((await runCli([seed, '--executor-bin', STAGE, '--executor-arg', 'fail', '--simulate-blocked'])).exitCode).toBe(1);
    expect(reportOf(seed)).not.toHaveProperty('escalation_cases');
    expect(existsSync(queueOf(seed))).toBe(false);
  });
});

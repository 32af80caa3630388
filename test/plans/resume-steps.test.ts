import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processAlive, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';
import { endOf, fixtureStep, recordsOf, startOf, startsOf, traceOf, writePlan } from './plan-runs.js';

function setUp(plan: (trace: string) => unknown) {
  const dir = tempDir();
  const out = join(dir, 'out');
  const trace = join(dir, 'trace.jsonl');
  const planPath = writePlan(dir, plan(trace));
  const args = (...flags: string[]) => [out, '--plan', planPath, '--kill-grace-ms', '300', ...flags];
  return { out, trace, args, ran: () => startsOf(traceOf(trace)).map((l) => `${l.step} ${l.attempt}`) };
}

function checkpointText(out: string): string {
  try {
    return readFileSync(join(out, 'orchestrator_checkpoint.json'), 'utf8');
  } catch {
    return '';
  }
}

describe('resuming a run killed in the middle of a stage', () => {
  it('runs again only the step that had not completed, as its next attempt', async () => {
    const run = setUp((trace) => ({
      concurrency: 1,
      stages: {
        execution: [fixtureStep('a', trace), fixtureStep('b', trace), fixtureStep('c', trace, { 'sleep-first': 20_000 })],
        closure: [fixtureStep('announce', trace)],
      },
    }));
    const first = startCli(run.args());
    await waitFor(() => run.ran().includes('c 1'), 10_000, 'step c to start');
    first.child.kill('SIGKILL');
    await first.done;
    const orphan = startOf(traceOf(run.trace), 'c', 1);

    const resumed = await runCli(run.args('--resume'));
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(run.out).terminal_state).toBe('done');
    expect(run.ran()).toEqual(['a 1', 'b 1', 'c 1', 'c 2', 'announce 1']);
    // The attempt the killed orchestrator left running was ended, not left beside its retry.
    expect(processAlive(orphan.pid)).toBe(false);
    const report = reportOf(run.out);
    expect(report.resumed_from).toBe('snapshot');
    expect(recordsOf(report, 'c').filter((r: any) => r.status !== 'skipped').map((r: any) => [r.attempt, r.status])).toEqual([[2, 'success']]);
    expect(recordsOf(report, 'a').filter((r: any) => r.status !== 'skipped')).toEqual([]);
    expect(recordsOf(report, 'b').filter((r: any) => r.status !== 'skipped')).toEqual([]);
  });
});

describe('resuming a run killed while steps ran in parallel', () => {
  it('ends every attempt the killed orchestrator left running before running them again', async () => {
    const run = setUp((trace) => ({
      concurrency: 2,
      stages: { execution: [fixtureStep('x', trace, { 'sleep-first': 20_000 }), fixtureStep('y', trace, { 'sleep-first': 20_000 })] },
    }));
    const first = startCli(run.args());
    await waitFor(() => run.ran().includes('x 1') && run.ran().includes('y 1'), 10_000, 'both steps to start');
    first.child.kill('SIGKILL');
    await first.done;
    const orphans = startsOf(traceOf(run.trace)).map((l) => l.pid);

    try {
      const resumed = await runCli(run.args('--resume'));
      expect(resumed.exitCode).toBe(0);
      expect(run.ran()).toEqual(expect.arrayContaining(['x 1', 'y 1', 'x 2', 'y 2']));
      for (const pid of orphans) expect(processAlive(pid), `attempt 1 (pid ${pid}) left running`).toBe(false);
    } finally {
      // Whatever the outcome, leave no orphan behind this test.
      for (const pid of orphans) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});

describe('a retry backoff', () => {
  it('survives a resume: the retry waits until the failure’s end plus backoffMs, as attempt 2', async () => {
    const run = setUp((trace) => ({
      stages: { execution: [fixtureStep('flaky', trace, { 'fail-attempts': 1 }, { retries: { max: 1, backoffMs: 3000, factor: 2 } })] },
    }));
    const first = startCli(run.args());
    await waitFor(() => checkpointText(run.out).includes('"waiting_retry"'), 10_000, 'the checkpoint to hold the backoff');
    first.child.kill('SIGKILL');
    await first.done;
    const failedAt = endOf(traceOf(run.trace), 'flaky', 1).at;
    const resumedAt = Date.now();
    // Otherwise the test would prove nothing: the backoff must still be running at resume.
    expect(resumedAt).toBeLessThan(failedAt + 2700);

    const resumed = await runCli(run.args('--resume'));
    expect(resumed.exitCode).toBe(0);
    expect(run.ran()).toEqual(['flaky 1', 'flaky 2']);
    const retry = startOf(traceOf(run.trace), 'flaky', 2);
    expect(retry.at).toBeGreaterThanOrEqual(failedAt + 3000 - 50);

    const report = reportOf(run.out);
    expect(report.terminal_state).toBe('done');
    const records = [...report.earlier_stage_executions, ...report.stage_executions].filter((r: any) => r.step === 'flaky' && r.status !== 'skipped');
    expect(records.map((r: any) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'success'],
    ]);
    expect(records[1].started_at_unix_ms).toBeGreaterThanOrEqual(records[0].started_at_unix_ms + records[0].duration_ms + 3000 - 50);
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processAlive, reportOf, runCli, tempDir } from '../support/cli.js';
import { endOf, fixtureStep, recordsOf, startOf, startsOf, traceOf, writePlan } from './plan-runs.js';

/** Runs a plan of fixture steps in a fresh directory. */
async function runPlan(plan: (trace: string, dir: string) => unknown, flags: string[] = []) {
  const dir = tempDir();
  const out = join(dir, 'out');
  const trace = join(dir, 'trace.jsonl');
  const planPath = writePlan(dir, plan(trace, dir));
  const result = await runCli([out, '--plan', planPath, '--kill-grace-ms', '300', ...flags]);
  return { dir, out, trace, result, report: reportOf(out), lines: traceOf(trace) };
}

describe('steps of a stage', () => {
  it('start only after the steps they need have ended', async () => {
    const { result, report, lines } = await runPlan(
      (trace: string) => ({
        stages: {
          execution: [
            fixtureStep('c', trace, { sleep: 50 }, { needs: ['a', 'b'] }),
            fixtureStep('a', trace, { sleep: 200 }),
            fixtureStep('b', trace, { sleep: 300 }, { needs: ['a'] }),
            fixtureStep('d', trace, { sleep: 50 }, { needs: ['c'] }),
          ],
        },
      }),
      ['--concurrency', '4'],
    );
    expect(result.exitCode).toBe(0);
    expect(report.terminal_state).toBe('done');
    expect(startsOf(lines).map((l) => l.step)).toEqual(['a', 'b', 'c', 'd']);
    expect(startOf(lines, 'b').at).toBeGreaterThanOrEqual(endOf(lines, 'a').at);
    expect(startOf(lines, 'c').at).toBeGreaterThanOrEqual(endOf(lines, 'a').at);
    expect(startOf(lines, 'c').at).toBeGreaterThanOrEqual(endOf(lines, 'b').at);
    expect(startOf(lines, 'd').at).toBeGreaterThanOrEqual(endOf(lines, 'c').at);
    // The records agree: each needed step's record ended before the needing one started.
    const ends = (id: string) => recordsOf(report, id)[0].started_at_unix_ms + recordsOf(report, id)[0].duration_ms;
    const starts = (id: string) => recordsOf(report, id)[0].started_at_unix_ms;
    expect(starts('b')).toBeGreaterThanOrEqual(ends('a'));
    expect(starts('c')).toBeGreaterThanOrEqual(ends('b'));
    expect(starts('d')).toBeGreaterThanOrEqual(ends('c'));
  });

  const independent = (trace: string, sleep: number) => ({
    stages: { execution: ['s1', 's2', 's3', 's4'].map((id) => fixtureStep(id, trace, { sleep })) },
  });

  it('run in parallel with --concurrency 4, taking about the time of the slowest', async () => {
    const { result, lines } = await runPlan((trace: string) => independent(trace, 1000), ['--concurrency', '4']);
    expect(result.exitCode).toBe(0);
    const starts = lines.filter((l) => l.event === 'start').map((l) => l.at);
    const ends = lines.filter((l) => l.event === 'end').map((l) => l.at);
    expect(starts).toHaveLength(4);
    expect(ends).toHaveLength(4);
    // All four ran at once: every start precedes every end.
    expect(Math.max(...starts)).toBeLessThan(Math.min(...ends));
    // Well under the 4 s they would take one after the other.
    // Four steps of ~1 s: one after another they would take over 4 s.
    expect(Math.max(...ends) - Math.min(...starts)).toBeLessThan(3800);
  });

  it('run one at a time with concurrency 1 (the default)', async () => {
    const { result, lines } = await runPlan((trace: string) => independent(trace, 300));
    expect(result.exitCode).toBe(0);
    expect(lines.map((l) => `${l.event} ${l.step}`)).toEqual([
      'start s1',
      'end s1',
      'start s2',
      'end s2',
      'start s3',
      'end s3',
      'start s4',
      'end s4',
    ]);
    for (const id of ['s2', 's3', 's4']) {
      const previous = `s${Number(id.slice(1)) - 1}`;
      expect(startOf(lines, id).at).toBeGreaterThanOrEqual(endOf(lines, previous).at);
    }
  });

  it('the plan’s concurrency applies when no flag is given', async () => {
    const { result, lines } = await runPlan((trace: string) => ({ ...independent(trace, 600), concurrency: 4 }));
    expect(result.exitCode).toBe(0);
    const starts = lines.filter((l) => l.event === 'start').map((l) => l.at);
    const ends = lines.filter((l) => l.event === 'end').map((l) => l.at);
    expect(Math.max(...starts)).toBeLessThan(Math.min(...ends));
  });
});

describe('a failing step', () => {
  it('cancels its running siblings: their process groups are gone, the run fails naming it', async () => {
    const { result, report, lines } = await runPlan(
      (trace: string) => ({
        stages: {
          execution: [
            fixtureStep('long1', trace, { sleep: 20_000, child: 1 }),
            fixtureStep('long2', trace, { sleep: 20_000, child: 1 }),
            fixtureStep('long3', trace, { sleep: 20_000, child: 1 }),
            fixtureStep('breaks', trace, { sleep: 500, 'fail-attempts': 9 }),
          ],
          closure: [fixtureStep('never', trace)],
        },
      }),
      ['--concurrency', '4'],
    );
    expect(result.exitCode).toBe(1);
    expect(report.terminal_state).toBe('failed');
    expect(report.failure.stage).toBe('execution');
    expect(report.failure.status).toBe('failed');
    expect(report.failure).toMatchObject({ stage: 'execution', step: 'breaks' });
    expect(result.stderr).toContain('step breaks');

    const siblings = startsOf(lines).filter((l) => l.step.startsWith('long'));
    expect(siblings).toHaveLength(3);
    for (const sibling of siblings) {
      expect(processAlive(sibling.pid)).toBe(false);
      // The sibling's own child, in its process group, went with it.
      expect(processAlive(sibling.childPid!)).toBe(false);
    }
    expect(lines.filter((l) => l.event === 'end').map((l) => l.step)).toEqual(['breaks']);
    expect(startsOf(lines, 'never')).toEqual([]);

    for (const id of ['long1', 'long2', 'long3']) {
      const records = recordsOf(report, id);
      expect(records).toHaveLength(1);
      expect(records[0].interrupted).toBe(true);
      expect(records[0].duration_ms).toBeLessThan(5_000);
    }
    expect(recordsOf(report, 'breaks').map((r: any) => [r.status, r.exit_code, r.interrupted])).toEqual([['failed', 1, false]]);
  });
});

describe('retries', () => {
  it('run a failing step again after exponential backoff, attempt by attempt', async () => {
    const { result, report, lines } = await runPlan((trace: string) => ({
      stages: {
        execution: [fixtureStep('flaky', trace, { 'fail-attempts': 2 }, { retries: { max: 3, backoffMs: 200, factor: 2 } })],
      },
    }));
    expect(result.exitCode).toBe(0);
    expect(report.terminal_state).toBe('done');
    const records = recordsOf(report, 'flaky');
    expect(records.map((r: any) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'success'],
    ]);
    expect(startsOf(lines, 'flaky').map((l) => l.attempt)).toEqual([1, 2, 3]);
    // Backoff: 200 ms before the 2nd attempt, 200*2 before the 3rd.
    expect(startOf(lines, 'flaky', 2).at - endOf(lines, 'flaky', 1).at).toBeGreaterThanOrEqual(200);
    expect(startOf(lines, 'flaky', 3).at - endOf(lines, 'flaky', 2).at).toBeGreaterThanOrEqual(400);
    const endOfRecord = (r: any) => r.started_at_unix_ms + r.duration_ms;
    expect(records[1].started_at_unix_ms - endOfRecord(records[0])).toBeGreaterThanOrEqual(200);
    expect(records[2].started_at_unix_ms - endOfRecord(records[1])).toBeGreaterThanOrEqual(400);
  });

  it('once exhausted, fail the run with max+1 records', async () => {
    const { result, report, lines } = await runPlan((trace: string) => ({
      stages: {
        execution: [fixtureStep('broken', trace, { 'fail-attempts': 99 }, { retries: { max: 2, backoffMs: 50, factor: 1 } })],
        closure: [fixtureStep('never', trace)],
      },
    }));
    expect(result.exitCode).toBe(1);
    expect(report.terminal_state).toBe('failed');
    expect(report.failure).toMatchObject({ stage: 'execution', step: 'broken', status: 'failed', error: 'Command exited with code 1' });
    expect(recordsOf(report, 'broken').map((r: any) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
    ]);
    expect(startsOf(lines).map((l) => `${l.step} ${l.attempt}`)).toEqual(['broken 1', 'broken 2', 'broken 3']);
  });
});

describe('the watchdog', () => {
  it('ends a silent step as stalled well before its timeout', async () => {
    const { result, report } = await runPlan((trace: string) => ({
      stages: { execution: [fixtureStep('silent', trace, { sleep: 5000 }, { heartbeatMs: 300, timeoutMs: 20_000 })] },
    }));
    expect(result.exitCode).toBe(124);
    expect(report.terminal_state).toBe('timeout');
    const [record] = recordsOf(report, 'silent');
    expect(record.status).toBe('timeout');
    expect(record.error).toContain('Stalled');
    expect(record.duration_ms).toBeLessThan(4000);
    expect(report.failure.error).toContain('Stalled');
  });

  it('lets a step live that keeps touching its heartbeat file', async () => {
    const { result, report } = await runPlan((trace: string) => ({
      stages: { execution: [fixtureStep('beating', trace, { sleep: 2500, beat: 50 }, { heartbeatMs: 1000 })] },
    }));
    expect(result.exitCode).toBe(0);
    const [record] = recordsOf(report, 'beating');
    expect(record.status).toBe('success');
    expect(record.duration_ms).toBeGreaterThanOrEqual(2500);
  });

  it('hands a step with its own cwd absolute heartbeat and cost files, also when output_dir is relative', async () => {
    const dir = tempDir();
    const trace = join(dir, 'trace.jsonl');
    const elsewhere = tempDir();
    const step = fixtureStep('beating', trace, { sleep: 1500, beat: 50, cost: 3 }, { heartbeatMs: 1000, cwd: elsewhere });
    const planPath = writePlan(dir, { stages: { execution: [step] } });
    const result = await runCli(['out', '--plan', planPath], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const report = reportOf(join(dir, 'out'));
    expect(recordsOf(report, 'beating')[0]).toMatchObject({ status: 'success', cost: 3 });
    expect(report.cost.spent).toBe(3);
  });

  it('lets a step live that keeps printing', async () => {
    const { result, report } = await runPlan((trace: string) => ({
      stages: { execution: [fixtureStep('chatty', trace, { sleep: 2500, print: 50 }, { heartbeatMs: 1000 })] },
    }));
    expect(result.exitCode).toBe(0);
    expect(recordsOf(report, 'chatty')[0].status).toBe('success');
  });
});

describe('idempotency keys', () => {
  it('are stage:<Stage>/step:<id> in the records and in each step’s environment', async () => {
    const { result, report, lines } = await runPlan((trace: string) => ({
      stages: {
        planning: [fixtureStep('outline', trace)],
        policy_ingestion: [fixtureStep('rules', trace)],
        execution: [fixtureStep('build', trace), fixtureStep('ship', trace, {}, { idempotencyKey: 'release-42' })],
      },
    }));
    expect(result.exitCode).toBe(0);
    const expected = {
      outline: 'stage:Planning/step:outline',
      rules: 'stage:PolicyIngestion/step:rules',
      build: 'stage:Execution/step:build',
      ship: 'release-42',
    };
    for (const [id, key] of Object.entries(expected)) {
      expect(recordsOf(report, id).map((r: any) => r.idempotency_key)).toEqual([key]);
      expect(startsOf(lines, id).map((l) => l.key)).toEqual([key]);
    }
    expect(new Set(lines.map((l) => l.runId))).toEqual(new Set([report.run_id]));
  });
});

describe('an expected artifact with a JSON Schema', () => {
  it('that the artifact violates fails the step as artifact_missing, naming the violation', async () => {
    const { result, report, dir } = await runPlan((trace: string, dir: string) => {
      const schema = join(dir, 'result.schema.json');
      writeFileSync(schema, JSON.stringify({ type: 'object', required: ['version'] }));
      return {
        stages: {
          execution: [
            fixtureStep('produce', trace, { artifact: join(dir, 'result.json') }, { expectedArtifacts: [{ path: join(dir, 'result.json'), schema }] }),
          ],
        },
      };
    });
    expect(result.exitCode).toBe(1);
    const [record] = recordsOf(report, 'produce');
    expect(record.status).toBe('artifact_missing');
    expect(record.malformed_artifacts).toEqual([join(dir, 'result.json')]);
    expect(record.missing_artifacts).toEqual([]);
    expect(record.error).toContain(join(dir, 'result.json'));
    expect(record.error).toContain("must have required property 'version'");
    expect(report.failure.status).toBe('artifact_missing');
  });

  it('that the artifact satisfies lets the step succeed', async () => {
    const { result, report } = await runPlan((trace: string, dir: string) => {
      const schema = join(dir, 'result.schema.json');
      writeFileSync(schema, JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', required: ['ok'] }));
      return {
        stages: {
          execution: [
            fixtureStep('produce', trace, { artifact: join(dir, 'result.json') }, { expectedArtifacts: [{ path: join(dir, 'result.json'), schema }] }),
          ],
        },
      };
    });
    expect(recordsOf(report, 'produce')[0].status).toBe('success');
    expect(result.exitCode).toBe(0);
  });
});

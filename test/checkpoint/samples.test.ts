/**
 * The sample checkpoints in snapshots/checkpoints/ (one or more per schema version, V0's included)
 * must keep resuming as the code changes. Version-1 samples come from real runs
 * (test/checkpoint/make-samples.ts); V0's are in V0's format.
 */
import { copyFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_SCHEMA_VERSION } from '../../src/checkpoint/schema.js';
import { ROOT, checkpointOf, reportOf, runCli, sideEffects, tempDir } from '../support/cli.js';
import { ALL_FIVE, CHECKPOINT, executor, manager, stagePairs } from '../cli/user-view.js';

const SAMPLES_DIR = join(ROOT, 'snapshots', 'checkpoints');

function sampleVersion(name: string): number {
  const doc = JSON.parse(readFileSync(join(SAMPLES_DIR, name), 'utf8'));
  return typeof doc.schema_version === 'number' ? doc.schema_version : 0;
}

/** Copies the sample into a fresh output dir and resumes it with fixture programs. */
async function resumeSample(name: string, extra: string[] = []) {
  const dir = tempDir();
  const effects = join(dir, 'effects.txt');
  copyFileSync(join(SAMPLES_DIR, name), join(dir, CHECKPOINT));
  const sample = JSON.parse(readFileSync(join(SAMPLES_DIR, name), 'utf8'));
  const result = await runCli([dir, '--resume', ...extra, ...manager('ok'), ...executor('ok')], { env: { SIDE_EFFECTS: effects } });
  return { dir, sample, result, report: reportOf(dir), effects: sideEffects(effects) };
}

const executions = (report: any) => report.stage_executions.map((e: any) => [e.stage, e.status]);

describe('sample checkpoints', () => {
  it('exist for every schema version, V0 included', () => {
    const names = readdirSync(SAMPLES_DIR).filter((name) => name.endsWith('.json'));
    const versions = new Set(names.map(sampleVersion));
    for (let version = 0; version <= CHECKPOINT_SCHEMA_VERSION; version++) expect(versions).toContain(version);
    expect(names).toEqual(
      expect.arrayContaining([
        'v0-planning-completed.json',
        'v0-done.json',
        'v1-done.json',
        'v1-failed-at-execution.json',
        'v1-interrupted-in-execution.json',
        'v1-blocked.json',
        'v2-done.json',
        'v2-failed-at-execution.json',
        'v2-interrupted-in-execution.json',
        'v2-blocked.json',
        'v3-done.json',
        'v3-failed-at-execution.json',
        'v3-interrupted-in-execution.json',
        'v3-blocked.json',
      ]),
    );
  });

  it('V0 planning completed → done, run_id kept, planning one skipped execution, executor ran once', async () => {
    const { dir, sample, result, report, effects } = await resumeSample('v0-planning-completed.json');
    expect(result.exitCode).toBe(0);
    expect(report.run_id).toBe(sample.run_id);
    expect(report.terminal_state).toBe('done');
    expect(stagePairs(report)).toEqual(ALL_FIVE);
    const planning = report.stage_executions.filter((e: any) => e.stage === 'planning');
    expect(planning).toHaveLength(1);
    expect(planning[0]).toMatchObject({ status: 'skipped', error: 'Skipped due to checkpoint resume', idempotency_key: 'stage:Planning' });
    expect(executions(report)).toEqual([
      ['planning', 'skipped'],
      ['execution', 'success'],
    ]);
    expect(effects).toEqual(['execution 1']);
    const checkpoint = checkpointOf(dir);
    expect(checkpoint.run_id).toBe(sample.run_id);
    expect(checkpoint.terminal_state).toBe('done');
  });

  it.each(['v0-done.json', 'v1-done.json', 'v2-done.json', 'v3-done.json'])('%s → exit 0, nothing runs, stage_executions empty', async (name) => {
    const { dir, sample, result, report, effects } = await resumeSample(name);
    expect(result.exitCode).toBe(0);
    expect(report.run_id).toBe(sample.run_id);
    expect(report.terminal_state).toBe('done');
    expect(report.stage_executions).toEqual([]);
    expect(effects).toEqual([]);
    // Nothing ran, so nothing is rewritten: the checkpoint is the sample.
    expect(readFileSync(join(dir, CHECKPOINT), 'utf8')).toBe(readFileSync(join(SAMPLES_DIR, name), 'utf8'));
  });

  it.each([
    'v1-failed-at-execution.json',
    'v1-interrupted-in-execution.json',
    'v2-failed-at-execution.json',
    'v2-interrupted-in-execution.json',
    'v3-failed-at-execution.json',
    'v3-interrupted-in-execution.json',
  ])(
    '%s → the execution stage runs again (attempt 2), planning does not, done',
    async (name) => {
      const { sample, result, report, effects } = await resumeSample(name);
      expect(sample.terminal_state).toBeNull();
      expect(result.exitCode).toBe(0);
      expect(report.run_id).toBe(sample.run_id);
      expect(report.terminal_state).toBe('done');
      expect(stagePairs(report)).toEqual(ALL_FIVE);
      expect(executions(report)).toEqual([
        ['planning', 'skipped'],
        ['execution', 'success'],
      ]);
      expect(effects).toEqual(['execution 2']);
    },
  );

  // Written before the machine invoked its wall clock: the clock is restored with the run all the same.
  it.each(['v1-interrupted-in-execution.json', 'v2-interrupted-in-execution.json', 'v3-interrupted-in-execution.json'])(
    '%s, resumed with a --max-wall-ms long spent → timeout in execution (exit 124), no program runs',
    async (name) => {
      const { result, report, effects } = await resumeSample(name, ['--max-wall-ms', '1000']);
      expect(result.exitCode).toBe(124);
      expect(report.terminal_state).toBe('timeout');
      expect(report.failure).toMatchObject({ stage: 'execution', status: 'timeout', error: 'the run exceeded its maxWallMs' });
      expect(effects).toEqual([]);
    },
  );

  it.each(['v1-blocked.json', 'v2-blocked.json', 'v3-blocked.json'])('%s, resumed without --simulate-blocked → done through closure, no program runs again', async (name) => {
    const { sample, result, report, effects } = await resumeSample(name);
    expect(sample.terminal_state).toBe('blocked');
    expect(result.exitCode).toBe(0);
    expect(report.run_id).toBe(sample.run_id);
    expect(report.terminal_state).toBe('done');
    expect(stagePairs(report).at(-1)).toEqual(['validation', 'closure']);
    expect(effects).toEqual([]);
  });

  it.each(['v1-blocked.json', 'v2-blocked.json', 'v3-blocked.json'])('%s, resumed with --simulate-blocked → blocked again (exit 3), no program runs again', async (name) => {
    const { result, report, effects } = await resumeSample(name, ['--simulate-blocked']);
    expect(result.exitCode).toBe(3);
    expect(report.terminal_state).toBe('blocked');
    expect(JSON.stringify(report.transitions)).not.toContain('closure');
    expect(effects).toEqual([]);
  });
});

/**
 * The autonomous loop (--autonomous-loop) from the command line: upstream's stop messages and
 * exit codes, the report's loop runs, bad input, and a kill -9 in run 2 resumed in run 2.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { STAGE, checkpointOf, readJson, reportOf, runCli, sideEffects, startCli, tempDir, waitFor } from '../support/cli.js';

const runsOf = (report: any) => report.stage_executions.map((e: any) => [e.stage, e.status, e.autonomous_run]);

/** The stop message is printed after the run's two lines, as upstream prints it after its last run's. */
function stdoutLines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line.startsWith('Run report:') || line.startsWith('Terminal state:') || line.startsWith('Autonomous loop'));
}

describe.concurrent('the autonomous loop (--autonomous-loop)', () => {
  it('runs again after a failure and stops once the same failure signature repeats (default 2): exit 1', async ({ expect }) => {
    const dir = tempDir('ao-auto-');
    const out = join(dir, 'out');
    const result = await runCli([out, '--executor-bin', STAGE, '--executor-arg', 'fail', '--autonomous-loop', '--repo-root', dir]);
    expect(result.exitCode).toBe(1);
    expect(stdoutLines(result.stdout)).toEqual([`Run report: ${out}/orchestrator_run_report.json`, 'Terminal state: failed', 'Autonomous loop stopped: same failure signature repeated 2 time(s)']);
    const report = reportOf(out);
    expect(runsOf(report)).toEqual([
      ['execution', 'failed', 1],
      ['execution', 'failed', 1],
      ['execution', 'failed', 2],
      ['execution', 'failed', 2],
    ]);
    expect(report.autonomous_loop).toEqual({
      run: 2,
      max_runs: 3,
      stop_reason: 'Autonomous loop stopped: same failure signature repeated 2 time(s)',
      runs: [1, 2].map((run) => ({
        run,
        terminal_state: 'failed',
        failure_signature: `Some(Failed)||${STAGE}|execution.iteration_budget`,
        noop_signature: null,
        elapsed_ms: report.autonomous_loop.runs[run - 1].elapsed_ms,
      })),
    });
    // The second run entered planning again where the first ended.
    expect(report.transitions.map((t: any) => [t.from_stage, t.to_stage])).toEqual([
      [null, 'planning'], ['planning', 'policy_ingestion'], ['policy_ingestion', 'execution'],
      ['execution', 'planning'], ['planning', 'policy_ingestion'], ['policy_ingestion', 'execution'],
    ]);
    const shown = await runCli(['report', out]);
    expect(shown.stdout).toContain('  autonomous run:     2 of 3\n');
    expect(shown.stdout).toContain('  Autonomous loop stopped: same failure signature repeated 2 time(s)\n');
    // The checkpoint is the loop's last check: --resume ends as the loop did, and runs no program.
    expect(checkpointOf(out).snapshot.value).toBe('autonomous_check');
    const again = await runCli([out, '--executor-bin', STAGE, '--executor-arg', 'fail', '--autonomous-loop', '--repo-root', dir, '--resume']);
    expect(again.exitCode).toBe(1);
    expect(stdoutLines(again.stdout).at(-1)).toBe('Autonomous loop stopped: same failure signature repeated 2 time(s)');
    expect(reportOf(out).stage_executions).toEqual([]);
  });

  it('stops at --autonomous-max-runs, and a blocked run ends the loop with 3 (the last run\'s code)', async ({ expect }) => {
    const dir = tempDir('ao-auto-');
    const out = join(dir, 'out');
    const effects = join(dir, 'effects.txt');
    const result = await runCli([out, '--executor-bin', STAGE, '--executor-arg', 'ok', '--policy-status', 'deny', '--autonomous-loop', '--autonomous-max-runs', '2', '--autonomous-same-error-limit', '5', '--repo-root', dir], { env: { SIDE_EFFECTS: effects } });
    expect(result.exitCode).toBe(3);
    expect(stdoutLines(result.stdout).at(-1)).toBe('Autonomous loop stopped: max runs reached (2)');
    expect(sideEffects(effects)).toEqual(['execution 1', 'execution 2']);
    expect(reportOf(out).autonomous_loop.runs.map((r: any) => r.terminal_state)).toEqual(['blocked', 'blocked']);
  });

  it('ends done (exit 0, no stop message) once a run passes; the next actions are written after each run', async ({ expect }) => {
    const dir = tempDir('ao-auto-');
    const out = join(dir, 'out');
    const executor = join(dir, 'executor.sh');
    writeFileSync(executor, `#!/bin/sh\nif [ -f ${dir}/once ]; then exit 0; fi\ntouch ${dir}/once\nexit 7\n`, { mode: 0o755 });
    const next = join(dir, 'next.json');
    const result = await runCli([out, '--executor-bin', executor, '--autonomous-loop', '--next-actions-path', next, '--repo-root', dir]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain('Autonomous loop');
    expect(runsOf(reportOf(out))).toEqual([['execution', 'failed', 1], ['execution', 'failed', 1], ['execution', 'success', 2]]);
    expect(reportOf(out).autonomous_loop).toMatchObject({ run: 2, stop_reason: null });
    expect(readJson(next)).toMatchObject({ terminal_state: 'done', recommended_actions: [] });
  });

  it('stops after --autonomous-max-duration-ms', async ({ expect }) => {
    const dir = tempDir('ao-auto-');
    const result = await runCli([join(dir, 'out'), '--executor-bin', STAGE, '--executor-arg', 'fail', '--autonomous-loop', '--autonomous-max-duration-ms', '0', '--repo-root', dir]);
    expect(result.exitCode).toBe(1);
    expect(stdoutLines(result.stdout).at(-1)).toBe('Autonomous loop stopped after exceeding max duration (0 ms)');
  });

  it('stops when a run that changed nothing in the repository repeats the last one (no-op signature)', async ({ expect }) => {
    const repo = tempDir('ao-auto-repo-');
    execFileSync('git', ['-C', repo, 'init', '-q']);
    const dir = tempDir('ao-auto-');
    const out = join(dir, 'out');
    const result = await runCli([out, '--executor-bin', STAGE, '--executor-arg', 'fail', '--autonomous-loop', '--autonomous-same-error-limit', '5', '--repo-root', repo]);
    expect(result.exitCode).toBe(1);
    expect(stdoutLines(result.stdout).at(-1)).toBe('Autonomous loop stopped: no-op signature repeated');
    expect(reportOf(out).autonomous_loop.runs.map((r: any) => r.noop_signature)).toEqual([
      `Some(Failed)||${STAGE}|execution.iteration_budget||Inspect failed stage execution and remediate before rerun`,
      `Some(Failed)||${STAGE}|execution.iteration_budget||Inspect failed stage execution and remediate before rerun`,
    ]);
  });

  it('a kill -9 in run 2 resumes in run 2: no program run 2 finished runs again', async ({ expect }) => {
    const dir = tempDir('ao-auto-');
    const out = join(dir, 'out');
    const effects = join(dir, 'effects.txt');
    const executor = join(dir, 'executor.sh');
    writeFileSync(
      executor,
      `#!/bin/sh\nn=$(( $(cat ${dir}/count 2>/dev/null || echo 0) + 1 )); echo $n > ${dir}/count\necho "executor $n" >> ${effects}\ncase $n in 1) exit 7;; 2) touch ${dir}/started; sleep 300;; esac\nexit 0\n`,
      { mode: 0o755 },
    );
    const flags = [out, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', executor, '--autonomous-loop', '--repo-root', dir];
    const first = startCli(flags, { env: { SIDE_EFFECTS: effects } });
    await waitFor(() => existsSync(join(dir, 'started')), 30_000, 'run 2 to start its executor');
    first.child.kill('SIGKILL');
    await first.done;
    expect(checkpointOf(out).snapshot.context.loops.autonomous.run).toBe(2);
    const resumed = await runCli([...flags, '--resume'], { env: { SIDE_EFFECTS: effects } });
    expect(resumed.exitCode).toBe(0);
    // The manager ran once per run, not again on resume; the killed executor ran again, in run 2.
    expect(sideEffects(effects)).toEqual(['planning 1', 'executor 1', 'planning 2', 'executor 2', 'executor 3']);
    const report = reportOf(out);
    expect(report.autonomous_loop).toMatchObject({ run: 2, stop_reason: null });
    expect(report.stage_executions.map((e: any) => [e.stage, e.status, e.autonomous_run])).toEqual([
      ['planning', 'skipped', 2],
      ['execution', 'success', 2],
    ]);
  });
});

describe.concurrent('the autonomous loop\'s bad input: exit 2, upstream\'s line', () => {
  const cases: [string[], string][] = [
    [['--autonomous-max-runs', '0'], 'Invalid --autonomous-max-runs value: must be >= 1'],
    [['--autonomous-same-error-limit', '0'], 'Invalid --autonomous-same-error-limit value: must be >= 1'],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async ({ expect }) => {
      const result = await runCli([join(tempDir('ao-auto-bad-'), 'out'), '--autonomous-loop', ...args]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(`autonomy-orchestrator: ${message}`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }
});

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';
import { CHECKPOINT, LOCK, REPORT, executor, filesUnder, manager, envFile } from './user-view.js';

describe("a stage program's environment", () => {
  it("holds the parent's environment, its own pairs (split on the first '=') and the ORCHESTRATOR_ variables", async () => {
    const dir = tempDir();
    const dumps = tempDir('ao-env-');
    const managerEnv = join(dumps, 'manager.env');
    const executorEnv = join(dumps, 'executor.env');
    const result = await runCli(
      [
        dir,
        ...manager('env', managerEnv),
        '--manager-env',
        'A=b=c',
        '--manager-env',
        'EMPTY=',
        '--manager-env',
        'FROM_PARENT=overridden',
        ...executor('env', executorEnv),
        '--executor-env',
        'B=1',
      ],
      { env: { PARENT_ONLY: 'from-parent', FROM_PARENT: 'parent' } },
    );
    expect(result.exitCode).toBe(0);
    const report = reportOf(dir);

    const planning = envFile(managerEnv);
    expect(planning.get('A')).toBe('b=c');
    expect(planning.get('EMPTY')).toBe('');
    expect(planning.get('FROM_PARENT')).toBe('overridden');
    expect(planning.get('PARENT_ONLY')).toBe('from-parent');
    expect(planning.has('B')).toBe(false);
    expect(planning.get('ORCHESTRATOR_RUN_ID')).toBe(report.run_id);
    expect(planning.get('ORCHESTRATOR_STAGE')).toBe('planning');
    expect(planning.get('ORCHESTRATOR_IDEMPOTENCY_KEY')).toBe('stage:Planning');
    expect(planning.get('ORCHESTRATOR_ATTEMPT')).toBe('1');

    const execution = envFile(executorEnv);
    expect(execution.get('B')).toBe('1');
    expect(execution.has('A')).toBe(false);
    expect(execution.get('FROM_PARENT')).toBe('parent');
    expect(execution.get('ORCHESTRATOR_RUN_ID')).toBe(report.run_id);
    expect(execution.get('ORCHESTRATOR_STAGE')).toBe('execution');
    expect(execution.get('ORCHESTRATOR_IDEMPOTENCY_KEY')).toBe('stage:Execution');
    expect(execution.get('ORCHESTRATOR_ATTEMPT')).toBe('1');

    expect(report.stage_executions.map((e: any) => e.env_keys)).toEqual([['A', 'EMPTY', 'FROM_PARENT'], ['B']]);
  });

  it('values never appear in any file the tool writes: while running, when stopped, and after --resume', async () => {
    const dir = tempDir();
    const dumps = tempDir('ao-env-');
    const secret = `secret-${randomUUID()}`;
    const executorSecret = `secret-${randomUUID()}`;
    const started = join(dumps, 'started');
    const managerEnv = join(dumps, 'manager.env');
    const common = [dir, '--kill-grace-ms', '300', ...manager('env', managerEnv), '--manager-env', `SECRET_TOKEN=${secret}`];
    const secretFlags = ['--executor-env', `SECRET_TOKEN=${executorSecret}`];
    const leaks = () =>
      filesUnder(dir).filter((file) => {
        const text = readFileSync(file, 'utf8');
        return text.includes(secret) || text.includes(executorSecret);
      });

    const run = startCli([...common, ...executor('started-then-sleep', started), ...secretFlags]);
    await waitFor(() => existsSync(started), 10_000, 'the executor to start');
    // The program did get the value (from its environment, written outside the output dir).
    expect(envFile(managerEnv).get('SECRET_TOKEN')).toBe(secret);
    const whileRunning = filesUnder(dir).map((file) => file.slice(dir.length + 1));
    expect(whileRunning).toEqual(expect.arrayContaining([REPORT, CHECKPOINT, LOCK, 'logs/execution.executor.attempt-1.stdout.log']));
    expect(leaks()).toEqual([]);

    run.child.kill('SIGTERM');
    expect((await run.done).exitCode).toBe(143);
    expect(leaks()).toEqual([]);

    const resumed = await runCli([...common, '--resume', ...executor('ok'), ...secretFlags]);
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(dir).stage_executions.at(-1).env_keys).toEqual(['SECRET_TOKEN']);
    expect(filesUnder(dir).length).toBeGreaterThanOrEqual(6);
    expect(leaks()).toEqual([]);
  });
});

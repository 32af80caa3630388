/**
 * The library's `runId` option: a fresh run given an id another run's process carries is refused
 * before anything runs (its end would otherwise end that process); a generated id is not checked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorError, runOrchestration } from '../../src/index.js';
import { STAGE, processAlive, tempDir, waitFor } from '../support/cli.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A process of "another run": `sleep` with the run's id in its environment. */
async function otherRunsStep(runId: string): Promise<number> {
  const child = spawn('sleep', ['30'], { env: { ...process.env, ORCHESTRATOR_RUN_ID: runId }, stdio: 'ignore' });
  children.push(child);
  await waitFor(() => child.pid !== undefined && processAlive(child.pid), 5_000, 'sleep to start');
  return child.pid!;
}

const plan = { stages: { execution: [{ id: 'work', bin: STAGE, args: ['ok'] }] } };

describe('runOrchestration with a runId', () => {
  it('is refused, exit code 1, while a live process carries ORCHESTRATOR_RUN_ID=<that id>; the process is left alone', async () => {
    const pid = await otherRunsStep('lib-run-1');
    const out = join(tempDir('ao-runid-'), 'out');
    const refusal = await runOrchestration({ outputDir: out, plan }, { runId: 'lib-run-1', tracer: null }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OrchestratorError);
    expect((refusal as OrchestratorError).exitCode).toBe(1);
    expect((refusal as OrchestratorError).message).toBe(
      `run id lib-run-1: another run with this id is running (pid ${pid} carries ORCHESTRATOR_RUN_ID=lib-run-1); give this run another runId, or wait for that run to end`,
    );
    expect(existsSync(join(out, 'orchestrator_run_report.json'))).toBe(false);
    expect(existsSync(join(out, 'orchestrator_checkpoint.json'))).toBe(false);
    expect(processAlive(pid)).toBe(true);
  });

  it('runs with an id no process carries, another run going on; so does a run with a generated id', async () => {
    const pid = await otherRunsStep('lib-run-2');
    const free = await runOrchestration({ outputDir: join(tempDir('ao-runid-'), 'out'), plan }, { runId: 'lib-run-3', tracer: null });
    expect(free.exitCode).toBe(0);
    expect(free.report.run_id).toBe('lib-run-3');
    const generated = await runOrchestration({ outputDir: join(tempDir('ao-runid-'), 'out'), plan }, { tracer: null });
    expect(generated.exitCode).toBe(0);
    expect(generated.report.run_id).toMatch(/^run_\d+_[0-9a-f]+$/);
    expect(processAlive(pid)).toBe(true);
  });
});

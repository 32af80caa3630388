/**
 * Many workers on one BullMQ queue: kill -9 one in the middle of a step, and every run still ends
 * done, each completed step having run exactly once; only the killed worker's in-flight step may
 * have run twice (once by the dead worker's orphan, once by the worker that took the run over).
 * The run taken over ends with one report holding every step's record, the dead worker's too, and
 * `status` counts them all. SIGTERM hands a run back.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixtureStep, traceOf, writePlan } from '../plans/plan-runs.js';
import { readJson, runCli, tempDir, waitFor } from '../support/cli.js';
import { WORKER_TEST_MS, describeWithQueue, startWorker, submit, until } from './queue-support.js';

const STEPS = ['s1', 's2', 's3'];

describeWithQueue('workers on a BullMQ queue', (queue) => {
  it('kill -9 of one of three workers mid-step: every run ends done, completed steps ran once, the dead worker\'s records are in the report and the counts', async () => {
    const dir = tempDir('ao-takeover-');
    const runIds = Array.from({ length: 6 }, (_, i) => `run_takeover_${i}`);
    const traceOfRun = (runId: string) => join(dir, `${runId}.trace`);
    for (const runId of runIds) {
      const trace = traceOfRun(runId);
      const plan = writePlan(dir, {
        stages: {
          planning: [fixtureStep('s1', trace, { sleep: 400 })],
          execution: [fixtureStep('s2', trace, { sleep: 400 })],
          validation: [fixtureStep('s3', trace, { sleep: 400 })],
        },
      }, `${runId}.plan.json`);
      await submit(queue, plan, runId);
    }
    const workers = [0, 1, 2].map((i) => startWorker(queue, join(dir, `worker-${i}`)));
    const victim = workers[0]!;

    // The victim's run, at a moment when it has completed a step and started another that has not ended.
    let inFlight: { runId: string; step: string } | null = null;
    const deadline = Date.now() + 60_000;
    while (!inFlight && Date.now() < deadline) {
      const mine = (await queue.rows()).find((row) => row.state === 'running' && row.worker?.includes(`:${victim.child.pid}:`));
      if (mine) {
        const trace = traceOf(traceOfRun(mine.run_id));
        const open = STEPS.slice(1).find((s) => trace.some((t) => t.event === 'start' && t.step === s) && !trace.some((t) => t.event === 'end' && t.step === s));
        if (open) inFlight = { runId: mine.run_id, step: open };
      }
      if (!inFlight) await new Promise((r) => setTimeout(r, 20));
    }
    expect(inFlight, 'the victim worker started a second step').not.toBeNull();
    victim.child.kill('SIGKILL');

    const rows = await until(queue, (all) => all.length === runIds.length && all.every((row) => row.state === 'done'), 'every run to end done');
    expect(rows.map((row) => [row.run_id, row.state])).toEqual(runIds.map((id) => [id, 'done']));
    const taken = rows.find((row) => row.run_id === inFlight!.runId)!;
    expect(taken.starts).toBeGreaterThanOrEqual(2);
    expect(taken.worker).not.toContain(`:${victim.child.pid}:`);

    for (const worker of workers.slice(1)) worker.child.kill('SIGTERM');
    for (const worker of workers.slice(1)) expect((await worker.done).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 500)); // the dead worker's orphaned step may still be writing its trace

    for (const runId of runIds) {
      const trace = traceOf(traceOfRun(runId));
      for (const step of STEPS) {
        const starts = trace.filter((t) => t.event === 'start' && t.step === step).length;
        const ends = trace.filter((t) => t.event === 'end' && t.step === step && !t.failed).length;
        expect(ends, `${runId} ${step} completed`).toBeGreaterThanOrEqual(1);
        if (runId === inFlight!.runId && step === inFlight!.step) expect(starts, `${runId} ${step} (in flight at the kill)`).toBeLessThanOrEqual(2);
        else expect(starts, `${runId} ${step} ran once`).toBe(1);
      }
    }

    // One report per run: the one the heir wrote holds every completed step once, the dead worker's included.
    const reports = readdirSync(dir)
      .filter((name) => name.startsWith('worker-'))
      .map((name) => join(dir, name, inFlight!.runId, 'orchestrator_run_report.json'))
      .filter((path) => existsSync(path))
      .map((path) => readJson(path));
    const final = reports.find((report) => report.terminal_state === 'done');
    expect(final, 'a final report of the run taken over').toBeDefined();
    const succeeded = [...final.earlier_stage_executions, ...final.stage_executions].filter((record: { status: string }) => record.status === 'success');
    expect(succeeded.map((record: { step: string }) => record.step).sort()).toEqual(STEPS);

    const status = await runCli(['status', '--store', queue.address, '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const row = status.stdout.trim().split('\n').map((line) => JSON.parse(line)).find((r) => r.run_id === inFlight!.runId);
    expect(row.steps).toEqual({
      'planning/s1': { success: 1, failure: 0 },
      'execution/s2': { success: 1, failure: 0 },
      'validation/s3': { success: 1, failure: 0 },
    });
  }, WORKER_TEST_MS);

  it('SIGTERM: the worker stops its step, hands the run back with its checkpoint, and exits 0; another worker finishes it', async () => {
    const dir = tempDir('ao-sigterm-');
    const trace = join(dir, 'trace');
    const plan = writePlan(dir, {
      stages: { planning: [fixtureStep('s1', trace, { sleep: 100 })], execution: [fixtureStep('s2', trace, { sleep: 1_500 })] },
    });
    await submit(queue, plan, 'run_handed_back');
    const first = startWorker(queue, join(dir, 'worker-1'));
    await waitFor(() => traceOf(trace).some((t) => t.event === 'start' && t.step === 's2'), 30_000, 's2 to start');
    first.child.kill('SIGTERM');
    const outcome = await first.done;
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stderr).toMatch(/run run_handed_back: stopped by SIGTERM; handed back to the queue/);
    const handed = (await queue.rows())[0]!;
    expect(handed.state).toBe('queued');
    expect(JSON.parse(handed.document!).completed_stages).toEqual(['planning', 'policy_ingestion']);

    const second = startWorker(queue, join(dir, 'worker-2'));
    await until(queue, (rows) => rows[0]?.state === 'done', 'the run to end done');
    second.child.kill('SIGTERM');
    expect((await second.done).exitCode).toBe(0);
    expect(traceOf(trace).filter((t) => t.event === 'start' && t.step === 's1')).toHaveLength(1);
  }, WORKER_TEST_MS);
});

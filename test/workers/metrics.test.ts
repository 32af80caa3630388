/** A worker's Prometheus metrics, scraped over HTTP as Prometheus would, after real runs and a takeover. */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixtureStep, traceOf, writePlan } from '../plans/plan-runs.js';
import { tempDir, waitFor } from '../support/cli.js';
import { WORKER_TEST_MS, describeWithQueue, startWorker, submit, until } from './queue-support.js';


/** `name{labels} value` lines of a scrape, by `name{labels}`. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

describeWithQueue('worker metrics', (queue) => {
  it('--metrics-port: runs by terminal state, step durations, retries and lease takeovers on 127.0.0.1', async () => {
    const dir = tempDir('ao-metrics-');
    const trace = join(dir, 'trace');
    // Taken over: its first worker is killed in the middle of the step.
    const slow = writePlan(dir, { stages: { planning: [fixtureStep('slow', join(dir, 'slow.trace'), { 'sleep-first': 30_000 })] } }, 'slow.json');
    await submit(queue, slow, 'run_m_0');
    const victim = startWorker(queue, join(dir, 'victim'), 1_000);
    await waitFor(() => traceOf(join(dir, 'slow.trace')).length > 0, 30_000, 'the slow step to start');
    victim.child.kill('SIGKILL');
    await victim.done;

    const flaky = writePlan(dir, { stages: { execution: [fixtureStep('flaky', trace, { 'fail-attempts': 1 }, { retries: { max: 1, backoffMs: 0 } })] } }, 'flaky.json');
    const broken = writePlan(dir, { stages: { planning: [fixtureStep('broken', trace, { 'fail-attempts': 5 })] } }, 'broken.json');
    await submit(queue, flaky, 'run_m_1');
    await submit(queue, broken, 'run_m_2');
    const worker = startWorker(queue, join(dir, 'w'), 1_000, ['--metrics-port', '0']);
    let stderr = '';
    worker.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => /metrics at (\S+)/.test(stderr), 30_000, 'the metrics URL');
    const url = /metrics at (\S+)/.exec(stderr)![1]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    await until(queue, (rows) => rows.length === 3 && rows.every((row) => row.state === 'done' || row.state === 'failed'), 'the three runs to end');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const got = samples(text);
    expect(got.get('autonomy_orchestrator_runs_total{state="done"}')).toBe(2);
    expect(got.get('autonomy_orchestrator_runs_total{state="failed"}')).toBe(1);
    expect(got.get('autonomy_orchestrator_runs_in_progress')).toBe(0);
    expect(got.get('autonomy_orchestrator_lease_takeovers_total')).toBe(1);
    expect(got.get('autonomy_orchestrator_step_retries_total{stage="execution"}')).toBe(1);
    expect(got.get('autonomy_orchestrator_step_duration_seconds_count{stage="execution",status="success"}')).toBe(1);
    expect(got.get('autonomy_orchestrator_step_duration_seconds_count{stage="execution",status="failed"}')).toBe(1);
    expect(got.get('autonomy_orchestrator_step_duration_seconds_bucket{stage="planning",status="failed",le="+Inf"}')).toBe(1);
    expect(text).toContain('# TYPE autonomy_orchestrator_step_duration_seconds histogram');
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);

    worker.child.kill('SIGTERM');
    expect((await worker.done).exitCode).toBe(0);
    // The dead worker's orphaned first attempt would otherwise sleep on.
    for (const line of traceOf(join(dir, 'slow.trace'))) if (line.attempt === 1) try { process.kill(line.pid); } catch { /* gone */ }
  }, WORKER_TEST_MS);

  it('a port that is taken: exit 1 with one line naming the flag', async () => {
    const first = startWorker(queue, tempDir(), 1_500, ['--metrics-port', '0']);
    let stderr = '';
    first.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => /metrics at (\S+)/.test(stderr), 30_000, 'the metrics URL');
    const port = new URL(/metrics at (\S+)/.exec(stderr)![1]!).port;
    const second = startWorker(queue, tempDir(), 1_500, ['--metrics-port', port]);
    const outcome = await second.done;
    first.child.kill('SIGTERM');
    await first.done;
    expect(outcome.exitCode).toBe(1);
    expect(outcome.stderr).toMatch(new RegExp(`--metrics-port ${port}: cannot listen on 127.0.0.1: EADDRINUSE`));
  }, WORKER_TEST_MS);
});

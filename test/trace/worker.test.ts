// A worker started with an OTLP endpoint traces each run it drives, and sends what is left when it
// is stopped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, runCli, startCli, tempDir } from '../support/cli.js';
import { writePlan } from '../plans/plan-runs.js';
import { WORKER_TEST_MS, describeWithQueue, submit, until, withWorker } from '../workers/queue-support.js';
import { startReceiver } from './otlp-receiver.js';

const TRACEPARENT_STEP = join(ROOT, 'test', 'fixtures', 'traceparent.mjs');

describeWithQueue('a traced worker', (queue) => {
  it('exports each run it drives as a trace, its steps handed their attempt span', async () => {
    const receiver = await startReceiver();
    try {
      const dir = tempDir('ao-traced-worker-');
      const plan = writePlan(dir, { stages: { execution: [{ id: 'agent', bin: process.execPath, args: [TRACEPARENT_STEP, join(dir, 'ctx.json')] }] } });
      await submit(queue, plan, 'run_traced');
      const worker = startCli(['worker', '--store', queue.address, '--lock-ms', '1500', '--stalled-interval-ms', '750', '--work-dir', join(dir, 'w')], {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      });
      await withWorker(worker, async () => {
        await until(queue, (rows) => rows.some((row) => row.run_id === 'run_traced' && row.state === 'done'), 'the run to end');
      });
      const run = receiver.spans.find((s) => s.name === 'RUN autonomy-orchestrator');
      expect(run?.attributes).toMatchObject({ 'cicd.pipeline.run.id': 'run_traced', 'cicd.pipeline.result': 'success' });
      const agent = receiver.spans.find((s) => s.name === 'execution/agent')!;
      expect(agent.traceId).toBe(run!.traceId);
      expect(JSON.parse(readFileSync(join(dir, 'ctx.json'), 'utf8')).traceparent).toBe(`00-${agent.traceId}-${agent.spanId}-01`);
    } finally {
      await receiver.close();
    }
  }, WORKER_TEST_MS);

  it('links a run resumed from the store (as a worker taking a run over does) to its first invocation', async () => {
    const receiver = await startReceiver();
    try {
      const dir = tempDir('ao-traced-store-');
      const plan = writePlan(dir, { stages: { execution: [{ id: 'broken', bin: process.execPath, args: [TRACEPARENT_STEP, join(dir, 'ctx.json'), '1'] }] } });
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
      const out = join(dir, 'out');
      const first = await runCli([out, '--plan', plan, '--store', queue.address, '--run-id', 'run_linked'], { env });
      expect(first.exitCode, first.stderr).toBe(1);
      const firstRun = receiver.spans.find((s) => s.name === 'RUN plan')!;
      receiver.spans.length = 0;
      const again = await runCli([out, '--plan', plan, '--store', queue.address, '--run-id', 'run_linked', '--resume'], { env });
      expect(again.exitCode, again.stderr).toBe(1);
      const resumed = receiver.spans.find((s) => s.name === 'RUN plan')!;
      expect(resumed.attributes).toMatchObject({ 'cicd.pipeline.run.id': 'run_linked', 'autonomy_orchestrator.resumed': true });
      expect(resumed.links.map((l) => [l.traceId, l.spanId])).toEqual([[firstRun.traceId, firstRun.spanId]]);
    } finally {
      await receiver.close();
    }
  }, WORKER_TEST_MS);
});

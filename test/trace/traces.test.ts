// Traces: the real CLI, run with the standard OTEL_* variables against an OTLP/HTTP receiver in
// this test, exports the run, its stages and its step attempts as spans, hands each attempt's
// program its span as TRACEPARENT, and never lets the collector change how the run ends.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, checkpointOf, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';
import { fixtureStep, startsOf, traceOf, writePlan } from '../plans/plan-runs.js';
import { type ReceivedSpan, type Receiver, deadEndpoint, startReceiver } from './otlp-receiver.js';

const TRACEPARENT_STEP = join(ROOT, 'test', 'fixtures', 'traceparent.mjs');
const LOADED_MODULES = pathToFileURL(join(ROOT, 'test', 'fixtures', 'loaded-modules.mjs')).href;
const SECRET = 'trace-secret-value-5f1c';
const W3C = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

/** A step that writes the TRACEPARENT and TRACESTATE it was given to `out`, then exits `code`. */
function contextStep(id: string, out: string, code = 0, extra: Record<string, unknown> = {}) {
  return { id, bin: process.execPath, args: [TRACEPARENT_STEP, out, String(code)], ...extra };
}

function contextIn(path: string): { traceparent: string | null; tracestate: string | null } {
  return JSON.parse(readFileSync(path, 'utf8')) as { traceparent: string | null; tracestate: string | null };
}

function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found.map((s) => s.name), `one span named ${name}`).toEqual([name]);
  return found[0]!;
}

function otel(receiver: Receiver, extra: Record<string, string> = {}): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', ...extra };
}

let receiver: Receiver;
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver.close();
});

describe('traces over OTLP/HTTP', () => {
  it('exports the run, each stage and each step attempt, nested, attributed and with ERROR where it failed', async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const steps = join(dir, 'steps.jsonl');
    const plan = writePlan(
      dir,
      {
        stages: {
          planning: [contextStep('plan', join(dir, 'plan.ctx.json'), 0, { env: { API_TOKEN: SECRET } })],
          execution: [
            fixtureStep('flaky', steps, { 'fail-attempts': 1 }, { retries: { max: 1, backoffMs: 0, factor: 1 } }),
            contextStep('agent', join(dir, 'agent.ctx.json'), 0, { needs: ['flaky'] }),
            contextStep('broken', join(dir, 'broken.ctx.json'), 3, { needs: ['agent'] }),
          ],
        },
      },
      'nightly.json',
    );

    const result = await runCli([out, '--plan', plan], { env: otel(receiver, { OTEL_SERVICE_NAME: 'nightly-runs', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test' }) });
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stderr).not.toMatch(/warning: trace/);
    const report = reportOf(out);
    const { spans } = receiver;

    const run = only(spans, 'RUN nightly');
    expect(run.kind).toBe(2);
    expect(run.parentSpanId).toBe('');
    expect(run.attributes).toMatchObject({
      'cicd.pipeline.name': 'nightly',
      'cicd.pipeline.run.id': report.run_id,
      'cicd.pipeline.action.name': 'RUN',
      'cicd.pipeline.result': 'failure',
      'error.type': 'failed',
      'autonomy_orchestrator.terminal_state': 'failed',
      'autonomy_orchestrator.resumed': false,
    });
    expect(run.status.code).toBe(2);
    expect(run.resource).toMatchObject({ 'service.name': 'nightly-runs', 'deployment.environment.name': 'test' });
    // The machine's moves, as events on the run's span.
    expect(run.events.map((e) => `${e.name}:${e.attributes['autonomy_orchestrator.to']}`)).toEqual([
      'transition:planning',
      'transition:policy_ingestion',
      'transition:execution',
      'transition:failed',
      'terminal:failed',
    ]);
    expect(run.events[3]!.attributes['autonomy_orchestrator.from']).toBe('execution');

    // One trace; stages under the run, attempts under their stage.
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([run.traceId]));
    const planning = only(spans, 'planning');
    const execution = only(spans, 'execution');
    for (const stage of [planning, execution, only(spans, 'policy_ingestion')]) expect(stage.parentSpanId).toBe(run.spanId);
    expect(planning.status.code).toBe(0);
    expect(execution.status.code).toBe(2);
    expect(execution.attributes).toMatchObject({ 'autonomy_orchestrator.stage': 'execution', 'error.type': 'failed', 'autonomy_orchestrator.step': 'broken' });

    const flaky = spans.filter((s) => s.name === 'execution/flaky').sort((a, b) => Number(a.attributes['autonomy_orchestrator.attempt']) - Number(b.attributes['autonomy_orchestrator.attempt']));
    expect(flaky.map((s) => [s.attributes['autonomy_orchestrator.attempt'], s.attributes['autonomy_orchestrator.exit_code'], s.attributes['cicd.pipeline.task.run.result'], s.status.code])).toEqual([
      [1, 1, 'failure', 2],
      [2, 0, 'success', 0],
    ]);
    for (const span of flaky) expect(span.parentSpanId).toBe(execution.spanId);
    expect(flaky[0]!.attributes).toMatchObject({
      'cicd.pipeline.run.id': report.run_id,
      'cicd.pipeline.task.name': 'execution/flaky',
      'cicd.pipeline.task.run.id': `${report.run_id}/execution/flaky/attempt-1`,
      'autonomy_orchestrator.step': 'flaky',
      'autonomy_orchestrator.stage': 'execution',
      'autonomy_orchestrator.status': 'failed',
      'error.type': 'failed',
    });
    const broken = only(spans, 'execution/broken');
    expect(broken.attributes).toMatchObject({ 'autonomy_orchestrator.exit_code': 3, 'autonomy_orchestrator.status': 'failed', 'cicd.pipeline.task.run.result': 'failure' });
    expect(broken.status).toMatchObject({ code: 2, message: 'failed (exit 3)' });
    expect(only(spans, 'planning/plan').parentSpanId).toBe(planning.spanId);
    expect(only(spans, 'planning/plan').kind).toBe(1);

    // Each program got its own attempt's span as TRACEPARENT.
    for (const [file, name] of [
      ['plan.ctx.json', 'planning/plan'],
      ['agent.ctx.json', 'execution/agent'],
      ['broken.ctx.json', 'execution/broken'],
    ] as const) {
      const span = only(spans, name);
      expect(contextIn(join(dir, file)).traceparent).toBe(`00-${span.traceId}-${span.spanId}-01`);
    }
    // Neither an environment value nor the trace variables land in the report.
    expect(receiver.bodies.join('')).not.toContain(SECRET);
    expect(report.stage_executions.find((e: any) => e.step === 'agent').env_keys).toEqual([]);
    // The first invocation's run span is kept for a resume to link to.
    expect(checkpointOf(out).trace).toEqual({ traceparent: `00-${run.traceId}-${run.spanId}-01` });

    // A resume is a trace of its own, linked to the first invocation's.
    receiver.spans.length = 0;
    const resumed = await runCli([out, '--resume'], { env: otel(receiver) });
    expect(resumed.exitCode, resumed.stderr).toBe(1);
    const again = only(receiver.spans, 'RUN nightly');
    expect(again.traceId).not.toBe(run.traceId);
    expect(again.parentSpanId).toBe('');
    expect(again.attributes).toMatchObject({ 'cicd.pipeline.run.id': report.run_id, 'autonomy_orchestrator.resumed': true });
    expect(again.links).toEqual([{ traceId: run.traceId, spanId: run.spanId, attributes: { 'autonomy_orchestrator.link': 'first_invocation' } }]);
    expect(receiver.spans.filter((s) => s.name.startsWith('planning')).map((s) => s.name)).toEqual([]);
    expect(checkpointOf(out).trace).toEqual({ traceparent: `00-${run.traceId}-${run.spanId}-01` });
  });

  it('nests the run under the TRACEPARENT it was started with, and passes TRACESTATE on', async () => {
    const dir = tempDir();
    const parent = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
    const plan = writePlan(dir, { stages: { execution: [contextStep('agent', join(dir, 'agent.ctx.json'))] } });
    const result = await runCli([join(dir, 'out'), '--plan', plan], {
      env: otel(receiver, { TRACEPARENT: `00-${parent.traceId}-${parent.spanId}-01`, TRACESTATE: 'ci=abc123' }),
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const run = only(receiver.spans, 'RUN plan');
    expect(run).toMatchObject({ traceId: parent.traceId, parentSpanId: parent.spanId });
    expect(run.attributes['cicd.pipeline.result']).toBe('success');
    expect(run.status.code).toBe(0);
    const agent = only(receiver.spans, 'execution/agent');
    expect(contextIn(join(dir, 'agent.ctx.json'))).toEqual({ traceparent: `00-${parent.traceId}-${agent.spanId}-01`, tracestate: 'ci=abc123' });
  });

  it('hands no stale TRACESTATE on under a new TRACEPARENT, neither the caller’s nor the step’s own', async () => {
    const dir = tempDir();
    const plan = writePlan(dir, {
      stages: { execution: [contextStep('agent', join(dir, 'agent.ctx.json'), 0, { env: { TRACESTATE: 'step=own' } })] },
    });
    const result = await runCli([join(dir, 'out'), '--plan', plan], { env: otel(receiver, { TRACESTATE: 'vendor=stale' }) });
    expect(result.exitCode, result.stderr).toBe(0);
    const agent = only(receiver.spans, 'execution/agent');
    expect(contextIn(join(dir, 'agent.ctx.json'))).toEqual({ traceparent: `00-${agent.traceId}-${agent.spanId}-01`, tracestate: null });
  });

  it('says in a failed step’s status its status and exit code, never what the step wrote', async () => {
    const dir = tempDir();
    const artifact = join(dir, 'artifact.json');
    const plan = writePlan(dir, {
      stages: {
        execution: [
          { id: 'leaky', bin: '/bin/sh', args: ['-c', `printf 'TOKEN=${SECRET}' > ${artifact}`], expectedArtifacts: [artifact] },
        ],
      },
    });
    const result = await runCli([join(dir, 'out'), '--plan', plan], { env: otel(receiver) });
    expect(result.exitCode, result.stderr).toBe(1);
    const leaky = only(receiver.spans, 'execution/leaky');
    expect(leaky.status.code).toBe(2);
    expect(JSON.stringify(receiver.spans)).not.toContain(SECRET);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('ends and sends every span when the run is stopped by %s', async (signal, exitCode) => {
    const dir = tempDir();
    const steps = join(dir, 'steps.jsonl');
    const plan = writePlan(dir, { stages: { execution: [fixtureStep('slow', steps, { sleep: 30_000 })] } });
    const { child, done } = startCli([join(dir, 'out'), '--plan', plan], { env: otel(receiver) });
    await waitFor(() => startsOf(traceOf(steps), 'slow').length === 1, 10_000, 'the step to start');
    child.kill(signal);
    const result = await done;
    expect(result.exitCode, result.stderr).toBe(exitCode);
    const run = only(receiver.spans, 'RUN plan');
    expect(run.attributes).toMatchObject({ 'cicd.pipeline.result': 'cancellation', 'autonomy_orchestrator.interrupted_by': signal });
    const slow = only(receiver.spans, 'execution/slow');
    expect(slow.attributes).toMatchObject({ 'cicd.pipeline.task.run.result': 'cancellation', 'autonomy_orchestrator.interrupted': true });
    expect(only(receiver.spans, 'execution').parentSpanId).toBe(run.spanId);
  });

  it('marks a step past its timeout, its stage and the run as timeout, status ERROR', async () => {
    const dir = tempDir();
    const plan = writePlan(dir, { stages: { execution: [fixtureStep('slow', join(dir, 'steps.jsonl'), { sleep: 30_000 }, { timeoutMs: 300 })] } });
    const result = await runCli([join(dir, 'out'), '--plan', plan, '--kill-grace-ms', '200'], { env: otel(receiver) });
    expect(result.exitCode, result.stderr).toBe(124);
    const run = only(receiver.spans, 'RUN plan');
    expect(run.attributes).toMatchObject({ 'cicd.pipeline.result': 'timeout', 'autonomy_orchestrator.terminal_state': 'timeout' });
    expect(run.status.code).toBe(2);
    expect(only(receiver.spans, 'execution').status.code).toBe(2);
    const slow = only(receiver.spans, 'execution/slow');
    expect(slow.attributes).toMatchObject({ 'cicd.pipeline.task.run.result': 'timeout', 'autonomy_orchestrator.status': 'timeout', 'error.type': 'timeout' });
    expect(slow.status).toMatchObject({ code: 2, message: 'timeout' });
  });

  it('keeps the run as it is when the collector is down: its exit code, one warning at most', async () => {
    const dir = tempDir();
    const plan = writePlan(dir, { stages: { execution: [contextStep('agent', join(dir, 'agent.ctx.json'))], closure: [contextStep('wrap', join(dir, 'wrap.ctx.json'), 3)] } });
    const result = await runCli([join(dir, 'out'), '--plan', plan], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: await deadEndpoint() } });
    expect(result.exitCode).toBe(1);
    expect(reportOf(join(dir, 'out')).terminal_state).toBe('failed');
    expect(result.stderr.split('\n').filter((line) => /trace/i.test(line)).length).toBeLessThanOrEqual(1);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(contextIn(join(dir, 'agent.ctx.json')).traceparent).toMatch(W3C);
  });

  it('sends OTLP protobuf by default, to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given', async () => {
    const dir = tempDir();
    const plan = writePlan(dir, { stages: { execution: [contextStep('agent', join(dir, 'agent.ctx.json'))] } });
    const result = await runCli([join(dir, 'out'), '--plan', plan], { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces` } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(receiver.requests).toEqual([{ url: '/v1/traces', contentType: 'application/x-protobuf' }]);
  });

  it.each([
    ['OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true' }],
    ['OTEL_TRACES_EXPORTER=none', { OTEL_TRACES_EXPORTER: 'none' }],
  ])('sends nothing and hands no TRACEPARENT with %s', async (_name, extra) => {
    const dir = tempDir();
    const plan = writePlan(dir, { stages: { execution: [contextStep('agent', join(dir, 'agent.ctx.json'))] } });
    const result = await runCli([join(dir, 'out'), '--plan', plan], { env: otel(receiver, extra) });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(receiver.requests).toEqual([]);
    expect(contextIn(join(dir, 'agent.ctx.json'))).toEqual({ traceparent: null, tracestate: null });
  });

  it('runs untraced, with one warning, where the SDK cannot be loaded', async () => {
    const dir = tempDir();
    // The CLI alone, away from node_modules: everything but the on-demand packages is in its bundle.
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    const plan = writePlan(dir, { stages: { execution: [contextStep('agent', join(dir, 'agent.ctx.json'))] } });
    const result = await runCli([join(dir, 'out'), '--plan', plan], { env: otel(receiver), cli: join(dir, 'dist', 'cli.js'), cwd: dir });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr.split('\n').filter((line) => /trace/i.test(line))).toEqual([
      'autonomy-orchestrator: warning: traces are off: the OpenTelemetry SDK could not be set up (MODULE_NOT_FOUND)',
    ]);
    expect(receiver.requests).toEqual([]);
    expect(contextIn(join(dir, 'agent.ctx.json')).traceparent).toBeNull();
  });

  it('loads no OpenTelemetry module without an endpoint (and does with one)', async () => {
    const dir = tempDir();
    const plan = writePlan(dir, { stages: { execution: [{ id: 'ok', bin: '/bin/true' }] } });
    const loaded = async (env: Record<string, string>) => {
      const list = join(dir, `loaded-${Object.keys(env).length}.txt`);
      const result = await runCli([join(dir, 'out'), '--plan', plan], { env: { NODE_OPTIONS: `--import ${LOADED_MODULES}`, LOADED_MODULES_OUT: list, ...env } });
      expect(result.exitCode, result.stderr).toBe(0);
      return readFileSync(list, 'utf8').split('\n').filter((file) => file.includes('@opentelemetry'));
    };
    expect(await loaded({})).toEqual([]);
    const traced = await loaded(otel(receiver));
    expect(traced.some((file) => file.includes('/@opentelemetry/sdk-trace/'))).toBe(true);
    expect(traced.some((file) => file.includes('/@opentelemetry/api/'))).toBe(true);
  });
});

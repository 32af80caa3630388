// The library as built (dist/index.mjs) traces through @opentelemetry/api alone: with the tracer
// a caller gives it, else with the application's global tracer provider, and not at all without.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import type * as Library from '../../src/index.js';
import { ROOT, tempDir } from '../support/cli.js';

const lib = (await import(pathToFileURL(join(ROOT, 'dist/index.mjs')).href)) as typeof Library;
const TRACEPARENT_STEP = join(ROOT, 'test', 'fixtures', 'traceparent.mjs');

function planWritingContextTo(out: string) {
  return { stages: { execution: [{ id: 'agent', bin: process.execPath, args: [TRACEPARENT_STEP, out] }] } };
}

function sdk() {
  const exporter = new InMemorySpanExporter();
  return { exporter, provider: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }) };
}

afterEach(() => {
  trace.disable();
});

describe('the library traces', () => {
  it('with the tracer it is given, under the trace parent it is given', async () => {
    const dir = tempDir();
    const { exporter, provider } = sdk();
    const parent = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const result = await lib.runOrchestration(
      { outputDir: join(dir, 'out'), plan: planWritingContextTo(join(dir, 'ctx.json')) },
      { tracer: provider.getTracer('host-app'), traceParent: { traceparent: `00-${parent.traceId}-${parent.spanId}-01` } },
    );
    expect(result.exitCode).toBe(0);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['RUN autonomy-orchestrator', 'closure', 'execution', 'execution/agent', 'planning', 'policy_ingestion', 'validation']);
    const run = spans.find((s) => s.name === 'RUN autonomy-orchestrator')!;
    expect(run.spanContext().traceId).toBe(parent.traceId);
    expect(run.parentSpanContext?.spanId).toBe(parent.spanId);
    expect(run.attributes['cicd.pipeline.run.id']).toBe(result.report.run_id);
    const agent = spans.find((s) => s.name === 'execution/agent')!;
    expect(JSON.parse(readFileSync(join(dir, 'ctx.json'), 'utf8')).traceparent).toBe(`00-${parent.traceId}-${agent.spanContext().spanId}-01`);
  });

  it("with the application's global tracer provider when it registered one, and not at all without", async () => {
    const untraced = tempDir();
    await lib.runOrchestration({ outputDir: join(untraced, 'out'), plan: planWritingContextTo(join(untraced, 'ctx.json')) });
    expect(JSON.parse(readFileSync(join(untraced, 'ctx.json'), 'utf8')).traceparent).toBeNull();
    expect(readFileSync(join(untraced, 'out', 'orchestrator_checkpoint.json'), 'utf8')).not.toContain('"trace"');

    const dir = tempDir();
    const { exporter, provider } = sdk();
    trace.setGlobalTracerProvider(provider);
    await lib.runOrchestration({ outputDir: join(dir, 'out'), plan: planWritingContextTo(join(dir, 'ctx.json')) });
    const agent = exporter.getFinishedSpans().find((s) => s.name === 'execution/agent');
    expect(agent?.instrumentationScope.name).toBe('autonomy-orchestrator');
    expect(JSON.parse(readFileSync(join(dir, 'ctx.json'), 'utf8')).traceparent).toBe(`00-${agent!.spanContext().traceId}-${agent!.spanContext().spanId}-01`);
  });
});

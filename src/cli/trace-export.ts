/**
 * The CLI's traces: when the environment names an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), an OpenTelemetry SDK tracer provider whose spans go to it
 * over OTLP/HTTP, configured by the standard `OTEL_*` variables. Without one, this file's only
 * import is types: the SDK and the exporter are loaded (from node_modules, not the bundle) only
 * here, on demand, so a plain run's start does not grow.
 *
 * The run never waits on the collector: spans are batched and sent in the background, the run's
 * end waits for them at most FLUSH_MS, and a collector that is down or refuses them costs one
 * warning line on stderr.
 */
import type { Tracer } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { VERSION } from '../version.js';
import { type TraceCarrier, traceCarrierIn } from '../trace/trace-carrier.js';

/** How long the end of a run waits for its last spans to be sent. */
export const FLUSH_MS = 2_000;

export interface CliTracing {
  tracer: Tracer;
  /** The orchestrator's own caller's context (its `TRACEPARENT`): the run's span nests under it. */
  parent: TraceCarrier | null;
  /** Sends what is left, waiting FLUSH_MS at most. */
  shutdown(): Promise<void>;
}

/** Whether the environment asks for traces; reads two variables and loads nothing. */
export function tracesRequested(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/**
 * The SDK's tracer, or null when the standard variables switch traces off (`OTEL_SDK_DISABLED=true`,
 * `OTEL_TRACES_EXPORTER=none`) or ask for what is not here (gRPC, another exporter: one warning).
 * The exporter itself reads the endpoint, headers, timeout, compression and certificates; the
 * resource reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
 */
export async function startTracing(env: NodeJS.ProcessEnv, warn: (message: string) => void): Promise<CliTracing | null> {
  try {
    return await tracingFor(env, warn);
  } catch (error) {
    // An SDK that cannot be loaded or set up (a broken install) leaves the run as it would be untraced.
    warn(`traces are off: the OpenTelemetry SDK could not be set up (${reasonOf(error as Error)})`);
    return null;
  }
}

async function tracingFor(env: NodeJS.ProcessEnv, warn: (message: string) => void): Promise<CliTracing | null> {
  if (!tracesRequested(env) || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (exporters.includes('none')) return null;
  if (exporters.length > 0 && !exporters.includes('otlp')) {
    warn('OTEL_TRACES_EXPORTER names no exporter this tool has (it has otlp and none); the run is not traced');
    return null;
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    warn('OTEL_EXPORTER_OTLP_PROTOCOL: this tool sends http/protobuf or http/json, not grpc; the run is not traced');
    return null;
  }
  let warned = false;
  const warnOnce = (message: string) => {
    if (warned) return;
    warned = true;
    warn(message);
  };
  const [{ TracerProvider, BatchSpanProcessor }, { detectResources, envDetector, resourceFromAttributes }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
    protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  const resource = resourceFromAttributes({ 'service.name': 'autonomy-orchestrator', 'service.version': VERSION }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const exporter = warningExporter(new OTLPTraceExporter(), warnOnce);
  const provider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter, ...batchSettingsIn(env) })] });
  return {
    tracer: provider.getTracer('autonomy-orchestrator', VERSION),
    parent: traceCarrierIn(env),
    shutdown: async () => {
      let timer: NodeJS.Timeout | undefined;
      const sent = await Promise.race([
        provider.shutdown().then(
          () => true,
          () => true,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), FLUSH_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!sent) warnOnce(`traces not sent within ${FLUSH_MS / 1000} s of the end (is the OTLP endpoint up?); the run did not wait for them`);
    },
  };
}

/** The batch processor's standard variables (the SDK's own processor no longer reads them). */
function batchSettingsIn(env: NodeJS.ProcessEnv) {
  const whole = (name: string) => {
    const value = Number(env[name]?.trim() || Number.NaN);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const settings = {
    scheduledDelayMillis: whole('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: whole('OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: whole('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: whole('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  };
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}

/** The exporter, with its first failure said once: the SDK's own reports go to a logger nobody set. */
function warningExporter(inner: SpanExporter, warn: (message: string) => void): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      inner.export(spans, (result) => {
        if (result.code !== 0) warn(`traces could not be sent to the OTLP endpoint (${reasonOf(result.error)}); the run went on without them`);
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

/** An error code, never the message: it may quote the endpoint's address or its answer. */
function reasonOf(error: Error | undefined): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') return `HTTP ${code}`;
  if (typeof code === 'string') return code;
  return error?.name ?? 'unknown error';
}

/**
 * What a run's tracing needs before it loads anything: the W3C trace context as text (what a
 * process hands its children in `TRACEPARENT` / `TRACESTATE`, and what the checkpoint keeps), and
 * whether the application registered a tracer provider at all.
 */
import type { CheckpointV3 } from '../checkpoint/schema.js';

/** `{traceparent, tracestate?}`: its schema is the checkpoint's `trace` field, which keeps one. */
export type TraceCarrier = NonNullable<CheckpointV3['trace']>;

/** `TRACEPARENT` (and `TRACESTATE`) of an environment, or null. */
export function traceCarrierIn(env: NodeJS.ProcessEnv): TraceCarrier | null {
  const traceparent = env.TRACEPARENT?.trim();
  if (!traceparent) return null;
  const tracestate = env.TRACESTATE?.trim();
  return { traceparent, ...(tracestate ? { tracestate } : {}) };
}

/**
 * Whether `@opentelemetry/api` (major 1) has a global tracer provider registered. The API keeps its
 * globals under this symbol on `globalThis`; reading it spares a run without tracing the API's load.
 */
export function globalTracerProviderRegistered(): boolean {
  const globals = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[Symbol.for('opentelemetry.js.api.1')];
  return globals?.trace !== undefined;
}

/**
 * A run as OpenTelemetry spans, through `@opentelemetry/api` alone (the application brings the
 * SDK): a span for the invocation of the run, one per visit of a stage, one per step attempt,
 * named and attributed after the `cicd.pipeline.*` semantic conventions, and the machine's state
 * changes as events on the run's span. A step attempt's program gets its span's context as
 * `TRACEPARENT` (and `TRACESTATE`), so that the spans it makes itself nest under it.
 *
 * Loaded only when a run is traced (orchestrate.ts imports it on demand): a run without a tracer
 * never loads the API. Attributes hold names, ids, counts and statuses, never environment values.
 */
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  TraceFlags,
  context,
  createTraceState,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import type { InspectionEvent } from 'xstate';
import { type Stage, type TerminalState, isStage } from '../../machines/stages.js';
import type { StageExecution } from '../report/schema.js';
import type { TraceCarrier } from './trace-carrier.js';
import { VERSION } from '../version.js';

/** Our own attributes, beside the conventions': one namespace, the product's name. */
const OURS = 'autonomy_orchestrator';
const MAX_TRACESTATE = 512;

export interface RunTraceStart {
  tracer: Tracer;
  runId: string;
  /** `cicd.pipeline.name`: the plan file's name, or the product's for V0's flags. */
  pipelineName: string;
  /** The invocation's caller (its own TRACEPARENT); else the context active when the run began. */
  parent: TraceCarrier | null;
  /** A resumed run: the first traced invocation's run span, linked to (not parented under). */
  earlier: TraceCarrier | null;
  resumed: boolean;
}

export interface RunTraceEnd {
  terminal: TerminalState | null;
  interruptedBy: string | null;
  /** The failing stage and step's error, when the run failed. */
  failure: { stage: Stage; step?: string | null | undefined; status: string; error: string | null } | null;
  /** An error of the orchestrator itself (a full disk, a lost lease). */
  error: string | null;
}

export interface StepAttemptTrace {
  /** `TRACEPARENT` (and `TRACESTATE`) for the attempt's program. */
  env: Record<string, string | undefined>;
  end(record: StageExecution): void;
}

export class RunTrace {
  private readonly runSpan: Span;
  private readonly runContext: Context;
  private stageSpan: { stage: Stage; span: Span; context: Context } | null = null;
  private state: string | null = null;
  private readonly openAttempts = new Set<Span>();
  private ended = false;

  constructor(private readonly start: RunTraceStart) {
    const parentContext = start.parent ? contextOf(start.parent) : context.active();
    const earlier = start.earlier ? spanContextOf(start.earlier) : null;
    const links: Link[] = earlier ? [{ context: earlier, attributes: { [`${OURS}.link`]: 'first_invocation' } }] : [];
    this.runSpan = start.tracer.startSpan(
      `RUN ${start.pipelineName}`,
      {
        kind: SpanKind.SERVER,
        links,
        attributes: {
          'cicd.pipeline.name': start.pipelineName,
          'cicd.pipeline.run.id': start.runId,
          'cicd.pipeline.action.name': 'RUN',
          [`${OURS}.resumed`]: start.resumed,
        },
      },
      parentContext,
    );
    this.runContext = trace.setSpan(parentContext, this.runSpan);
  }

  /** What the checkpoint keeps so that a resumed invocation links to this one. */
  get carrier(): TraceCarrier | null {
    const carrier = carrierOf(this.runSpan.spanContext());
    // The checkpoint's schema bounds a trace state at the 512 characters W3C asks vendors to keep to.
    return carrier?.tracestate && carrier.tracestate.length > MAX_TRACESTATE ? { traceparent: carrier.traceparent } : carrier;
  }

  /** The root actor's state changes: events on the run's span, and the stage spans' starts and ends. */
  observe(event: InspectionEvent): void {
    if (this.ended || event.type !== '@xstate.snapshot' || event.actorRef.sessionId !== event.rootId) return;
    const value = (event.snapshot as { value?: unknown }).value;
    if (typeof value !== 'string' || value === this.state) return;
    this.runSpan.addEvent('transition', {
      [`${OURS}.from`]: this.state ?? '',
      [`${OURS}.to`]: value,
      [`${OURS}.event`]: event.event.type,
    });
    this.state = value;
    if (this.stageSpan && this.stageSpan.stage !== value) {
      // Into `failed` or `timeout`: the machine's context names the stage (and step) that failed.
      const failure = (event.snapshot as { context?: { failure?: RunTraceEnd['failure'] } }).context?.failure ?? null;
      this.endStage((value === 'failed' || value === 'timeout') && failure?.stage === this.stageSpan.stage ? failure : null);
    }
    if (isStage(value) && !this.stageSpan) this.startStage(value);
  }

  stepStarted(stage: Stage, stepId: string, attempt: number): StepAttemptTrace {
    const parent = this.stageSpan?.stage === stage ? this.stageSpan.context : this.runContext;
    const name = `${stage}/${stepId}`;
    const span = this.start.tracer.startSpan(
      name,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'cicd.pipeline.run.id': this.start.runId,
          'cicd.pipeline.task.name': name,
          'cicd.pipeline.task.run.id': `${this.start.runId}/${name}/attempt-${attempt}`,
          [`${OURS}.stage`]: stage,
          [`${OURS}.step`]: stepId,
          [`${OURS}.attempt`]: attempt,
        },
      },
      parent,
    );
    this.openAttempts.add(span);
    const carrier = carrierOf(span.spanContext());
    // Both always set (TRACESTATE undefined: removed): no caller's or step's trace state rides on another parent.
    const env: Record<string, string | undefined> = carrier ? { TRACEPARENT: carrier.traceparent, TRACESTATE: carrier.tracestate || undefined } : {};
    return {
      env,
      end: (record) => {
        if (!this.openAttempts.delete(span)) return;
        const attributes: Attributes = {
          'cicd.pipeline.task.run.result': taskResultOf(record),
          [`${OURS}.status`]: record.status,
          [`${OURS}.duration_ms`]: record.duration_ms,
        };
        if (record.exit_code !== null) attributes[`${OURS}.exit_code`] = record.exit_code;
        if (record.signal !== null) attributes[`${OURS}.signal`] = record.signal;
        if (record.interrupted) attributes[`${OURS}.interrupted`] = true;
        if (record.status !== 'success' && !record.interrupted) {
          attributes['error.type'] = record.status;
          span.setStatus({ code: SpanStatusCode.ERROR, message: statusMessage(record.status, record.exit_code) });
        }
        span.setAttributes(attributes);
        span.end();
      },
    };
  }

  /** Ends every span still open; a second call does nothing (the run's end, then its error path). */
  end(outcome: RunTraceEnd): void {
    if (this.ended) return;
    this.ended = true;
    for (const span of this.openAttempts) {
      span.setAttributes({ 'cicd.pipeline.task.run.result': 'cancellation', [`${OURS}.interrupted`]: true });
      span.end();
    }
    this.openAttempts.clear();
    const result = pipelineResultOf(outcome);
    const failedHere = outcome.failure !== null && this.stageSpan?.stage === outcome.failure.stage;
    this.endStage(failedHere ? outcome.failure : null);
    const attributes: Attributes = { 'cicd.pipeline.result': result };
    if (outcome.terminal !== null) attributes[`${OURS}.terminal_state`] = outcome.terminal;
    if (outcome.interruptedBy !== null) attributes[`${OURS}.interrupted_by`] = outcome.interruptedBy;
    if (outcome.terminal !== null) this.runSpan.addEvent('terminal', { [`${OURS}.from`]: this.state ?? '', [`${OURS}.to`]: outcome.terminal });
    if (result === 'failure' || result === 'timeout' || result === 'error') {
      attributes['error.type'] = outcome.error !== null ? 'orchestrator_error' : (outcome.failure?.status ?? result);
      this.runSpan.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error ?? (outcome.failure ? statusMessage(outcome.failure.status, null, outcome.failure.stage) : result) });
    }
    this.runSpan.setAttributes(attributes);
    this.runSpan.end();
  }

  private startStage(stage: Stage): void {
    const span = this.start.tracer.startSpan(
      stage,
      { kind: SpanKind.INTERNAL, attributes: { 'cicd.pipeline.run.id': this.start.runId, [`${OURS}.stage`]: stage } },
      this.runContext,
    );
    this.stageSpan = { stage, span, context: trace.setSpan(this.runContext, span) };
  }

  private endStage(failure: RunTraceEnd['failure']): void {
    if (!this.stageSpan) return;
    const { span } = this.stageSpan;
    if (failure) {
      span.setAttributes({ 'error.type': failure.status, ...(failure.step ? { [`${OURS}.step`]: failure.step } : {}) });
      span.setStatus({ code: SpanStatusCode.ERROR, message: statusMessage(failure.status, null) });
    }
    span.end();
    this.stageSpan = null;
  }
}

/** The conventions' results; `blocked` (a halt or a gate) is none of theirs, so it is written as ours. */
function pipelineResultOf(outcome: RunTraceEnd): string {
  if (outcome.error !== null) return 'error';
  if (outcome.interruptedBy !== null) return 'cancellation';
  switch (outcome.terminal) {
    case 'done':
      return 'success';
    case 'failed':
      return 'failure';
    case 'timeout':
      return 'timeout';
    case 'blocked':
      return 'blocked';
    default:
      return 'error';
  }
}

function taskResultOf(record: StageExecution): string {
  if (record.interrupted) return 'cancellation';
  switch (record.status) {
    case 'success':
      return 'success';
    case 'skipped':
      return 'skip';
    case 'timeout':
      return 'timeout';
    case 'spawn_failed':
      return 'error';
    default:
      return 'failure';
  }
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function spanContextOf(carrier: TraceCarrier): SpanContext | null {
  const match = TRACEPARENT.exec(carrier.traceparent.trim());
  if (!match) return null;
  const spanContext: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(carrier.tracestate ? { traceState: createTraceState(carrier.tracestate) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : null;
}

function contextOf(carrier: TraceCarrier): Context {
  const spanContext = spanContextOf(carrier);
  return spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

function carrierOf(spanContext: SpanContext): TraceCarrier | null {
  if (!isSpanContextValid(spanContext)) return null;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  const tracestate = spanContext.traceState?.serialize();
  return { traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`, ...(tracestate ? { tracestate } : {}) };
}

/** The tracer of the application's global provider (a no-op one when it registered none). */
export function globalTracer(): Tracer {
  return trace.getTracer('autonomy-orchestrator', VERSION);
}

/**
 * A span's status message: the status and exit code only. A record's `error` can quote what a step
 * wrote (a malformed artifact's first bytes), which must not leave the machine in a span.
 */
function statusMessage(status: string, exitCode: number | null, stage?: string): string {
  return `${stage ? `${stage} ` : ''}${status}${exitCode !== null && exitCode !== undefined ? ` (exit ${exitCode})` : ''}`;
}

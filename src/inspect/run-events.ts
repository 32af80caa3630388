/**
 * What happens to a run, as a typed stream derived from the root actor's inspection events:
 * stage entries (the report's transitions), stage outcomes and the terminal state. The terminal
 * views and `--json` read this stream.
 */
import type { InspectionEvent } from 'xstate';
import * as z from 'zod/mini';
import { STAGE_WORK_ID, type StageWorkOutput } from '../../machines/orchestration.js';
import { STAGE_STATUSES, type Stage, isStage, isTerminalState } from '../../machines/stages.js';
import { once } from '../once.js';
import { stageSchema, terminalStateSchema } from '../report/schema.js';
import { thermostatReportSchemas } from '../report/thermostat.js';

/** The events' schema, for readers of `--json`: built at its first use (a run only writes them). */
export const runEventSchema = once(() => z.discriminatedUnion('type', [
  z.object({
    type: z.literal('transition'),
    run_id: z.string(),
    from_stage: z.nullable(stageSchema),
    to_stage: stageSchema,
    event: z.string(),
    timestamp_unix_ms: z.int(),
  }),
  z.object({
    type: z.literal('stage_finished'),
    run_id: z.string(),
    stage: stageSchema,
    /** How the stage's work ended; approval_required, budget_exceeded and roi_below_floor halt the run (blocked). */
    status: z.enum([...STAGE_STATUSES, 'approval_required', 'budget_exceeded', 'roi_below_floor']),
    error: z.nullable(z.string()),
    timestamp_unix_ms: z.int(),
  }),
  z.object({
    type: z.literal('terminal'),
    run_id: z.string(),
    terminal_state: terminalStateSchema,
    timestamp_unix_ms: z.int(),
  }),
  z.object({
    /** A decision of the ROI thermostat (old -> new concurrency, why), as the report records it. */
    type: z.literal('thermostat'),
    run_id: z.string(),
    stage: stageSchema,
    decision: thermostatReportSchemas().decisionSchema,
    timestamp_unix_ms: z.int(),
  }),
  z.object({
    type: z.literal('run_finished'),
    run_id: z.string(),
    terminal_state: z.nullable(terminalStateSchema),
    exit_code: z.int(),
    interrupted_by: z.nullable(z.string()),
    report_path: z.string(),
    timestamp_unix_ms: z.int(),
  }),
]));

export type RunEvent = z.infer<ReturnType<typeof runEventSchema>>;

const DONE_EVENT = `xstate.done.actor.${STAGE_WORK_ID}`;
const ERROR_EVENT = `xstate.error.actor.${STAGE_WORK_ID}`;

/** Feed it every inspection event; it calls `emit` for each run event, in order. */
export class RunEventTracker {
  private current: Stage | null = null;
  private finished = false;

  constructor(private readonly emit: (event: RunEvent) => void) {}

  readonly inspect = (event: InspectionEvent): void => {
    if (event.actorRef.sessionId !== event.rootId) return;
    if (event.type === '@xstate.event') this.onEvent(event.event as { type: string; output?: unknown; error?: unknown });
    if (event.type === '@xstate.snapshot' || event.type === '@xstate.microstep') this.onSnapshot(event);
  };

  private onEvent(event: { type: string; output?: unknown; error?: unknown }): void {
    const stage = this.current;
    if (stage === null) return;
    const base = { type: 'stage_finished' as const, run_id: '', stage, timestamp_unix_ms: Date.now() };
    if (event.type === DONE_EVENT) {
      const { status, error } = event.output as StageWorkOutput;
      this.pending = { ...base, status, error };
    } else if (event.type === ERROR_EVENT) {
      this.pending = { ...base, status: 'failed', error: `stage work crashed: ${String(event.error)}` };
    }
  }

  /** A stage outcome is emitted with the run id once the snapshot that follows it is seen. */
  private pending: Extract<RunEvent, { type: 'stage_finished' }> | null = null;

  private onSnapshot(event: Extract<InspectionEvent, { type: '@xstate.snapshot' | '@xstate.microstep' }>): void {
    const snapshot = event.snapshot as { value?: unknown; status?: string; context?: { runId?: string } };
    const runId = snapshot.context?.runId ?? '';
    if (this.pending) {
      this.emit({ ...this.pending, run_id: runId });
      this.pending = null;
    }
    const value = snapshot.value;
    const now = Date.now();
    if (isStage(value) && value !== this.current) {
      this.emit({
        type: 'transition',
        run_id: runId,
        from_stage: this.current,
        to_stage: value,
        event: event.event.type,
        timestamp_unix_ms: now,
      });
      this.current = value;
    } else if (isTerminalState(value) && !this.finished) {
      this.finished = true;
      this.emit({ type: 'terminal', run_id: runId, terminal_state: value, timestamp_unix_ms: now });
    }
  }
}

/**
 * Turns the root actor's inspection stream into V0's transitions: one record each time the
 * machine enters a stage. Terminal states are not transitions; they are the report's
 * `terminal_state`.
 */
import type { InspectionEvent } from 'xstate';
import { type Stage, isStage } from '../../machines/stages.js';
import type { Transition } from './schema.js';

export class TransitionRecorder {
  constructor(
    private readonly runId: string,
    readonly transitions: Transition[],
    private current: Stage | null,
    private readonly onTransition: (transition: Transition) => void,
  ) {}

  get currentStage(): Stage | null {
    return this.current;
  }

  observe(event: InspectionEvent): void {
    if (event.type !== '@xstate.microstep' && event.type !== '@xstate.snapshot') return;
    if (event.actorRef.sessionId !== event.rootId) return;
    const value = (event.snapshot as { value?: unknown }).value;
    if (!isStage(value) || value === this.current) return;
    const now = Date.now();
    const transition: Transition = {
      run_id: this.runId,
      from_stage: this.current,
      to_stage: value,
      timestamp_unix_secs: Math.floor(now / 1000),
      timestamp_unix_ms: now,
      event: event.event.type,
    };
    this.current = value;
    this.transitions.push(transition);
    this.onTransition(transition);
  }
}

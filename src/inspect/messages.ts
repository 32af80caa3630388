/**
 * Inspection messages: the root actor's inspection events converted to the JSON the Stately
 * inspector reads (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`). The event log, the
 * relay and the viewer all carry these, so the viewer and the hosted inspector stay interchangeable.
 */
import { createInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import * as z from 'zod/mini';

export const inspectionMessageSchema = z.looseObject({
  type: z.enum(['@xstate.actor', '@xstate.event', '@xstate.snapshot']),
  sessionId: z.string(),
  rootId: z.optional(z.string()),
  createdAt: z.optional(z.string()),
});

export type InspectionMessage = z.infer<typeof inspectionMessageSchema>;

export interface MessageTap {
  /** Hand this to runOrchestration's `inspect` option. */
  inspect(event: InspectionEvent): void;
  /** Resolves once every event seen so far has been converted and handed on. */
  settled(): Promise<void>;
}

/** Converts events the way `@statelyai/inspect` does and passes each message to `send`. */
export function createMessageTap(send: (message: InspectionMessage) => void): MessageTap {
  const inspector = createInspector({
    send: (message: unknown) => send(message as InspectionMessage),
    start: () => {},
    stop: () => {},
  });
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    // The inspector converts on the next timer tick in Node; timers of equal delay run in order.
    settled: () => new Promise((resolve) => setTimeout(resolve, 0)),
  };
}

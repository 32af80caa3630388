/**
 * Inspection messages: the root actor's inspection events converted to the JSON the Stately
 * inspector reads (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`). The event log, the
 * relay and the viewer all carry these, so the viewer and the hosted inspector stay interchangeable.
 *
 * The conversion is `@statelyai/inspect`'s own (`convertXStateEvent`, version 0.7): the same fields,
 * the same depth-limited stable serialization, done once the code that emitted the events has run.
 * It is written out here because importing that package loads its WebSocket and browser transports
 * (ws, partysocket, superjson) into every run; a test holds this to the package's output, message
 * for message.
 */
import safeStableStringify from 'safe-stable-stringify';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import * as z from 'zod/mini';
import { once } from '../once.js';

/** Built at its first use: a run writes messages, only readers of an event log check them. */
export const inspectionMessageSchema = once(() =>
  z.looseObject({
    type: z.enum(['@xstate.actor', '@xstate.event', '@xstate.snapshot']),
    sessionId: z.string(),
    rootId: z.optional(z.string()),
    createdAt: z.optional(z.string()),
  }),
);

export type InspectionMessage = z.infer<ReturnType<typeof inspectionMessageSchema>>;

export interface MessageTap {
  /** Hand this to runOrchestration's `inspect` option. */
  inspect(event: InspectionEvent): void;
  /** Resolves once every event seen so far has been converted and handed on. */
  settled(): Promise<void>;
}

/** The `_version` the Stately inspector reads: the `@statelyai/inspect` release whose format this is. */
export const INSPECT_PROTOCOL_VERSION = '0.7.2';
const DEPTH_LIMIT = 10;
const stringify = safeStableStringify.configure({ maximumDepth: DEPTH_LIMIT });

/** As the inspector does: functions in a definition become `{type: name}`. */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'function' ? { type: value.name } : value;
}

export function toInspectionMessage(event: InspectionEvent): InspectionMessage | undefined {
  const common = { _version: INSPECT_PROTOCOL_VERSION, createdAt: Date.now().toString(), id: null, rootId: event.rootId };
  switch (event.type) {
    case '@xstate.actor': {
      const actorRef = event.actorRef as AnyActorRef & { _parent?: AnyActorRef; logic?: { config?: { id?: string } } };
      const definition = actorRef.logic?.config;
      const name = actorRef.id === actorRef.sessionId && definition ? definition.id : actorRef.id;
      return {
        name,
        type: '@xstate.actor',
        definition: typeof definition === 'object' ? stringify(definition, replacer) : stringify({ id: name }, replacer),
        ...common,
        parentId: actorRef._parent?.sessionId,
        sessionId: actorRef.sessionId,
        snapshot: actorRef.getSnapshot(),
      };
    }
    case '@xstate.event':
      return { type: '@xstate.event', event: event.event, sourceId: event.sourceRef?.sessionId, sessionId: event.actorRef.sessionId, ...common };
    case '@xstate.snapshot':
      return {
        type: '@xstate.snapshot',
        event: event.event,
        snapshot: JSON.parse(stringify(event.snapshot, replacer) ?? 'null'),
        sessionId: event.actorRef.sessionId,
        ...common,
      };
    default:
      return undefined;
  }
}

/**
 * Converts events once the code that emitted them has run (as the inspector does, so that an
 * actor's first snapshot exists) and hands `send` the messages of each such turn together, in order.
 * The inspector waits for a timer; this waits for `setImmediate`, which comes as soon and costs no
 * timer: a timer of 0 waits a whole millisecond, and the run's end waited for one.
 */
export function createMessageTap(send: (messages: InspectionMessage[]) => void): MessageTap {
  let queued: InspectionEvent[] = [];
  let flushed: Promise<void> | null = null;
  const flush = () => {
    const events = queued;
    queued = [];
    flushed = null;
    const messages: InspectionMessage[] = [];
    for (const event of events) {
      const message = toInspectionMessage(event);
      if (message) messages.push(message);
    }
    if (messages.length > 0) send(messages);
  };
  return {
    inspect: (event) => {
      queued.push(event);
      flushed ??= new Promise((resolve) => setImmediate(() => resolve(flush())));
    },
    settled: () => flushed ?? Promise.resolve(),
  };
}

/**
 * The steps of a run as the viewer shows them, built from inspection messages: each time the
 * root actor's state changes (a stage entered, or the terminal state) is one step.
 */
export interface Message {
  type: string;
  sessionId: string;
  rootId?: string;
  parentId?: string;
  createdAt?: string;
  definition?: string;
  event?: { type?: string };
  snapshot?: { value?: unknown; status?: string; context?: { runId?: string } };
}

export interface Step {
  from: string | null;
  value: string;
  event: string;
  atMs: number;
  final: boolean;
}

export class RunTimeline {
  readonly steps: Step[] = [];
  definition: string | null = null;
  runId: string | null = null;
  private rootId: string | null = null;

  /** Returns true when the message added a step. */
  add(message: Message, atMs = Number(message.createdAt) || Date.now()): boolean {
    const isRoot = message.rootId === undefined || message.rootId === message.sessionId;
    if (message.type === '@xstate.actor' && isRoot && message.parentId === undefined) {
      // Each invocation of a run (a resume) starts a new root actor; its steps continue the list.
      this.rootId = message.sessionId;
      this.definition ??= message.definition ?? null;
      return false;
    }
    if (message.type !== '@xstate.snapshot' || message.sessionId !== (this.rootId ?? message.rootId)) return false;
    const value = message.snapshot?.value;
    this.runId = message.snapshot?.context?.runId ?? this.runId;
    if (typeof value !== 'string') return false;
    const last = this.steps.at(-1);
    if (last?.value === value) return false;
    this.steps.push({
      from: last && !last.final ? last.value : null,
      value,
      event: message.event?.type ?? '',
      atMs,
      final: message.snapshot?.status === 'done',
    });
    return true;
  }
}

/**
 * The machine's statechart as a graph, read from the definition an `@xstate.actor` message
 * carries: one node per state, one edge per source/target pair labelled with its events.
 */
export interface StateNodeInfo {
  id: string;
  final: boolean;
  /** Not final and runs nothing: the run waits here for an outside event (a halt). */
  waiting: boolean;
}

export interface EdgeInfo {
  source: string;
  target: string;
  labels: string[];
  /**
   * Into or out of a waiting state, or on an outside event (not a stage's done/error): rare
   * paths, drawn only once taken so that the common ones stay readable.
   */
  secondary: boolean;
}

export interface Statechart {
  initial: string | null;
  /** Short event names used in labels, with the full event type each stands for. */
  legend: Record<string, string>;
  nodes: StateNodeInfo[];
  edges: EdgeInfo[];
}

type TransitionConfig = { target?: string | string[]; guard?: string | { type?: string } } | string;

interface StateConfig {
  type?: string;
  on?: Record<string, TransitionConfig | TransitionConfig[]>;
  always?: TransitionConfig | TransitionConfig[];
  invoke?: InvokeConfig | InvokeConfig[];
}

interface InvokeConfig {
  id?: string;
  src?: string | { type?: string };
  onDone?: TransitionConfig | TransitionConfig[];
  onError?: TransitionConfig | TransitionConfig[];
}

export function statechartOf(definition: string): Statechart {
  const config = JSON.parse(definition) as { initial?: string; states?: Record<string, StateConfig>; on?: StateConfig['on'] };
  const states = config.states ?? {};
  const edges = new Map<string, EdgeInfo>();
  const legend: Record<string, string> = {};
  const add = (source: string, event: string, transition: TransitionConfig) => {
    const target = targetOf(transition);
    if (target === null || !(target in states)) return;
    const guard = typeof transition === 'object' ? guardName(transition.guard) : null;
    const key = `${source}\u0000${target}`;
    const secondary = waiting(states[source]) || waiting(states[target]) || !['done', 'error', 'always'].includes(event);
    const edge = edges.get(key) ?? { source, target, labels: [], secondary };
    edge.secondary &&= secondary;
    const label = guard ? `${event} [${guard}]` : event;
    if (!edge.labels.includes(label)) edge.labels.push(label);
    edges.set(key, edge);
  };
  for (const [name, state] of Object.entries(states)) {
    for (const [event, transitions] of Object.entries(state.on ?? {})) {
      for (const t of list(transitions)) add(name, event, t);
    }
    for (const t of list(state.always)) add(name, 'always', t);
    for (const invoke of list(state.invoke)) {
      const id = invoke.id ?? (typeof invoke.src === 'string' ? invoke.src : 'actor');
      // The done/error events of an invoked actor are long; the labels say `done`/`error` and the legend the rest.
      legend.done = `xstate.done.actor.${id}`;
      for (const t of list(invoke.onDone)) add(name, 'done', t);
      if (invoke.onError !== undefined) legend.error = `xstate.error.actor.${id}`;
      for (const t of list(invoke.onError)) add(name, 'error', t);
    }
  }
  // The machine's own transitions (INTERRUPT) leave whatever state it stands in: one from each state that is not final.
  for (const [event, transitions] of Object.entries(config.on ?? {})) {
    for (const t of list(transitions)) {
      for (const [name, state] of Object.entries(states)) if (state.type !== 'final') add(name, event, t);
    }
  }
  return {
    initial: config.initial ?? null,
    legend,
    nodes: Object.entries(states).map(([id, state]) => ({ id, final: state.type === 'final', waiting: waiting(state) })),
    edges: [...edges.values()],
  };
}

function waiting(state: StateConfig | undefined): boolean {
  return state !== undefined && state.type !== 'final' && list(state.invoke).length === 0 && list(state.always).length === 0;
}

function list<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function targetOf(transition: TransitionConfig): string | null {
  const raw = typeof transition === 'string' ? transition : Array.isArray(transition.target) ? transition.target[0] : transition.target;
  if (!raw) return null;
  // `.child`, `#machine.state` and `state` all name a sibling state here.
  const parts = raw.replace(/^#[^.]*\./, '').replace(/^\./, '').split('.');
  return parts[0] ?? null;
}

function guardName(guard: string | { type?: string } | undefined): string | null {
  if (guard === undefined) return null;
  return typeof guard === 'string' ? guard : (guard.type ?? null);
}

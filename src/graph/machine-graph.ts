/**
 * The orchestration machine as plain data: its nodes and edges, in the order the machine
 * declares them (an edge list per state is in priority order: the first whose guard passes wins).
 * Built from XState's `toDirectedGraph`, stripped of everything that is not JSON.
 */
import type { AnyStateMachine } from 'xstate';
import { type DirectedGraphEdge, type DirectedGraphNode, toDirectedGraph } from 'xstate/graph';
import { orchestrationMachine } from '../../machines/orchestration.js';

export interface GraphNode {
  /** XState's id of the state: `orchestration.planning`. Edges name their ends by it. */
  id: string;
  /** The state's own name: `planning`. Diagrams use it. */
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
}

export interface GraphEdge {
  /** A node's id, or the machine's (a transition of the machine's own, from any state). */
  source: string;
  target: string;
  /** The full event type: `xstate.done.actor.stageWork`. */
  event: string;
  /** A short name for diagrams: `done`, `error`, or the event type. */
  label: string;
  guard: string | null;
  actions: string[];
}

export interface MachineGraph {
  machine: string;
  /** The id of the initial state. */
  initial: string | null;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/**
 * What diagrams call the machine itself when it is an edge's source: a transition of the machine's
 * own (INTERRUPT) leaves whatever state the machine stands in.
 */
export const ANY_STATE = 'any_state';

/** Names a node in a diagram by its key, the machine by ANY_STATE; an id that is neither (cannot happen) stays as it is. */
export function nodeNamer(graph: MachineGraph): (id: string) => string {
  const keys = new Map(graph.nodes.map((node) => [node.id, node.key]));
  return (id) => keys.get(id) ?? (id === graph.machine ? ANY_STATE : id);
}

export function machineGraph(machine: AnyStateMachine = orchestrationMachine): MachineGraph {
  const root = toDirectedGraph(machine);
  const initial = (root.stateNode.initial?.target ?? [])[0] as { id: string } | undefined;
  return {
    machine: root.id,
    initial: initial?.id ?? null,
    nodes: root.children.map(toNode),
    // The machine's own transitions (from any state) first: they are taken before a state's own.
    edges: [...root.edges.map(toEdge), ...root.children.flatMap((node) => [...node.edges.map(toEdge), ...alwaysEdges(node)])],
  };
}

function toNode(node: DirectedGraphNode): GraphNode {
  return { id: node.id, key: node.stateNode.key, type: node.stateNode.type };
}

function toEdge(edge: DirectedGraphEdge): GraphEdge {
  const event = edge.label.text;
  return {
    source: edge.source.id,
    target: edge.target.id,
    event,
    label: shortEventLabel(event),
    guard: nameOfGuard(edge.transition.guard),
    actions: edge.transition.actions.map(nameOfAction),
  };
}

/**
 * Eventless transitions (a gate decides as soon as it is entered): XState's directed graph leaves
 * them out, the diagrams show them as `always`, in priority order.
 */
function alwaysEdges(node: DirectedGraphNode): GraphEdge[] {
  return (node.stateNode.always ?? []).flatMap((transition) =>
    (transition.target ?? []).map((target) => ({
      source: node.id,
      target: target.id,
      event: 'always',
      label: 'always',
      guard: nameOfGuard(transition.guard),
      actions: transition.actions.map(nameOfAction),
    })),
  );
}

/** `xstate.done.actor.stageWork` → `done`: every stage invokes one actor, so its id adds nothing. */
function shortEventLabel(event: string): string {
  if (event.startsWith('xstate.done.actor.')) return 'done';
  if (event.startsWith('xstate.error.actor.')) return 'error';
  return event;
}

function nameOfGuard(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'inline';
  const { type, params } = guard as { type?: unknown; params?: unknown };
  if (typeof type !== 'string') return 'inline';
  // A parameterised guard reads as a call: haltedIn(closure).
  const values = params && typeof params === 'object' ? Object.values(params).map(String) : [];
  return values.length > 0 ? `${type}(${values.join(', ')})` : type;
}

function nameOfAction(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'function') return action.name || 'inline';
  const type = (action as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : 'inline';
}

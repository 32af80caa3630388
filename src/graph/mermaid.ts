/** A Mermaid `stateDiagram-v2` of a machine graph: stages top to bottom in their order. */
import { ANY_STATE, type GraphEdge, type MachineGraph, nodeNamer } from './machine-graph.js';

export function toMermaid(graph: MachineGraph): string {
  const name = nodeNamer(graph);
  const lines = ['stateDiagram-v2'];
  if (graph.initial !== null) lines.push(`  [*] --> ${name(graph.initial)}`);
  if (graph.edges.some((edge) => edge.source === graph.machine)) lines.push(`  state "any state" as ${ANY_STATE}`);
  for (const edge of mergedEdges(graph)) lines.push(`  ${name(edge.source)} --> ${name(edge.target)} : ${edge.texts.join(' | ')}`);
  for (const node of graph.nodes) {
    if (node.type === 'final') lines.push(`  ${node.key} --> [*]`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The edges with the same source and target as one, its texts in the machine's order: a diagram
 * then draws one arrow between two states, not one per event and guard.
 */
export function mergedEdges(graph: MachineGraph): { source: string; target: string; texts: string[] }[] {
  const merged = new Map<string, { source: string; target: string; texts: string[] }>();
  for (const edge of graph.edges) {
    const key = `${edge.source}\u0000${edge.target}`;
    const found = merged.get(key) ?? { source: edge.source, target: edge.target, texts: [] };
    const text = edgeText(edge);
    if (!found.texts.includes(text)) found.texts.push(text);
    merged.set(key, found);
  }
  return [...merged.values()];
}

/** `done [stagePassed]`, or `done` for an unguarded edge. */
export function edgeText(edge: GraphEdge): string {
  return edge.guard === null ? edge.label : `${edge.label} [${edge.guard}]`;
}

/** A Mermaid `stateDiagram-v2` of a machine graph: stages top to bottom in their order. */
import { type GraphEdge, type MachineGraph, nodeNamer } from './machine-graph.js';

export function toMermaid(graph: MachineGraph): string {
  const name = nodeNamer(graph);
  const lines = ['stateDiagram-v2'];
  if (graph.initial !== null) lines.push(`  [*] --> ${name(graph.initial)}`);
  for (const edge of graph.edges) lines.push(`  ${name(edge.source)} --> ${name(edge.target)} : ${edgeText(edge)}`);
  for (const node of graph.nodes) {
    if (node.type === 'final') lines.push(`  ${node.key} --> [*]`);
  }
  return `${lines.join('\n')}\n`;
}

/** `done [stagePassed]`, or `done` for an unguarded edge. */
export function edgeText(edge: GraphEdge): string {
  return edge.guard === null ? edge.label : `${edge.label} [${edge.guard}]`;
}

/** A Graphviz DOT rendering of a machine graph: `dot -Tsvg machine.dot > machine.svg`. */
import { type MachineGraph, nodeNamer } from './machine-graph.js';
import { edgeText } from './mermaid.js';

export function toDot(graph: MachineGraph): string {
  const name = (id: string) => quote(nodeNamer(graph)(id));
  const lines = [`digraph ${quote(graph.machine)} {`, '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  if (graph.initial !== null) {
    lines.push('  "__initial" [shape=point, label=""];', `  "__initial" -> ${name(graph.initial)};`);
  }
  for (const node of graph.nodes) {
    lines.push(`  ${quote(node.key)}${node.type === 'final' ? ' [shape=doublecircle]' : ''};`);
  }
  for (const edge of graph.edges) {
    lines.push(`  ${name(edge.source)} -> ${name(edge.target)} [label=${quote(edgeText(edge))}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

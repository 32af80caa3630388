/** A Graphviz DOT rendering of a machine graph: `dot -Tsvg machine.dot > machine.svg`. */
import { ANY_STATE, type MachineGraph, nodeNamer } from './machine-graph.js';
import { mergedEdges } from './mermaid.js';

export function toDot(graph: MachineGraph): string {
  const name = (id: string) => quote(nodeNamer(graph)(id));
  const lines = [`digraph ${quote(graph.machine)} {`, '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  if (graph.initial !== null) {
    lines.push('  "__initial" [shape=point, label=""];', `  "__initial" -> ${name(graph.initial)};`);
  }
  for (const node of graph.nodes) {
    lines.push(`  ${quote(node.key)}${node.type === 'final' ? ' [shape=doublecircle]' : ''};`);
  }
  if (graph.edges.some((edge) => edge.source === graph.machine)) lines.push(`  ${quote(ANY_STATE)} [label="any state", style="rounded,dashed"];`);
  // The terminal states side by side, at the end of the flow.
  const finals = graph.nodes.filter((node) => node.type === 'final');
  if (finals.length > 1) lines.push(`  { rank=same; ${finals.map((node) => `${quote(node.key)};`).join(' ')} }`);
  for (const edge of mergedEdges(graph)) {
    lines.push(`  ${name(edge.source)} -> ${name(edge.target)} [label=${edge.texts.map(quote).join(' + "\\n" + ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The orchestration machine's state graph in three notations, for `autonomy-orchestrator graph
 * --format json|mermaid|dot` and for the golden files in snapshots/. Each string ends with a newline.
 */
import { toDot } from './dot.js';
import { machineGraph } from './machine-graph.js';
import { toMermaid } from './mermaid.js';

export { machineGraph, type GraphEdge, type GraphNode, type MachineGraph } from './machine-graph.js';

export function machineGraphJson(): string {
  return `${JSON.stringify(machineGraph(), null, 2)}\n`;
}

export function machineMermaid(): string {
  return toMermaid(machineGraph());
}

export function machineDot(): string {
  return toDot(machineGraph());
}

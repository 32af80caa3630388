/**
 * A machine's state graph in three notations, for `autonomy-orchestrator graph [--machine M]
 * --format json|mermaid|dot` and for the golden files in snapshots/. Each string ends with a newline.
 * The orchestration machine unless another is named.
 */
import type { AnyStateMachine } from 'xstate';
import { orchestrationMachine } from '../../machines/orchestration.js';
import { thermostatMachine } from '../../machines/thermostat.js';
import { toDot } from './dot.js';
import { machineGraph } from './machine-graph.js';
import { toMermaid } from './mermaid.js';

export { machineGraph, type GraphEdge, type GraphNode, type MachineGraph } from './machine-graph.js';

/** The machines `graph --machine` prints. */
export const MACHINES: Record<string, AnyStateMachine> = { orchestration: orchestrationMachine, thermostat: thermostatMachine };

export function machineGraphJson(machine: AnyStateMachine = orchestrationMachine): string {
  return `${JSON.stringify(machineGraph(machine), null, 2)}\n`;
}

export function machineMermaid(machine: AnyStateMachine = orchestrationMachine): string {
  return toMermaid(machineGraph(machine));
}

export function machineDot(machine: AnyStateMachine = orchestrationMachine): string {
  return toDot(machineGraph(machine));
}

/**
 * V0's provenance chain (`provenance.rs`), built from what the report already holds: the run's
 * start, each stage entered, the gates, the final decision, and a done or blocked end, each node
 * the child of the one before. Pure: the times are the report's own.
 */
import { type Stage, stageTitle } from '../../machines/stages.js';

export const PROVENANCE_SCHEMA_VERSION = '1';
export const PROVENANCE_NODE_RECORDED = 'PROVENANCE_NODE_RECORDED';

export interface ProvenanceRecord {
  id: string;
  event_type: string;
  parent_ids: string[];
  reason_codes: string[];
  artifact_refs: string[];
  timestamp_unix_secs: number;
}

export interface ProvenanceInput {
  runId: string;
  startedAtSecs: number;
  /** The report's transitions, in order. */
  transitions: readonly { to_stage: Stage; timestamp_unix_secs: number }[];
  /** The fail-closed gates, once evaluated (empty: not evaluated). */
  gateDecisions: readonly { gate: string; passed: boolean; reason_code: string | null }[];
  /** The run got as far as the final decision (V0 records the node even when it decides nothing). */
  decisionReached: boolean;
  decisionCodes: readonly string[];
  terminal: 'done' | 'blocked' | 'failed' | 'timeout' | null;
  blockedReasonCodes: readonly string[];
  endedAtSecs: number;
}

export function provenanceRecordsOf(input: ProvenanceInput): ProvenanceRecord[] {
  const records: ProvenanceRecord[] = [];
  const add = (eventType: string, codes: readonly string[], refs: readonly string[], at: number) => {
    const previous = records.at(-1);
    records.push({
      id: previous ? `run:${input.runId}:${eventType}:${records.length}` : `run:${input.runId}:start`,
      event_type: eventType,
      parent_ids: previous ? [previous.id] : [],
      reason_codes: [...codes, PROVENANCE_NODE_RECORDED],
      artifact_refs: [...refs],
      timestamp_unix_secs: at,
    });
  };
  const first = input.transitions[0]?.timestamp_unix_secs ?? input.startedAtSecs;
  add('run_start', [], [], Math.min(first, input.startedAtSecs));
  // The gates and the decision come after validation and before closure: closure's entry follows them.
  const closureAt = input.transitions.findIndex((t) => t.to_stage === 'closure');
  const before = closureAt < 0 ? input.transitions : input.transitions.slice(0, closureAt);
  const after = closureAt < 0 ? [] : input.transitions.slice(closureAt);
  const stageNode = (t: { to_stage: Stage; timestamp_unix_secs: number }) => add(`stage_transition:${stageTitle(t.to_stage)}`, [], [], t.timestamp_unix_secs);
  before.forEach(stageNode);
  const decidedAt = after[0]?.timestamp_unix_secs ?? input.endedAtSecs;
  if (input.gateDecisions.length > 0) {
    const failing = input.gateDecisions.flatMap((d) => (d.passed || d.reason_code === null ? [] : [d.reason_code]));
    add('gate_evaluation', failing, input.gateDecisions.map((d) => `gate:${d.gate}`), decidedAt);
  }
  if (input.decisionReached) add('final_decision', input.decisionCodes, [], decidedAt);
  after.forEach(stageNode);
  // V0 records the end only where it marks the checkpoint terminal: done and blocked.
  if (input.terminal === 'done') add('terminal_state', ['DONE'], [], input.endedAtSecs);
  if (input.terminal === 'blocked') add('terminal_state', ['BLOCKED', ...input.blockedReasonCodes], [], input.endedAtSecs);
  return records;
}

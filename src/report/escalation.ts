/**
 * V0's escalation router (`escalation_router.rs`): the cases a person should look at, read from a
 * run's outcome, and the queue file they go to. Only with a later flag; the file only when there
 * is a case.
 */
import { join } from 'node:path';
import { writeFileDurably } from '../checkpoint/durable-write.js';

export const ESCALATION_QUEUE_FILE = 'escalation_queue.json';

export interface EscalationCase {
  id: string;
  trigger_code: 'ESCALATION_TRIGGER_POLICY_BLOCK' | 'ESCALATION_TRIGGER_CRITICAL_TIE' | 'ESCALATION_TRIGGER_CAP_EXHAUSTED';
  severity: 'sev1' | 'sev2' | 'sev3';
  required_actions: string[];
  context_artifacts: string[];
}

/** What the router reads: the later fields of the report, and whether a budget record failed in this invocation. */
export interface EscalationInputs {
  run_id: string;
  blocked_reason_codes: readonly string[];
  gate_decisions: readonly { gate: string; passed: boolean }[];
  decision_rationale_codes: readonly string[];
  decision_contributions: readonly { contributor_id: string }[];
  /** A failed `execution.iteration_budget` or `remediation.cycle_budget` record. */
  capExhausted: boolean;
}

const GATE_CODES = ['GATE_POLICY_DENIED_OR_UNKNOWN', 'GATE_CI_NOT_SUCCESS', 'GATE_REVIEW_NOT_APPROVED'];
export const CAP_RECORDS = ['execution.iteration_budget', 'remediation.cycle_budget'];

/** In V0's order: a gate block (sev2), a tied decision (sev1), a budget spent (sev3). */
export function escalationCasesOf(run: EscalationInputs): EscalationCase[] {
  const cases: EscalationCase[] = [];
  const add = (trigger_code: EscalationCase['trigger_code'], severity: EscalationCase['severity'], action: string, context_artifacts: string[]) =>
    cases.push({ id: `${run.run_id}:${trigger_code}`, trigger_code, severity, required_actions: [action], context_artifacts });
  if (run.blocked_reason_codes.some((code) => GATE_CODES.includes(code))) {
    const failing = run.gate_decisions.filter((g) => !g.passed).map((g) => `gate:${g.gate}`);
    add('ESCALATION_TRIGGER_POLICY_BLOCK', 'sev2', 'Resolve policy gate before autonomous rerun', failing);
  }
  if ([...run.decision_rationale_codes, ...run.blocked_reason_codes].includes('DECISION_TIE_FAIL_CLOSED')) {
    const voters = run.decision_contributions.map((c) => `contributor:${c.contributor_id}`);
    add('ESCALATION_TRIGGER_CRITICAL_TIE', 'sev1', 'Resolve conflicting agent votes to remove fail-closed tie', voters);
  }
  if (run.capExhausted) add('ESCALATION_TRIGGER_CAP_EXHAUSTED', 'sev3', 'Inspect exhausted iteration budget and adjust policy caps', [`run:${run.run_id}`]);
  return cases;
}

/** `<dir>/escalation_queue.json`, the cases as the report has them; nothing when there is none. */
export function writeEscalationQueue(dir: string, cases: readonly EscalationCase[]): void {
  if (cases.length === 0) return;
  writeFileDurably(join(dir, ESCALATION_QUEUE_FILE), `${JSON.stringify(cases, null, 2)}\n`);
}

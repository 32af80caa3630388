/** Upstream's recommended actions, word for word, for every code it names (decisions included). */
import { describe, it } from 'vitest';
import { recommendedActions } from '../../src/report/next-actions.js';

describe('recommended actions', () => {
  it('one per blocked code in upstream\'s words, de-duplicated, in the codes\' order', ({ expect }) => {
    const codes = [
      'DECISION_CONFIDENCE_BELOW_THRESHOLD',
      'DECISION_TIE_FAIL_CLOSED',
      'DECISION_ESCALATED',
      'DECISION_NO_CONTRIBUTIONS',
      'HARD_GATE_SECRET_POLICY_VIOLATION',
      'HARD_GATE_AUTH_POLICY_VIOLATION',
      'HARD_GATE_GIT_HISTORY_REWRITE_FORBIDDEN',
      'HARD_GATE_INFRA_DESTRUCTIVE_OPERATION',
      'SOMETHING_NEW',
      'SOMETHING_NEW',
    ];
    expect(recommendedActions({ run_id: 'r', terminal_state: 'blocked', blocked_reason_codes: codes })).toEqual([
      'Raise decision confidence or lower threshold with explicit governance approval',
      'Resolve conflicting agent votes to remove fail-closed tie',
      'Manual escalation required before closure can proceed',
      'Provide at least one decision contribution for final arbitration',
      'Remove secrets exposure operation from invocation before rerun',
      'Remove auth/authz mutation operation from invocation before rerun',
      'Remove git history rewrite operation from invocation before rerun',
      'Remove destructive infrastructure operation from invocation before rerun',
      'Resolve blocked reason: SOMETHING_NEW',
    ]);
  });

  it('none for a done or timed-out run without codes; the reviewer\'s steps win over codes', ({ expect }) => {
    expect(recommendedActions({ run_id: 'r', terminal_state: 'done' })).toEqual([]);
    expect(recommendedActions({ run_id: 'r', terminal_state: 'timeout' })).toEqual([]);
    expect(recommendedActions({ run_id: 'r', terminal_state: 'blocked', blocked_reason_codes: ['GATE_CI_NOT_SUCCESS'], reviewer_next_steps: ['fix it'] })).toEqual(['fix it']);
  });
});

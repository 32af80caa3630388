/**
 * A run report as a person reads it: what ran, how each stage ended, how long it took, why the
 * run stopped, and where the logs are.
 */
import { STAGES } from '../../machines/stages.js';
import type { RunReport, StageExecution } from './schema.js';
import { thermostatLines } from './thermostat-summary.js';

export function summarizeReport(report: RunReport, extra: { eventLog?: { path: string; entries: number } } = {}): string {
  const lines: string[] = [];
  const outcome = report.terminal_state ?? (report.status === 'running' ? 'none yet (the run is going on, or it crashed)' : 'none');
  lines.push(`Run ${report.run_id}`);
  lines.push(`  status:         ${report.status}${report.interrupted_by ? ` (stopped by ${report.interrupted_by})` : ''}`);
  lines.push(`  terminal state: ${outcome}`);
  lines.push(`  current stage:  ${report.current_stage ?? '-'}`);
  // The run's start is its first transition's (kept across resumes); the report's own is this invocation's.
  const runStartedAt = report.transitions[0]?.timestamp_unix_ms ?? report.started_at_unix_ms;
  lines.push(`  started:        ${iso(runStartedAt)}`);
  lines.push(`  last update:    ${iso(report.updated_at_unix_ms)} (${seconds(report.updated_at_unix_ms - runStartedAt)} after start)`);
  if (report.resumed_from) lines.push(`  resumed from:   ${report.resumed_from}, at ${iso(report.started_at_unix_ms)}`);
  lines.push('', 'Transitions:');
  if (report.transitions.length === 0) lines.push('  none');
  for (const t of report.transitions) {
    lines.push(`  ${iso(t.timestamp_unix_ms)}  ${t.from_stage ?? '(start)'} -> ${t.to_stage}`);
  }
  if (report.terminal_state) lines.push(`  ${' '.repeat(24)}  ${report.current_stage ?? '(start)'} => ${report.terminal_state}`);
  lines.push('', 'Stages:');
  const entered = new Set(report.transitions.map((t) => t.to_stage));
  // With loops a stage runs more than once: the records in the order they ran, keyed by attempt.
  if (report.loops) for (const execution of report.stage_executions) lines.push(...describeExecution(execution, true));
  for (const stage of report.loops ? [] : STAGES) {
    const executions = report.stage_executions.filter((e) => e.stage === stage);
    if (executions.length === 0) {
      lines.push(`  ${stage.padEnd(26)} ${entered.has(stage) ? 'no program (passes through)' : 'not reached'}`);
      continue;
    }
    for (const execution of executions) lines.push(...describeExecution(execution));
  }
  if (report.earlier_stage_executions.length > 0) {
    lines.push('', 'Earlier invocations:');
    for (const execution of report.earlier_stage_executions) lines.push(...describeExecution(execution));
  }
  if (report.failure) {
    const { stage, status, error, step } = report.failure;
    lines.push('', `Failure: stage ${stage} ended ${status}${step ? ` (step ${step})` : ''}${error ? `: ${error}` : ''}`);
  }
  if (report.blocked) {
    const { reason, stage, gate } = report.blocked;
    lines.push('', `Blocked: ${reason} in ${stage}${gate ? ` (waits for ${gate})` : ''}`);
  }
  lines.push(...describeLoops(report));
  if (report.cost.spent > 0 || report.cost.budget !== null) {
    lines.push('', `Cost: ${report.cost.spent}${report.cost.budget !== null ? ` of a budget of ${report.cost.budget}` : ''}`);
  }
  lines.push(...thermostatLines(report));
  lines.push('', `Checkpoint: ${report.checkpoint_path}`);
  if (extra.eventLog) lines.push(`Event log:  ${extra.eventLog.path} (${extra.eventLog.entries} events)`);
  return `${lines.join('\n')}\n`;
}

/** V0's later fields, when the run had later flags: attempts, cycles, gate decisions. */
function describeLoops(report: RunReport): string[] {
  if (!report.loops) return [];
  const { loops } = report;
  const lines = ['', 'Loops:'];
  lines.push(`  execution attempt:  ${loops.execution_attempt} of ${loops.execution_max_iterations}`);
  lines.push(`  remediation cycle:  ${loops.remediation_cycle} of ${loops.remediation_max_cycles}`);
  for (const d of report.adaptive_policy_decisions ?? []) lines.push(`  adapted:            ${d.action} ${d.previous_value} -> ${d.new_value} (${d.reason_code})`);
  for (const step of report.reviewer_next_steps ?? []) lines.push(`  reviewer next step: ${step}`);
  for (const g of report.gate_decisions ?? []) lines.push(`  gate ${g.gate.padEnd(14)}${g.status} ${g.passed ? 'passed' : `failed (${g.reason_code})`}`);
  for (const h of (report.hard_gate_results ?? []).filter((r) => !r.passed)) lines.push(`  hard gate ${h.id}: failed (${h.reason_code})`);
  for (const a of report.auto_fix_attempts ?? []) lines.push(`  auto-fix attempt ${a.attempt_number}: ${a.status}${a.exit_code === null ? '' : ` (exit ${a.exit_code})`}`);
  const ensemble = report.review_ensemble_result;
  if (ensemble) lines.push(`  review ensemble:    ${ensemble.passed ? 'passed' : 'failed'}, confidence ${ensemble.confidence}${codesOf(ensemble.reason_codes)}`);
  if (report.final_decision) {
    lines.push(`  final decision:     ${report.final_decision}, confidence ${report.decision_confidence} (threshold ${report.decision_threshold})${codesOf(report.decision_rationale_codes ?? [])}`);
  }
  if ((report.blocked_reason_codes ?? []).length > 0) lines.push(`  blocked by:         ${report.blocked_reason_codes!.join(', ')}`);
  const autonomous = report.autonomous_loop;
  if (autonomous) {
    lines.push(`  autonomous run:     ${autonomous.run} of ${autonomous.max_runs}`);
    for (const r of autonomous.runs) lines.push(`  run ${String(r.run).padEnd(15)}${r.terminal_state} after ${seconds(r.elapsed_ms)}  ${r.failure_signature}`);
    if (autonomous.stop_reason !== null) lines.push(`  ${autonomous.stop_reason}`);
  }
  for (const c of report.escalation_cases ?? []) lines.push(`  escalation:         ${c.severity} ${c.trigger_code}${codesOf(c.context_artifacts)}`);
  return lines;
}

function codesOf(codes: readonly string[]): string {
  return codes.length > 0 ? ` (${codes.join(', ')})` : '';
}

function describeExecution(e: StageExecution, keyed = false): string[] {
  const exit = e.exit_code === null ? (e.signal ? `signal ${e.signal}` : 'no exit code') : `exit ${e.exit_code}`;
  const where = keyed ? (e.idempotency_key ?? e.stage) : e.step ? `${e.stage}/${e.step}` : e.stage;
  const spend = e.value !== undefined ? `  cost ${e.cost}, value ${e.value}` : '';
  const lines = [`  ${where.padEnd(26)} ${e.status.padEnd(16)} ${exit.padEnd(10)} ${seconds(e.duration_ms).padStart(8)}  attempt ${e.attempt}  ${e.command}${spend}`];
  if (e.error) lines.push(`      error:  ${e.error}`);
  if (e.missing_artifacts.length > 0) lines.push(`      missing artifacts:   ${e.missing_artifacts.join(', ')}`);
  if (e.malformed_artifacts.length > 0) lines.push(`      malformed artifacts: ${e.malformed_artifacts.join(', ')}`);
  if (e.stdout_log) lines.push(`      stdout: ${e.stdout_log}`);
  if (e.stderr_log) lines.push(`      stderr: ${e.stderr_log}`);
  return lines;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

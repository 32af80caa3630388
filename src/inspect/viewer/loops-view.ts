/**
 * Loops and gates as the viewer shows them, from the report's later fields: the attempt and cycle
 * counts written on the loop's edge, the gate decisions and hard-gate results, the reason codes a
 * block carries, the records the orchestrator writes itself (a budget spent, a budget adapted), and
 * any other later field the report holds, shown as it is. Nothing here names the machine's states
 * beyond what the report's fields name: edges are keyed `source->target`.
 */

export interface GateDecision {
  gate: string;
  status: string;
  passed: boolean;
  reason_code: string | null;
}

export interface LoopsReport {
  transitions: { from_stage: string | null; to_stage: string }[];
  stage_executions: { stage: string; step: string; attempt: number; idempotency_key?: string; command?: string; args?: string[]; status: string; error: string | null }[];
  loops?: Record<string, number> | null;
  gate_decisions?: GateDecision[];
  hard_gate_results?: { id: string; passed: boolean; reason_code: string | null }[];
  blocked_reason_codes?: string[];
  [key: string]: unknown;
}

/** Report fields the page shows elsewhere (the seed's, this project's), or that say nothing alone. */
const SHOWN_ELSEWHERE = new Set([
  'product', 'version', 'run_id', 'current_stage', 'terminal_state', 'transitions', 'stage_executions', 'earlier_stage_executions',
  'resumed_from', 'status', 'interrupted_by', 'failure', 'blocked', 'cost', 'approvals', 'checkpoint_path', 'notifications',
  'started_at_unix_ms', 'updated_at_unix_ms', 'orchestrator_max_rss_kib', 'thermostat', 'loops', 'gate_decisions',
  'hard_gate_results', 'blocked_reason_codes', 'provenance_schema_version',
  // The provenance chain repeats the transitions; the PR risk and the risk tier have lines of their own.
  'provenance_records', 'pr_risk_breakdown', 'risk_tier', 'risk_signals',
]);

/** The execution attempt within its cycle, from V0's key `stage:Execution:attempt:<n>`. */
function attemptOfKey(key: string | undefined): number | null {
  const match = /:attempt:(\d+)$/.exec(key ?? '');
  return match ? Number(match[1]) : null;
}

/**
 * What to write on a loop's edge, keyed `source->target`, with how often it was taken: a stage's
 * retry (its own records' attempt past 1) on its self-loop, `attempt a of m`; a cycle back
 * (`validation -> execution` in the transitions) `cycle c of m`; any other edge taken more than
 * once, `×n`.
 */
export function loopEdgeLabels(report: LoopsReport): Map<string, { text: string; taken: number }> {
  const labels = new Map<string, { text: string; taken: number }>();
  const counts = new Map<string, number>();
  for (const t of report.transitions) {
    if (t.from_stage === null) continue;
    const key = `${t.from_stage}->${t.to_stage}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const retries = new Map<string, number>();
  for (const e of report.stage_executions) {
    const attempt = attemptOfKey(e.idempotency_key);
    if (attempt !== null && attempt > 1) retries.set(e.stage, (retries.get(e.stage) ?? 0) + 1);
  }
  for (const [stage, taken] of retries) counts.set(`${stage}->${stage}`, taken);
  const loops = report.loops ?? null;
  for (const [key, taken] of counts) {
    const [source, target] = key.split('->') as [string, string];
    let text = taken > 1 ? `×${taken}` : '';
    if (loops && source === target && loops[`${source}_attempt`] !== undefined) {
      text = `attempt ${loops[`${source}_attempt`]} of ${loops[`${source}_max_iterations`] ?? '?'}`;
    } else if (loops && source === 'validation' && target === 'execution' && loops.remediation_cycle !== undefined) {
      text = `cycle ${loops.remediation_cycle} of ${loops.remediation_max_cycles ?? '?'}`;
    }
    if (text) labels.set(key, { text, taken });
  }
  return labels;
}

/** `execution attempt 2 of 2`, `remediation cycle 1 of 1`; a counter without a max is shown alone. */
export function loopLines(loops: Record<string, number> | null | undefined): string[] {
  if (!loops) return [];
  const lines: string[] = [];
  for (const [key, value] of Object.entries(loops)) {
    if (/_max_\w+$/.test(key)) continue;
    const [, what, kind] = /^(.*)_(attempt|cycle)$/.exec(key) ?? [];
    if (what && kind) {
      const max = Object.entries(loops).find(([k]) => k.startsWith(`${what}_max_`))?.[1];
      lines.push(`${what.replace(/_/g, ' ')} ${kind} ${value}${max === undefined ? '' : ` of ${max}`}`);
    } else lines.push(`${key.replace(/_/g, ' ')} ${value}`);
  }
  return lines;
}

/** Records the orchestrator wrote itself (V0's `execution.iteration_budget` and kin): no step, attempt 0. */
export function isOrchestratorRecord(e: { step: string; attempt: number }): boolean {
  return e.attempt === 0 && !e.step;
}

export function orchestratorRecords(report: LoopsReport): string[] {
  return report.stage_executions
    .filter(isOrchestratorRecord)
    .map((e) => `${e.command}: ${(e.args ?? []).join(' ')}${e.error ? ` — ${e.error}` : ''}`);
}

/** Later fields the page has no view of, that hold something: shown as compact JSON. */
export function otherFields(report: LoopsReport): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(report)) {
    if (SHOWN_ELSEWHERE.has(key) || value === null || value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    out.push([key, text.length > 300 ? `${text.slice(0, 300)}…` : text]);
  }
  return out;
}

/** Is there anything of loops and gates in this report? */
export function hasLoops(report: LoopsReport): boolean {
  return Boolean(report.loops) || (report.gate_decisions?.length ?? 0) > 0 || (report.hard_gate_results?.length ?? 0) > 0;
}

export function renderLoops(box: HTMLElement, report: LoopsReport): void {
  const items: HTMLElement[] = [];
  const add = (className: string, text: string, data: Record<string, string> = {}) => {
    const item = document.createElement('li');
    item.className = className;
    item.textContent = text;
    Object.assign(item.dataset, data);
    items.push(item);
  };
  for (const line of loopLines(report.loops)) add('loop', line);
  for (const gate of report.gate_decisions ?? []) {
    add(`gate ${gate.passed ? 'passed' : 'failed'}`, `gate ${gate.gate}: ${gate.status} ${gate.passed ? 'passed' : `failed (${gate.reason_code ?? 'no code'})`}`, { gate: gate.gate, passed: String(gate.passed) });
  }
  const hard = report.hard_gate_results ?? [];
  if (hard.length > 0) {
    const failed = hard.filter((h) => !h.passed);
    add(`hard-gates ${failed.length ? 'failed' : 'passed'}`, `hard gates: ${hard.length - failed.length} of ${hard.length} passed`);
    for (const h of failed) add('hard-gate failed', `hard gate ${h.id}: failed (${h.reason_code ?? 'no code'})`, { gate: h.id, passed: 'false' });
  }
  const tier = (report as { risk_tier?: string | null }).risk_tier;
  const signals = (report as { risk_signals?: { code: string }[] }).risk_signals ?? [];
  if (tier) add('risk-tier', `risk tier: ${tier}${signals.length ? ` (${signals.map((s) => s.code).join(', ')})` : ''}`);
  const prRisk = (report as { pr_risk_breakdown?: { total_score: number; eligible_for_auto_merge: boolean } | null }).pr_risk_breakdown;
  if (prRisk) add('pr-risk', `PR risk: ${prRisk.total_score} (${prRisk.eligible_for_auto_merge ? 'eligible for auto-merge' : 'above the threshold'})`);
  for (const line of orchestratorRecords(report)) add('record', line);
  for (const [key, text] of otherFields(report)) add('field', `${key}: ${text}`, { field: key });
  box.replaceChildren(...items);
}

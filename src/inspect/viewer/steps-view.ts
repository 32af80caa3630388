/**
 * Steps as the viewer shows them: each stage's progress (done / total, running, failed, cancelled),
 * the steps running now with their elapsed time, and the failure first. Built from the report's
 * execution records, the stage actors' live snapshots (which steps run now) and the plan when the
 * server knows it.
 */

export interface ExecutionLike {
  stage: string;
  step: string;
  status: string;
  attempt: number;
  exit_code: number | null;
  error: string | null;
  interrupted: boolean;
}

export interface Failure {
  stage: string;
  status: string;
  error: string | null;
  step?: string | null;
}

/** A plan's steps per stage, as `/api/run` gives them (null when the run has no plan file). */
export type PlanShape = Record<string, { id: string; needs: string[] }[]> | null;

/** What a stage actor's snapshot says of its steps under way: step id → status. */
export type LiveSteps = Map<string, Record<string, { status: string }>>;

export type StepState = 'waiting' | 'running' | 'retrying' | 'success' | 'failed' | 'cancelled' | 'skipped';

export interface StageProgress {
  stage: string;
  total: number | null;
  counts: Record<StepState, number>;
  running: string[];
}

/** An execution stopped because a sibling failed (or the run was stopped), not a failure of its own. */
export function isCancelled(execution: ExecutionLike): boolean {
  return execution.interrupted && execution.status !== 'success';
}

export function stateOfExecution(execution: ExecutionLike): StepState {
  if (isCancelled(execution)) return 'cancelled';
  if (execution.status === 'success') return 'success';
  if (execution.status === 'skipped') return 'skipped';
  return 'failed';
}

/** Each stage's steps (plan first, then records) with their latest state. */
export function stepStates(executions: readonly ExecutionLike[], live: LiveSteps, plan: PlanShape): Map<string, Map<string, StepState>> {
  const latest = new Map<string, Map<string, StepState>>();
  const ensure = (stage: string) => {
    let steps = latest.get(stage);
    if (!steps) latest.set(stage, (steps = new Map()));
    return steps;
  };
  for (const stage of Object.keys(plan ?? {})) ensure(stage);
  for (const execution of executions) {
    if (execution.attempt === 0 && !execution.step) continue; // the orchestrator's own records
    ensure(execution.stage).set(execution.step || execution.stage, stateOfExecution(execution));
  }
  for (const [stage, active] of live) {
    if (Object.keys(active).length === 0) continue;
    const steps = ensure(stage);
    for (const [id, progress] of Object.entries(active)) {
      if (progress.status === 'running') steps.set(id, 'running');
      else if (progress.status === 'waiting_retry' || progress.status === 'pending') steps.set(id, 'retrying');
    }
  }
  return latest;
}

/** The stages' progress, in the order they first appear (plan first, then records). */
export function stageProgress(executions: readonly ExecutionLike[], live: LiveSteps, plan: PlanShape): StageProgress[] {
  return [...stepStates(executions, live, plan)].map(([stage, steps]) => {
    const counts: Record<StepState, number> = { waiting: 0, running: 0, retrying: 0, success: 0, failed: 0, cancelled: 0, skipped: 0 };
    const running: string[] = [];
    for (const [id, state] of steps) {
      counts[state]++;
      if (state === 'running') running.push(id);
    }
    const total = plan?.[stage]?.length ?? null;
    if (total !== null) counts.waiting = Math.max(0, total - steps.size);
    return { stage, total, counts, running };
  });
}

/** One line per stage: `execution 12 / 40 done · 3 running · 1 failed · 23 cancelled`. */
export function progressLine(progress: StageProgress): string {
  const { counts, total } = progress;
  const done = counts.success + counts.skipped;
  const parts = [`${done}${total === null ? '' : ` / ${total}`} done`];
  if (counts.running) parts.push(`${counts.running} running`);
  if (counts.retrying) parts.push(`${counts.retrying} retrying`);
  if (counts.failed) parts.push(`${counts.failed} failed`);
  if (counts.cancelled) parts.push(`${counts.cancelled} cancelled by a failure`);
  if (counts.waiting) parts.push(`${counts.waiting} waiting`);
  return parts.join(' · ');
}

/** The execution that is the run's failure: the failing step's last attempt that was not cancelled. */
export function rootCauseIndex(executions: readonly ExecutionLike[], failure: Failure | null): number {
  if (!failure) return -1;
  for (let i = executions.length - 1; i >= 0; i--) {
    const e = executions[i]!;
    if (e.stage !== failure.stage || isCancelled(e) || e.status === 'success') continue;
    if (!failure.step || e.step === failure.step) return i;
  }
  return -1;
}

/** The banner's text: stage, step, status, exit code and error of the run's failure. */
export function failureText(failure: Failure, execution: ExecutionLike | undefined): string {
  const where = failure.step ? `${failure.stage} / ${failure.step}` : failure.stage;
  const exit = execution?.exit_code !== null && execution?.exit_code !== undefined ? ` (exit ${execution.exit_code})` : '';
  const attempt = execution ? `, attempt ${execution.attempt}` : '';
  return `failed in ${where}${attempt}: ${failure.status}${exit}${failure.error ? ` — ${failure.error}` : ''}`;
}

/** Does a filter (words, all of which must match) select this execution? */
export function matchesFilter(execution: ExecutionLike, filter: string): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = `${execution.stage} ${execution.step} ${stateOfExecution(execution)} ${execution.status}`.toLowerCase();
  return words.every((word) => text.includes(word));
}

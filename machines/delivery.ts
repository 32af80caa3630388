/**
 * V0's delivery lifecycle (`execute_delivery_lifecycle`) in closure: the git and gh commands it
 * runs, in upstream's order. A dry run records each as `<step>.dry_run` (exit 0, success) under the
 * key `stage:Closure:delivery:<n>` and runs nothing; a real run runs them one by one in the state
 * `delivery_step` (the runner's actor), and a step that succeeded is not run again on resume.
 * Pure: the steps and records are data.
 */
import type { LoopRecord } from './loops.js';

export interface DeliverySettings {
  /** `--delivery-dry-run`: record the commands, run none. Absent in snapshots from before the real run: a dry run. */
  dryRun?: boolean;
  branch: string | null;
  commitMessage: string | null;
  /** `--delivery-pr-enabled`: update PR `number` (`gh pr edit`), else create one (`gh pr create`). */
  pr: { number: number | null; base: string | null; title: string | null; body: string | null } | null;
}

/** One delivery command: upstream's step id, the program and its arguments. */
export interface DeliveryStep {
  id: string;
  bin: 'git' | 'gh';
  args: string[];
}

/**
 * What the delivery's actor is given: the `index`th step (1-based), plain JSON (it is saved in the
 * snapshot). The runner runs the `index`th command of the delivery flags given to the invocation
 * that runs it: on resume, `step` may be an earlier invocation's.
 */
export interface DeliveryStepInput {
  runId: string;
  index: number;
  step: DeliveryStep;
}

/** What it ends with: the step's record status (`success`, `failed`, `spawn_failed`, `timeout`) and error. */
export interface DeliveryStepOutput {
  index: number;
  /** The step's id (`delivery.git.commit`...). */
  step: string;
  status: string;
  error: string | null;
}

/** Upstream's steps, in its order, with the arguments the real run gives git and gh. */
export function deliverySteps(delivery: DeliverySettings): DeliveryStep[] {
  const steps: DeliveryStep[] = [];
  if (delivery.branch !== null) steps.push({ id: 'delivery.git.switch_branch', bin: 'git', args: ['switch', '-c', delivery.branch] });
  steps.push({ id: 'delivery.git.add', bin: 'git', args: ['add', '-A'] });
  if (delivery.commitMessage !== null) steps.push({ id: 'delivery.git.commit', bin: 'git', args: ['commit', '-m', delivery.commitMessage] });
  const { pr } = delivery;
  if (pr !== null) {
    const options = [...flag('--base', pr.base), ...flag('--title', pr.title), ...flag('--body', pr.body)];
    if (pr.number !== null) steps.push({ id: 'delivery.gh.pr.update', bin: 'gh', args: ['pr', 'edit', String(pr.number), ...options] });
    else steps.push({ id: 'delivery.gh.pr.create', bin: 'gh', args: ['pr', 'create', ...options, ...flag('--head', delivery.branch)] });
  }
  return steps;
}

/** Upstream's key of the `index`th delivery step (1-based). */
export function deliveryKey(index: number): string {
  return `stage:Closure:delivery:${index}`;
}

export function isDryRun(delivery: DeliverySettings): boolean {
  return delivery.dryRun !== false;
}

export function deliveryDryRunRecords(delivery: DeliverySettings): LoopRecord[] {
  return deliverySteps(delivery).map((step, i) => ({
    stage: 'closure',
    idempotency_key: deliveryKey(i + 1),
    command: `${step.id}.dry_run`,
    args: step.args,
    status: 'success',
    error: null,
    exit_code: 0,
  }));
}

/** Upstream's protected branches (case-insensitive): `main`, `master`, or a name starting `release`, `rel/` or `hotfix`. */
export function isProtectedBranch(branch: string): boolean {
  const name = branch.toLowerCase();
  return name === 'main' || name === 'master' || ['release', 'rel/', 'hotfix'].some((prefix) => name.startsWith(prefix));
}

function flag(name: string, value: string | null): string[] {
  return value === null ? [] : [name, value];
}

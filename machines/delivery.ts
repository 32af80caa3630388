/**
 * V0's delivery lifecycle (`execute_delivery_lifecycle`) in closure, dry run only: the git and gh
 * commands it would run, each recorded as `<step>.dry_run` (exit 0, success) under the key
 * `stage:Closure:delivery:<n>`, and nothing executed. Pure: the records are data.
 */
import type { LoopRecord } from './loops.js';

export interface DeliverySettings {
  branch: string | null;
  commitMessage: string | null;
  /** `--delivery-pr-enabled`: update PR `number` (`gh pr edit`), else create one (`gh pr create`). */
  pr: { number: number | null; base: string | null; title: string | null; body: string | null } | null;
}

/** Upstream's steps, in its order, with the arguments the real run would give git and gh. */
export function deliverySteps(delivery: DeliverySettings): { id: string; args: string[] }[] {
  const steps: { id: string; args: string[] }[] = [];
  if (delivery.branch !== null) steps.push({ id: 'delivery.git.switch_branch', args: ['switch', '-c', delivery.branch] });
  steps.push({ id: 'delivery.git.add', args: ['add', '-A'] });
  if (delivery.commitMessage !== null) steps.push({ id: 'delivery.git.commit', args: ['commit', '-m', delivery.commitMessage] });
  const { pr } = delivery;
  if (pr !== null) {
    const options = [...flag('--base', pr.base), ...flag('--title', pr.title), ...flag('--body', pr.body)];
    if (pr.number !== null) steps.push({ id: 'delivery.gh.pr.update', args: ['pr', 'edit', String(pr.number), ...options] });
    else steps.push({ id: 'delivery.gh.pr.create', args: ['pr', 'create', ...options, ...flag('--head', delivery.branch)] });
  }
  return steps;
}

export function deliveryDryRunRecords(delivery: DeliverySettings): LoopRecord[] {
  return deliverySteps(delivery).map((step, i) => ({
    stage: 'closure',
    idempotency_key: `stage:Closure:delivery:${i + 1}`,
    command: `${step.id}.dry_run`,
    args: step.args,
    status: 'success',
    error: null,
    exit_code: 0,
  }));
}

function flag(name: string, value: string | null): string[] {
  return value === null ? [] : [name, value];
}

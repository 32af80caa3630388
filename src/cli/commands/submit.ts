/**
 * `autonomy-orchestrator submit --plan P [--store postgres://…] [--run-id ID]`: queues a run of
 * plan P in Postgres for workers to claim, and prints its run id.
 */
import { Command } from 'commander';
import { checkRunId } from '../../checkpoint/store-errors.js';
import { EXIT, OrchestratorError } from '../../exit-codes.js';
import { loadPlanFile } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { RunQueue } from '../../queue/run-queue.js';
import { newRunId } from '../../run/start-plan.js';
import { queueStore } from './shared-store.js';

export async function submitCommand(argv: string[]): Promise<number> {
  const flags = new Command('submit')
    .description('queue a run of a plan for the workers (Postgres store); prints its run id')
    .requiredOption('--plan <file>', 'plan of steps per stage (JSON or YAML)')
    .option('--store <address>', 'postgres://… (default: ORCHESTRATOR_PG_DSN)')
    .option('--run-id <id>', 'the run id (default: a new one)')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .parse(argv, { from: 'user' })
    .opts<{ plan: string; store?: string; runId?: string }>();
  const plan = await loadPlanFile(flags.plan);
  refuseEnvValues(plan, flags.plan);
  const runId = flags.runId ?? newRunId();
  checkRunId(runId);
  const store = queueStore(flags.store, 'submit', 1);
  try {
    await new RunQueue(store).submit(runId, plan);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new OrchestratorError(`run ${runId} is already in ${store.location}`, EXIT.failed);
    throw error;
  } finally {
    await store.close();
  }
  process.stdout.write(`${runId}\n`);
  return EXIT.done;
}

/** The plan is stored in the database for any worker to read: step environment values stay out of it. */
function refuseEnvValues(plan: Plan, path: string): void {
  for (const [stage, steps] of Object.entries(plan.stages)) {
    (steps ?? []).forEach((step, i) => {
      if (Object.keys(step.env).length > 0) {
        throw new OrchestratorError(
          `plan ${path}: stages.${stage}[${i}].env: a queued plan is stored in the database, and environment values are never stored; set them in the workers' environment instead`,
          EXIT.usage,
        );
      }
    });
  }
}

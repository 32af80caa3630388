/**
 * `autonomy-orchestrator submit --plan P [--queue redis://…] [--store …] [--run-id ID]
 * [--priority N] [--delay-ms N | --at ISO] [--every CRON]`: adds a run of plan P to the queue for
 * workers to take, and prints its run id. `--every` adds a schedule instead (a run per cron tick;
 * `schedules` lists them, `unschedule` removes one) and prints the schedule's id.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { CronExpressionParser } from 'cron-parser';
import { checkRunId } from '../../checkpoint/store-errors.js';
import { EXIT, OrchestratorError } from '../../exit-codes.js';
import { loadPlanFile } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { RunQueue } from '../../queue/run-queue.js';
import { newRunId } from '../../run/start-plan.js';
import { STORE_HELP, queueOption, queueSetup, wholeNumber } from './shared-store.js';

interface SubmitFlags {
  plan: string;
  queue?: string;
  store?: string;
  runId?: string;
  priority?: number;
  delayMs?: number;
  at?: number;
  every?: string;
}

/** Checked here with the parser BullMQ's scheduler uses, so that a typo is a usage error and not a queue's. */
function cronPattern(value: string): string {
  try {
    CronExpressionParser.parse(value);
  } catch {
    throw new InvalidArgumentError(`--every ${JSON.stringify(value)}: not a cron pattern (e.g. "0 2 * * *" for 02:00 every day)`);
  }
  return value;
}

function isoTime(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) throw new InvalidArgumentError('--at takes an ISO 8601 time, e.g. 2026-12-01T02:00:00Z');
  return ms;
}

export async function submitCommand(argv: string[]): Promise<number> {
  const flags = new Command('submit')
    .description('queue a run of a plan for the workers (Postgres store); prints its run id')
    .requiredOption('--plan <file>', 'plan of steps per stage (JSON or YAML)')
    .addOption(queueOption())
    .option('--store <address>', STORE_HELP)
    .option('--run-id <id>', 'the run id, and the job id (default: a new one); with --every, the schedule id')
    .addOption(new Option('--priority <n>', '1 (first) to 2097152; runs without one go before prioritised runs').argParser(wholeNumber('--priority', 1, 2_097_152)))
    .addOption(new Option('--delay-ms <ms>', 'start no sooner than this').argParser(wholeNumber('--delay-ms', 0, 2 ** 40)).conflicts(['at', 'every']))
    .addOption(new Option('--at <time>', 'start no sooner than this ISO time').argParser(isoTime).conflicts(['every']))
    .addOption(new Option('--every <cron>', 'a run at each tick of this cron pattern (5 or 6 fields), until `unschedule`').argParser(cronPattern))
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .parse(argv, { from: 'user' })
    .opts<SubmitFlags>();
  const plan = await loadPlanFile(flags.plan);
  refuseEnvValues(plan, flags.plan);
  const id = flags.runId ?? (flags.every !== undefined ? `schedule_${Date.now().toString(36)}` : newRunId());
  try {
    checkRunId(id);
  } catch (error) {
    throw new OrchestratorError(`--run-id: ${(error as Error).message}`, EXIT.usage);
  }
  const { queue: address } = queueSetup(flags, 'submit');
  const queue = new RunQueue(address);
  try {
    if (flags.every !== undefined) {
      const schedule = await queue.schedule(id, plan, flags.every, { priority: flags.priority });
      const next = schedule.nextAtMs === null ? '' : ` (next run at ${new Date(schedule.nextAtMs).toISOString()})`;
      process.stderr.write(`schedule ${id}: a run of ${flags.plan} at "${flags.every}"${next}\n`);
    } else {
      const delayMs = flags.at !== undefined ? Math.max(0, flags.at - Date.now()) : flags.delayMs;
      await queue.submit(id, plan, { priority: flags.priority, delayMs });
    }
  } finally {
    await queue.close();
  }
  process.stdout.write(`${id}\n`);
  return EXIT.done;
}

/** The plan is stored in Redis for any worker to read: step environment values stay out of it. */
function refuseEnvValues(plan: Plan, path: string): void {
  for (const [stage, steps] of Object.entries(plan.stages)) {
    (steps ?? []).forEach((step, i) => {
      if (Object.keys(step.env).length > 0) {
        throw new OrchestratorError(
          `plan ${path}: stages.${stage}[${i}].env: a queued plan is stored in the queue, and environment values are never stored; set them in the workers' environment instead`,
          EXIT.usage,
        );
      }
    });
  }
}

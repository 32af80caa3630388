/**
 * The queue-wide verbs, each a few lines over RunQueue:
 * - `queue pause|resume|drain`: workers take no new runs while paused (running ones go on);
 *   drain removes the runs not started yet (delayed ones too);
 * - `queue clean --older-than-days N [--failed]`: the queue forgets finished runs (checkpoints stay);
 * - `retry <run id>`: a failed run queued again, resumed from its checkpoint by a worker;
 * - `schedules`: the repeatable runs (`submit --every`); `unschedule <id>` removes one.
 */
import { Argument, Command, Option } from 'commander';
import { EXIT, OrchestratorError } from '../../exit-codes.js';
import { RunQueue } from '../../queue/run-queue.js';
import { STORE_HELP, queueOption, queueSetup, wholeNumber } from './shared-store.js';

function program(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .addOption(queueOption())
    .option('--store <address>', STORE_HELP)
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false);
}

async function withQueue<T>(flags: { queue?: string; store?: string }, command: string, use: (queue: RunQueue) => Promise<T>): Promise<T> {
  const queue = new RunQueue(queueSetup(flags, command).queue);
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

export async function queueCommand(argv: string[]): Promise<number> {
  const parsed = program('queue', 'pause, resume, drain or clean the run queue')
    .addArgument(new Argument('<verb>', 'pause | resume | drain | clean').choices(['pause', 'resume', 'drain', 'clean']))
    .addOption(new Option('--older-than-days <n>', 'clean: finished runs that ended this many days ago or more').argParser(wholeNumber('--older-than-days', 0, 36_500)))
    .option('--failed', 'clean: failed runs too (they can no longer be retried)', false)
    .parse(argv, { from: 'user' });
  const verb = parsed.args[0] as 'pause' | 'resume' | 'drain' | 'clean';
  const { olderThanDays, failed } = parsed.opts<{ olderThanDays?: number; failed: boolean }>();
  if (verb === 'clean' && olderThanDays === undefined) throw new OrchestratorError('queue clean needs --older-than-days N (0: every finished run)', EXIT.usage);
  const line = await withQueue(parsed.opts(), `queue ${verb}`, async (queue) => {
    if (verb === 'clean') {
      const removed = await queue.clean(olderThanDays! * 86_400_000, failed);
      return `queue ${queue.address.location}: ${removed} finished run(s) forgotten; their checkpoints and records stay in the store`;
    }
    await queue[verb]();
    if (verb === 'drain') return `queue ${queue.address.location}: runs not started yet removed; running and finished runs stay`;
    return `queue ${queue.address.location}: ${verb === 'pause' ? 'paused (workers take no new runs; running ones go on)' : 'resumed'}`;
  });
  process.stdout.write(`${line}\n`);
  return EXIT.done;
}

export async function retryCommand(argv: string[]): Promise<number> {
  const parsed = program('retry', 'queue a failed run again: a worker resumes it from its checkpoint').argument('<run-id>').parse(argv, { from: 'user' });
  const runId = parsed.args[0]!;
  await withQueue(parsed.opts(), 'retry', async (queue) => {
    if (!(await queue.retry(runId))) throw new OrchestratorError(`retry: run ${runId} is not a failed run of ${queue.address.location} (\`status\` lists them)`, EXIT.failed);
  });
  process.stdout.write(`${runId}: queued again\n`);
  return EXIT.done;
}

export async function schedulesCommand(argv: string[]): Promise<number> {
  const parsed = program('schedules', 'list the repeatable runs (submit --every)').option('--json', 'print JSON lines', false).parse(argv, { from: 'user' });
  const { json } = parsed.opts<{ json: boolean }>();
  const schedules = await withQueue(parsed.opts(), 'schedules', (queue) => queue.schedules());
  if (json) {
    for (const s of schedules) process.stdout.write(`${JSON.stringify({ id: s.id, pattern: s.pattern, next: s.nextAtMs === null ? null : new Date(s.nextAtMs).toISOString(), runs: s.runs })}\n`);
    return EXIT.done;
  }
  if (schedules.length === 0) process.stdout.write('no schedules (submit --every CRON adds one)\n');
  for (const s of schedules) process.stdout.write(`${s.id}  "${s.pattern}"  next ${s.nextAtMs === null ? '-' : new Date(s.nextAtMs).toISOString()}  runs ${s.runs}\n`);
  return EXIT.done;
}

export async function unscheduleCommand(argv: string[]): Promise<number> {
  const parsed = program('unschedule', 'remove a schedule; runs it already queued stay').argument('<schedule-id>').parse(argv, { from: 'user' });
  const id = parsed.args[0]!;
  await withQueue(parsed.opts(), 'unschedule', async (queue) => {
    if (!(await queue.unschedule(id))) throw new OrchestratorError(`unschedule: no schedule ${id} in ${queue.address.location} (\`schedules\` lists them)`, EXIT.failed);
  });
  process.stdout.write(`schedule ${id} removed\n`);
  return EXIT.done;
}

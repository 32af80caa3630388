/**
 * `autonomy-orchestrator status [--queue …] [--store …] [--json] [--watch MS]`: the scoreboard. Every
 * run of the queue (its state from BullMQ, its stage, start, duration and attempts from its
 * checkpoint), then every other checkpoint the store holds; then per-step success/failure counts
 * from the execution log (src/report/execution-log.ts). Never prints a store's password.
 */
import { Command, Option } from 'commander';
import { openStore } from '../../checkpoint/open-store.js';
import { EXIT } from '../../exit-codes.js';
import { RunQueue } from '../../queue/run-queue.js';
import { RUN_COLUMNS, SPEND_COLUMNS, type Scoreboard, scoreboard } from '../../queue/scoreboard.js';
import { STORE_HELP, boardSetup, queueOption, wholeNumber } from './shared-store.js';

export async function statusCommand(argv: string[]): Promise<number> {
  const flags = new Command('status')
    .description('print the runs a queue and a store hold (their state, stage, start, duration, attempts) and per-step counts')
    .addOption(queueOption())
    .option('--store <address>', STORE_HELP)
    .option('--json', 'print JSON lines', false)
    .addOption(new Option('--watch [ms]', 'print again every ms (default 2000) until interrupted').argParser(wholeNumber('--watch', 100, 3_600_000)))
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .parse(argv, { from: 'user' })
    .opts<{ queue?: string; store?: string; json: boolean; watch?: number | true }>();
  const setup = boardSetup(flags);
  const choice = setup.store;
  const store = openStore(choice, { maxConnections: 1 });
  const queue = setup.queue ? new RunQueue(setup.queue) : null;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (;;) {
      const board = await scoreboard(store, queue);
      print(board, flags.json);
      // A plain run keeps its checkpoint in its output directory, not in a store: say where to look.
      if (board.runs.length === 0 && !flags.json) {
        process.stderr.write(`autonomy-orchestrator: no runs in ${choice.kind === 'file' ? choice.address : `the ${choice.kind} store (${choice.source})`}; a run without --store keeps its checkpoint in its output directory: \`autonomy-orchestrator report <output_dir>\` shows it\n`);
      }
      // Said on stderr: stdout stays the table (or JSON lines) a script reads.
      if (queue && (await queue.isPaused())) process.stderr.write(`queue ${queue.address.location} is paused: workers start no new run (\`queue resume\` to go on)\n`);
      if (flags.watch === undefined || stop.signal.aborted) break;
      await new Promise((resolve) => setTimeout(resolve, flags.watch === true ? 2_000 : flags.watch).unref());
      if (stop.signal.aborted) break;
      process.stdout.write('\n');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await queue?.close();
    await store.close();
  }
  return EXIT.done;
}

/** JSON: one line per run (with its `steps` counts). Text: the runs, then the step counts over all of them. */
function print(board: Scoreboard, json: boolean): void {
  if (json) {
    for (const row of board.runs) process.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  const spending = board.runs.some((row) => row.spent > 0 || row.concurrency !== '-');
  const columns = spending ? [...RUN_COLUMNS, ...SPEND_COLUMNS] : [...RUN_COLUMNS];
  table(columns, board.runs.map((row) => columns.map((key) => String(row[key]))));
  if (board.steps.length === 0) return;
  process.stdout.write('\n');
  table(['step', 'success', 'failure'], board.steps.map((s) => [s.step, String(s.success), String(s.failure)]));
}

function table(header: string[], rows: string[][]): void {
  const cells = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  for (const line of cells) process.stdout.write(`${line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}

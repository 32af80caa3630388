/**
 * `autonomy-orchestrator status [--store …] [--json] [--watch MS]`: the scoreboard. With a Postgres
 * store, every queued run (state, current stage, started, duration, attempts, worker); with any
 * other store, every checkpoint it holds; then per-step success/failure counts from the execution
 * log (src/report/execution-log.ts). Never prints a store's password.
 */
import { Command, Option } from 'commander';
import { chooseStore, openStore } from '../../checkpoint/open-store.js';
import { EXIT } from '../../exit-codes.js';
import { RUN_COLUMNS, SPEND_COLUMNS, type Scoreboard, scoreboard } from '../../queue/scoreboard.js';
import { wholeNumber } from './shared-store.js';

export async function statusCommand(argv: string[]): Promise<number> {
  const flags = new Command('status')
    .option('--store <address>', 'file:DIR | postgres://… | redis://… (default: ORCHESTRATOR_PG_DSN, ORCHESTRATOR_REDIS_URL, ORCHESTRATOR_STATE_DIR, ./state)')
    .option('--json', 'print JSON lines', false)
    .addOption(new Option('--watch [ms]', 'print again every ms (default 2000) until interrupted').argParser(wholeNumber('--watch', 100, 3_600_000)))
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .parse(argv, { from: 'user' })
    .opts<{ store?: string; json: boolean; watch?: number | true }>();
  const store = openStore(chooseStore(flags.store, process.env, './state'), { maxConnections: 1 });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (;;) {
      print(await scoreboard(store), flags.json);
      if (flags.watch === undefined || stop.signal.aborted) break;
      await new Promise((resolve) => setTimeout(resolve, flags.watch === true ? 2_000 : flags.watch).unref());
      if (stop.signal.aborted) break;
      process.stdout.write('\n');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
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

/**
 * `autonomy-orchestrator worker [--store postgres://…] [--concurrency N]`: claims queued runs and
 * drives them until SIGTERM or SIGINT, then hands back what it was running and exits 0.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { EXIT } from '../../exit-codes.js';
import { Worker } from '../../queue/worker.js';
import { queueStore, wholeNumber } from './shared-store.js';

interface WorkerFlags {
  store?: string;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  workDir: string;
  timeoutMs?: number;
  killGraceMs?: number;
}

export async function workerCommand(argv: string[]): Promise<number> {
  const flags = new Command('worker')
    .option('--store <address>', 'postgres://… (default: ORCHESTRATOR_PG_DSN)')
    .addOption(new Option('--concurrency <n>', 'runs at once').default(1).argParser(wholeNumber('--concurrency', 1, 256)))
    .addOption(new Option('--lease-ms <ms>', 'lease of each run, renewed every third of it').default(15_000).argParser(wholeNumber('--lease-ms', 300, 3_600_000)))
    .addOption(new Option('--poll-ms <ms>', 'how often to look for queued runs').default(500).argParser(wholeNumber('--poll-ms', 10, 600_000)))
    .option('--work-dir <dir>', "where each run's report, logs and step files go (<dir>/<run id>)", './worker-runs')
    .addOption(new Option('--timeout-ms <ms>', "default step timeout (default: the plan's, else 30000)").argParser(wholeNumber('--timeout-ms', 1, 2_147_483_647)))
    .addOption(new Option('--kill-grace-ms <ms>', 'SIGTERM to SIGKILL grace for steps').argParser(wholeNumber('--kill-grace-ms', 0, 600_000)))
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .parse(argv, { from: 'user' })
    .opts<WorkerFlags>();
  const store = queueStore(flags.store, 'worker', flags.concurrency + 2);
  const worker = new Worker(store, {
    concurrency: flags.concurrency,
    leaseMs: flags.leaseMs,
    pollMs: flags.pollMs,
    workDir: resolve(flags.workDir),
    timeoutMs: flags.timeoutMs,
    killGraceMs: flags.killGraceMs,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const onSignal = (signal: NodeJS.Signals) => worker.stop(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.work();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await store.close();
  }
  return EXIT.done;
}

/**
 * `autonomy-orchestrator worker [--store postgres://…] [--concurrency N]`: claims queued runs and
 * drives them until SIGTERM or SIGINT, then hands back what it was running and exits 0.
 * `--metrics-port N` serves Prometheus metrics on 127.0.0.1 (`--metrics-host` to bind elsewhere).
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { EXIT, OrchestratorError } from '../../exit-codes.js';
import { type MetricsServer, serveMetrics } from '../../queue/metrics-server.js';
import { Worker } from '../../queue/worker.js';
import { WorkerMetrics } from '../../queue/worker-metrics.js';
import { keepMemorySmall } from '../long-run-memory.js';
import { queueStore, wholeNumber } from './shared-store.js';

interface WorkerFlags {
  store?: string;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  workDir: string;
  timeoutMs?: number;
  killGraceMs?: number;
  metricsPort?: number;
  metricsHost: string;
}

export async function workerCommand(argv: string[]): Promise<number> {
  const flags = new Command('worker')
    .description('take queued runs from the store and run them, renewing each run\'s lease, until stopped')
    .option('--store <address>', 'postgres://… (default: ORCHESTRATOR_PG_DSN)')
    .addOption(new Option('--concurrency <n>', 'runs at once').default(1).argParser(wholeNumber('--concurrency', 1, 256)))
    .addOption(new Option('--lease-ms <ms>', 'lease of each run, renewed every third of it').default(15_000).argParser(wholeNumber('--lease-ms', 300, 3_600_000)))
    .addOption(new Option('--poll-ms <ms>', 'how often to look for queued runs').default(500).argParser(wholeNumber('--poll-ms', 10, 600_000)))
    .option('--work-dir <dir>', "where each run's report, logs and step files go (<dir>/<run id>)", './worker-runs')
    .addOption(new Option('--timeout-ms <ms>', "default step timeout (default: the plan's, else 30000)").argParser(wholeNumber('--timeout-ms', 1, 2_147_483_647)))
    .addOption(new Option('--kill-grace-ms <ms>', 'SIGTERM to SIGKILL grace for steps').argParser(wholeNumber('--kill-grace-ms', 0, 600_000)))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (0: any free port)').argParser(wholeNumber('--metrics-port', 0, 65_535)))
    .option('--metrics-host <host>', 'address the metrics server binds to', '127.0.0.1')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .allowExcessArguments(false)
    .parse(argv, { from: 'user' })
    .opts<WorkerFlags>();
  // A worker runs for hours, one run after another: it is a long run.
  keepMemorySmall();
  const store = queueStore(flags.store, 'worker', flags.concurrency + 2);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const metrics = flags.metricsPort === undefined ? undefined : new WorkerMetrics();
  let server: MetricsServer | null = null;
  if (metrics && flags.metricsPort !== undefined) {
    try {
      server = await serveMetrics(metrics, flags.metricsPort, flags.metricsHost);
    } catch (error) {
      await store.close();
      throw new OrchestratorError(`--metrics-port ${flags.metricsPort}: cannot listen on ${flags.metricsHost}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT.failed);
    }
    log(`metrics at ${server.url}`);
  }
  const worker = new Worker(store, {
    concurrency: flags.concurrency,
    leaseMs: flags.leaseMs,
    pollMs: flags.pollMs,
    workDir: resolve(flags.workDir),
    timeoutMs: flags.timeoutMs,
    killGraceMs: flags.killGraceMs,
    log,
    metrics,
  });
  const onSignal = (signal: NodeJS.Signals) => worker.stop(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.work();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await server?.close();
    await store.close();
  }
  return EXIT.done;
}

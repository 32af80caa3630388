/**
 * `autonomy-orchestrator worker [--queue redis://…] [--store …] [--concurrency N]`: takes runs from
 * the queue and drives them until SIGTERM or SIGINT, then hands back what it was running and exits 0.
 * `--metrics-port N` serves Prometheus metrics on 127.0.0.1 (`--metrics-host` to bind elsewhere).
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { openStore } from '../../checkpoint/open-store.js';
import { EXIT, OrchestratorError } from '../../exit-codes.js';
import { type MetricsServer, serveMetrics } from '../../queue/metrics-server.js';
import { Worker } from '../../queue/worker.js';
import { WorkerMetrics } from '../../queue/worker-metrics.js';
import { keepMemorySmall } from '../long-run-memory.js';
import { startTracing, tracesRequested } from '../trace-export.js';
import { STORE_HELP, queueOption, queueSetup, wholeNumber } from './shared-store.js';

interface WorkerFlags {
  queue?: string;
  store?: string;
  concurrency: number;
  lockMs: number;
  stalledIntervalMs: number;
  maxStalled: number;
  rateLimit?: { max: number; durationMs: number };
  workDir: string;
  timeoutMs?: number;
  killGraceMs?: number;
  metricsPort?: number;
  metricsHost: string;
}

function rateLimit(value: string): { max: number; durationMs: number } {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw new InvalidArgumentError('--rate-limit takes RUNS/MS, e.g. 10/1000 for at most 10 runs started a second');
  return { max: Number(match[1]), durationMs: Number(match[2]) };
}

export async function workerCommand(argv: string[]): Promise<number> {
  const flags = new Command('worker')
    .description('take queued runs from the BullMQ queue in Redis and run them, renewing each run\'s lock and store lease, until stopped')
    .addOption(queueOption())
    .option('--store <address>', STORE_HELP)
    .addOption(new Option('--concurrency <n>', 'runs at once').default(1).argParser(wholeNumber('--concurrency', 1, 256)))
    .addOption(new Option('--lock-ms <ms>', "each run's lock (and store lease), renewed while it runs").default(15_000).argParser(wholeNumber('--lock-ms', 300, 3_600_000)))
    .addOption(
      new Option('--stalled-interval-ms <ms>', "how often to look for runs whose worker died (takeover within lock + this)").default(15_000).argParser(wholeNumber('--stalled-interval-ms', 100, 3_600_000)),
    )
    .addOption(new Option('--max-stalled <n>', 'takeovers of one run before it is failed').default(5).argParser(wholeNumber('--max-stalled', 0, 1_000)))
    .addOption(new Option('--rate-limit <runs/ms>', 'queue-wide: at most RUNS started per MS, over all workers').argParser(rateLimit))
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
  const setup = queueSetup(flags, 'worker');
  const store = openStore(setup.store, { maxConnections: flags.concurrency + 2 });
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
  // The OpenTelemetry SDK loads only when an OTLP endpoint is set (docs/traces.md).
  const tracing = tracesRequested(process.env) ? await startTracing(process.env, (message) => log(`warning: ${message}`)) : null;
  const worker = new Worker(setup.queue, store, {
    concurrency: flags.concurrency,
    lockMs: flags.lockMs,
    stalledIntervalMs: flags.stalledIntervalMs,
    maxStalled: flags.maxStalled,
    rateLimit: flags.rateLimit,
    workDir: resolve(flags.workDir),
    timeoutMs: flags.timeoutMs,
    killGraceMs: flags.killGraceMs,
    log,
    metrics,
    tracer: tracing?.tracer ?? null,
  });
  const onSignal = (signal: NodeJS.Signals) => void worker.close(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.work();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await server?.close();
    await store.close();
    await tracing?.shutdown();
  }
  return EXIT.done;
}

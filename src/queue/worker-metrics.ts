/**
 * A worker's Prometheus metrics, in the text exposition format (version 0.0.4): runs by terminal
 * state, step durations (a histogram by stage and status), retries, lease takeovers and losses.
 * Counted by this worker process since it started; Prometheus sums over workers.
 */
import type { StageExecution } from '../report/schema.js';

const PREFIX = 'autonomy_orchestrator';
/** Seconds: from a trivial step to a long agent run. */
export const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export class WorkerMetrics {
  private readonly runs = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly retries = new Map<string, number>();
  private takeovers = 0;
  private leasesLost = 0;
  private handedBack = 0;
  private inProgress = 0;

  claimed(takeover: boolean): void {
    this.inProgress += 1;
    if (takeover) this.takeovers += 1;
  }

  /** A run this worker drove stopped: `state` is its terminal state, or null when it was handed back or lost. */
  stopped(state: string | null, how: 'ended' | 'handed_back' | 'lease_lost', executions: StageExecution[]): void {
    this.inProgress -= 1;
    if (how === 'ended' && state !== null) this.runs.set(state, (this.runs.get(state) ?? 0) + 1);
    if (how === 'handed_back') this.handedBack += 1;
    if (how === 'lease_lost') this.leasesLost += 1;
    for (const record of executions) this.observe(record);
  }

  private observe(record: StageExecution): void {
    if (record.status === 'skipped') return;
    const key = labels({ stage: record.stage, status: record.status });
    const histogram = this.durations.get(key) ?? { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
    const seconds = record.duration_ms / 1000;
    DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) histogram.buckets[i]! += 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
    this.durations.set(key, histogram);
    if (record.attempt > 1) {
      const stage = labels({ stage: record.stage });
      this.retries.set(stage, (this.retries.get(stage) ?? 0) + 1);
    }
  }

  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${PREFIX}_${name} ${help}`, `# TYPE ${PREFIX}_${name} ${type}`);
    family('runs_total', 'counter', 'Runs this worker drove to a terminal state, by state.');
    for (const state of ['done', 'failed', 'blocked', 'timeout']) out.push(`${PREFIX}_runs_total${labels({ state })} ${this.runs.get(state) ?? 0}`);
    family('runs_in_progress', 'gauge', 'Runs this worker is driving now.');
    out.push(`${PREFIX}_runs_in_progress ${this.inProgress}`);
    family('runs_handed_back_total', 'counter', 'Runs handed back to the queue when the worker stopped.');
    out.push(`${PREFIX}_runs_handed_back_total ${this.handedBack}`);
    family('lease_takeovers_total', 'counter', 'Runs this worker started again from their checkpoint: taken over after their worker died (lock expired), or retried.');
    out.push(`${PREFIX}_lease_takeovers_total ${this.takeovers}`);
    family('leases_lost_total', 'counter', 'Runs this worker stopped because its lease was lost.');
    out.push(`${PREFIX}_leases_lost_total ${this.leasesLost}`);
    family('step_retries_total', 'counter', 'Step attempts after the first, by stage.');
    for (const [key, n] of this.retries) out.push(`${PREFIX}_step_retries_total${key} ${n}`);
    family('step_duration_seconds', 'histogram', 'Duration of each step attempt, by stage and status.');
    for (const [key, h] of this.durations) {
      const inner = key.slice(1, -1);
      DURATION_BUCKETS.forEach((le, i) => out.push(`${PREFIX}_step_duration_seconds_bucket{${inner},le="${le}"} ${h.buckets[i]}`));
      out.push(`${PREFIX}_step_duration_seconds_bucket{${inner},le="+Inf"} ${h.count}`);
      out.push(`${PREFIX}_step_duration_seconds_sum${key} ${h.sum}`);
      out.push(`${PREFIX}_step_duration_seconds_count${key} ${h.count}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function labels(values: Record<string, string>): string {
  const escape = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
  return `{${Object.entries(values)
    .map(([name, value]) => `${name}="${escape(value)}"`)
    .join(',')}}`;
}

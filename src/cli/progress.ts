/**
 * Run progress in the terminal, from the run event stream: a live list of stages redrawn in
 * place on a TTY, one plain stable line per transition elsewhere, or JSON Lines with --json.
 */
import { STAGES, type Stage } from '../../machines/stages.js';
import type { RunEvent } from '../inspect/run-events.js';

export interface ProgressView {
  onEvent(event: RunEvent): void;
  /** The run is over: draw the last state and release the terminal. */
  close(): void;
}

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export function progressViewFor(options: { json: boolean; stdout: Output; stderr: Output }): ProgressView {
  if (options.json) return new JsonLinesView(options.stdout);
  if (options.stderr.isTTY) return new LiveStageList(options.stderr);
  return new PlainLines(options.stderr);
}

export class JsonLinesView implements ProgressView {
  constructor(private readonly out: Output) {}
  onEvent(event: RunEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
  close(): void {}
}

/** Stable text: no times or durations, so logs of two runs compare line by line. */
export class PlainLines implements ProgressView {
  private outcome = new Map<Stage, string>();
  constructor(private readonly out: Output) {}

  onEvent(event: RunEvent): void {
    if (event.type === 'stage_finished') this.outcome.set(event.stage, event.status);
    if (event.type === 'transition') this.out.write(`${this.from(event.from_stage)}-> ${event.to_stage}\n`);
    if (event.type === 'terminal') this.out.write(`${this.from(this.last)}=> ${event.terminal_state}\n`);
    if (event.type === 'thermostat') this.out.write(`thermostat: concurrency ${event.decision.from} -> ${event.decision.to} (${event.decision.reason})\n`);
    if (event.type === 'transition') this.last = event.to_stage;
  }

  close(): void {}

  private last: Stage | null = null;

  private from(stage: Stage | null): string {
    if (stage === null) return 'run ';
    // No outcome: the stage did not end, the run left it (its wall-clock budget ran out).
    return `${stage} (${this.outcome.get(stage) ?? 'cut short'}) `;
  }
}

type StageState = { state: 'waiting' } | { state: 'running'; sinceMs: number } | { state: 'finished'; status: string; durationMs: number };

/** The five stages with their state, redrawn in place while the run goes. */
export class LiveStageList implements ProgressView {
  private readonly stages = new Map<Stage, StageState>(STAGES.map((s) => [s, { state: 'waiting' }]));
  private terminal: string | null = null;
  private drawnLines = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly out: Output,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
  }

  onEvent(event: RunEvent): void {
    if (event.type === 'transition') this.stages.set(event.to_stage, { state: 'running', sinceMs: event.timestamp_unix_ms });
    if (event.type === 'stage_finished') {
      const current = this.stages.get(event.stage);
      const since = current?.state === 'running' ? current.sinceMs : event.timestamp_unix_ms;
      this.stages.set(event.stage, { state: 'finished', status: event.status, durationMs: event.timestamp_unix_ms - since });
    }
    if (event.type === 'terminal') this.terminal = event.terminal_state;
    this.draw();
  }

  close(): void {
    clearInterval(this.timer);
    this.draw();
  }

  /** The lines as they stand; exported for tests. */
  lines(): string[] {
    const width = Math.max(...STAGES.map((s) => s.length));
    const rows = STAGES.map((stage) => `  ${this.describe(stage, width)}`);
    if (this.terminal) rows.push(`  run ended: ${this.terminal}`);
    return rows;
  }

  private describe(stage: Stage, width: number): string {
    const s = this.stages.get(stage) ?? { state: 'waiting' };
    const name = stage.padEnd(width);
    if (s.state === 'waiting') return `○ ${name}  ${this.terminal ? 'not run' : 'waiting'}`;
    if (s.state === 'running') {
      const elapsed = `${((this.now() - s.sinceMs) / 1000).toFixed(1)}s`;
      return this.terminal ? `✗ ${name}  stopped after ${elapsed}` : `● ${name}  running ${elapsed}`;
    }
    const seconds = `${(s.durationMs / 1000).toFixed(1)}s`;
    if (s.status === 'success') return `✔ ${name}  done ${seconds}`;
    if (s.status === 'skipped') return `↷ ${name}  skipped`;
    return `✗ ${name}  failed (${s.status}) ${seconds}`;
  }

  private draw(): void {
    const lines = this.lines();
    // Move up over the previous frame, then rewrite each line and clear what is left of it.
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
    this.out.write(`${up}${lines.map((line) => `\x1b[2K${line}`).join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}

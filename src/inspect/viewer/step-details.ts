/**
 * A step's details: every attempt (status, exit code, signal, duration, start, missing and
 * malformed artifacts, env keys — never values, the report holds none) and its whole log, paged:
 * the last page first, earlier pages on demand, and new bytes followed while the step runs. Pages
 * come from the server's `/api/step-log/<stage>/<step>/<attempt>/<stream>` by byte range.
 */
import type { StepState } from './steps-view.js';

export interface StepRecord {
  stage: string;
  step: string;
  attempt: number;
  status: string;
  exit_code: number | null;
  signal?: string | null;
  duration_ms: number;
  started_at_unix_ms: number;
  error: string | null;
  env_keys?: string[];
  missing_artifacts?: string[];
  malformed_artifacts?: string[];
  interrupted: boolean;
}

/** Bytes asked for per page. */
const PAGE = 64 * 1024;
const FOLLOW_MS = 1000;

interface LogView {
  attempt: number;
  stream: 'stdout' | 'stderr';
  /** Offsets of the first byte shown and of the byte after the last. */
  start: number;
  end: number;
  size: number;
  chunks: string[];
  gone: boolean;
}

export class StepDetails {
  stage: string | null = null;
  step: string | null = null;
  private log: LogView | null = null;
  private follow: ReturnType<typeof setInterval> | null = null;
  private state: StepState = 'waiting';
  /** The attempts shown, for the log's buttons. */
  private attempts: number[] = [];

  constructor(
    private readonly box: HTMLElement,
    private readonly url: (path: string, query: Record<string, string>) => string,
    private readonly clock: (ms: number) => string,
  ) {
    box.querySelector('#step-close')!.addEventListener('click', () => this.select(null, null));
  }

  select(stage: string | null, step: string | null): void {
    this.stage = stage;
    this.step = step;
    this.log = null;
    this.stopFollowing();
    this.box.hidden = stage === null;
    if (stage !== null) this.box.scrollIntoView?.({ block: 'nearest' });
  }

  /** Redraws the attempts; opens the latest attempt's log if none is open. */
  render(records: readonly StepRecord[], state: StepState | undefined): void {
    if (this.stage === null || this.step === null) return;
    this.state = state ?? 'waiting';
    const mine = records.filter((r) => r.stage === this.stage && r.step === this.step).sort((a, b) => a.attempt - b.attempt);
    const running = this.state === 'running' || this.state === 'retrying' ? (mine.at(-1)?.attempt ?? 0) + 1 : null;
    this.box.dataset.stage = this.stage;
    this.box.dataset.step = this.step;
    this.box.dataset.state = this.state;
    this.box.querySelector('#step-title')!.textContent = `${this.stage} / ${this.step} · ${this.state}`;
    const rows = mine.map((r) => attemptRow(r, this.clock));
    if (running !== null) {
      const row = document.createElement('li');
      row.dataset.attempt = String(running);
      row.textContent = `#${running} ${this.state}`;
      rows.push(row);
    }
    if (rows.length === 0) rows.push(Object.assign(document.createElement('li'), { textContent: 'not started' }));
    this.box.querySelector('#step-attempts')!.replaceChildren(...rows);
    const attempts = [...mine.map((r) => r.attempt), ...(running !== null ? [running] : [])];
    this.attempts = attempts;
    this.renderLogBar();
    if (this.log === null && attempts.length > 0) void this.open(attempts.at(-1)!, 'stdout');
    if (this.log && running === this.log.attempt && this.follow === null) this.startFollowing();
  }

  private renderLogBar(): void {
    const bar = this.box.querySelector('#step-log-bar')!;
    const buttons: HTMLElement[] = [];
    for (const attempt of this.attempts) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = `#${attempt} ${stream}`;
        button.dataset.attempt = String(attempt);
        button.dataset.stream = stream;
        if (this.log?.attempt === attempt && this.log.stream === stream) button.className = 'current';
        button.addEventListener('click', () => void this.open(attempt, stream));
        buttons.push(button);
      }
    }
    const earlier = document.createElement('button');
    earlier.type = 'button';
    earlier.id = 'step-log-earlier';
    earlier.textContent = 'earlier';
    earlier.disabled = !this.log || this.log.start === 0;
    earlier.addEventListener('click', () => void this.earlier());
    const where = document.createElement('span');
    where.id = 'step-log-where';
    where.textContent = this.log ? (this.log.gone ? 'no log' : `bytes ${this.log.start}–${this.log.end} of ${this.log.size}${this.follow ? ' · following' : ''}`) : '';
    bar.replaceChildren(...buttons, earlier, where);
  }

  /** The last page of an attempt's stream. */
  private async open(attempt: number, stream: 'stdout' | 'stderr'): Promise<void> {
    this.stopFollowing();
    const view: LogView = { attempt, stream, start: 0, end: 0, size: 0, chunks: [], gone: false };
    this.log = view;
    const page = await this.fetchPage(view, -PAGE, PAGE);
    if (this.log !== view) return;
    if (page === null) view.gone = true;
    else Object.assign(view, { start: page.offset, end: page.offset + page.bytes, size: page.size, chunks: [page.text] });
    this.showLog(true);
    if (this.state === 'running' || this.state === 'retrying') this.startFollowing();
  }

  private async earlier(): Promise<void> {
    const view = this.log;
    if (!view || view.start === 0) return;
    const from = Math.max(0, view.start - PAGE);
    const page = await this.fetchPage(view, from, view.start - from);
    if (this.log !== view || page === null) return;
    view.chunks.unshift(page.text);
    view.start = page.offset;
    this.showLog(false);
  }

  /** New bytes past the end while the step runs; stops once it ended and nothing more came. */
  private startFollowing(): void {
    if (this.follow !== null) return;
    this.follow = setInterval(() => void this.more(), FOLLOW_MS);
  }

  private stopFollowing(): void {
    if (this.follow !== null) clearInterval(this.follow);
    this.follow = null;
  }

  private async more(): Promise<void> {
    const view = this.log;
    if (!view) return this.stopFollowing();
    const page = await this.fetchPage(view, view.end, PAGE);
    if (this.log !== view) return;
    if (page === null) {
      if (this.state !== 'running' && this.state !== 'retrying') this.stopFollowing();
      return;
    }
    view.gone = false;
    if (page.bytes > 0) {
      view.chunks.push(page.text);
      view.end = page.offset + page.bytes;
    }
    view.size = page.size;
    if (page.bytes === 0 && this.state !== 'running' && this.state !== 'retrying') this.stopFollowing();
    this.showLog(page.bytes > 0);
  }

  private async fetchPage(view: LogView, offset: number, length: number): Promise<{ offset: number; size: number; bytes: number; text: string } | null> {
    try {
      const response = await fetch(this.url(`/api/step-log/${this.stage}/${this.step}/${view.attempt}/${view.stream}`, { offset: String(offset), length: String(length) }));
      if (!response.ok) return null;
      const bytes = await response.arrayBuffer();
      return {
        offset: Number(response.headers.get('X-Log-Offset')),
        size: Number(response.headers.get('X-Log-Size')),
        bytes: bytes.byteLength,
        text: new TextDecoder().decode(bytes),
      };
    } catch {
      return null; // the server stopped with the run
    }
  }

  private showLog(toEnd: boolean): void {
    const pre = this.box.querySelector<HTMLElement>('#step-log')!;
    const view = this.log;
    const stuck = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = view ? (view.gone ? '' : view.chunks.join('')) : '';
    if (view) pre.dataset.stream = view.stream;
    if (toEnd && stuck) pre.scrollTop = pre.scrollHeight;
    this.renderLogBar();
  }
}

function attemptRow(r: StepRecord, clock: (ms: number) => string): HTMLElement {
  const row = document.createElement('li');
  row.dataset.attempt = String(r.attempt);
  row.dataset.status = r.status;
  const status = r.interrupted && r.status !== 'success' ? 'cancelled' : r.status;
  const parts = [
    `#${r.attempt} ${status}`,
    `exit ${r.exit_code ?? '-'}`,
    ...(r.signal ? [`signal ${r.signal}`] : []),
    `${(r.duration_ms / 1000).toFixed(2)} s`,
    `from ${clock(r.started_at_unix_ms)}`,
  ];
  row.textContent = parts.join(' · ');
  const extra: string[] = [];
  if (r.error) extra.push(`error: ${r.error}`);
  if (r.missing_artifacts?.length) extra.push(`missing: ${r.missing_artifacts.join(', ')}`);
  if (r.malformed_artifacts?.length) extra.push(`malformed: ${r.malformed_artifacts.join(', ')}`);
  if (r.env_keys?.length) extra.push(`env keys: ${r.env_keys.join(', ')}`);
  for (const line of extra) {
    const detail = document.createElement('div');
    detail.className = 'detail';
    detail.textContent = line;
    row.append(detail);
  }
  return row;
}

/**
 * The timeline: one bar per execution, placed by the report's own start time and duration, on a
 * shared axis from the run's first start to its last end (or now, while a step runs). Replaying, a
 * line marks the time of the transition shown.
 */
import { type ExecutionLike, stateOfExecution } from './steps-view.js';

export interface TimedExecution extends ExecutionLike {
  started_at_unix_ms: number;
  duration_ms: number;
}

export function renderGantt(box: HTMLElement, executions: readonly TimedExecution[], indices: readonly number[], cursorMs: number | null, nowMs: number | null): void {
  if (indices.length === 0) {
    box.replaceChildren();
    return;
  }
  let start = Infinity;
  let end = -Infinity;
  for (const i of indices) {
    const e = executions[i]!;
    start = Math.min(start, e.started_at_unix_ms);
    end = Math.max(end, e.started_at_unix_ms + e.duration_ms);
  }
  if (nowMs !== null) end = Math.max(end, nowMs);
  const span = Math.max(1, end - start);
  const pct = (ms: number) => `${(((ms - start) / span) * 100).toFixed(2)}%`;
  const rows = indices.map((i) => {
    const e = executions[i]!;
    const row = document.createElement('div');
    row.className = 'gantt-row';
    row.dataset.index = String(i);
    const label = document.createElement('span');
    label.className = 'gantt-label';
    label.textContent = `${e.step && e.step !== e.stage ? e.step : e.stage} #${e.attempt}`;
    const track = document.createElement('span');
    track.className = 'gantt-track';
    const bar = document.createElement('span');
    bar.className = `gantt-bar ${stateOfExecution(e)}`;
    bar.style.left = pct(e.started_at_unix_ms);
    bar.style.width = `max(2px, ${((e.duration_ms / span) * 100).toFixed(2)}%)`;
    bar.title = `${e.stage} / ${e.step} attempt ${e.attempt}: ${e.status}, ${(e.duration_ms / 1000).toFixed(2)} s`;
    track.append(bar);
    row.append(label, track);
    return row;
  });
  const axis = document.createElement('div');
  axis.className = 'gantt-axis';
  axis.textContent = `0 s … ${(span / 1000).toFixed(2)} s`;
  if (cursorMs !== null && cursorMs >= start && cursorMs <= end) {
    const cursor = document.createElement('span');
    cursor.className = 'gantt-cursor';
    cursor.style.left = pct(cursorMs);
    axis.append(cursor);
  }
  box.replaceChildren(axis, ...rows);
}

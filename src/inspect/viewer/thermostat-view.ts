/**
 * The ROI thermostat as the viewer shows it: where it stands (state, concurrency, the window's net
 * ROI, spent and value), a chart of concurrency and ROI over the run's time, and every decision
 * (time, ROI, old → new concurrency, why). Read from the report's `thermostat` and, live, from the
 * stage work's snapshots, which carry the thermostat and its last decision as soon as it is made.
 */

export interface Decision {
  seq: number;
  at_unix_ms: number;
  roi: number | null;
  from: number;
  to: number;
  state: string;
  reason: string;
  why: string;
}

export interface ThermostatShape {
  settings: { window: number; target: number; floor: number; minConcurrency: number; maxConcurrency: number; cooldownSteps: number };
  state: string;
  concurrency: number;
  roi: number | null;
  spent: number;
  value: number;
  decisions: Decision[];
}

/** What a stage work's snapshot carries: the machine's state name and context. */
export interface LiveThermostat {
  state: string;
  context: {
    settings: ThermostatShape['settings'];
    concurrency: number;
    roi: number | null;
    totals: { cost: number; value: number };
    lastDecision: Decision | null;
  };
}

/** Gathers the decisions the live stream brings before the report has them (by their `seq`). */
export class DecisionLog {
  private readonly bySeq = new Map<number, Decision>();
  latest: LiveThermostat | null = null;

  /** Returns true when the snapshot brought something new. */
  note(thermostat: LiveThermostat): boolean {
    const before = this.latest;
    this.latest = thermostat;
    const decision = thermostat.context.lastDecision;
    const fresh = decision !== null && !this.bySeq.has(decision.seq);
    if (fresh) this.bySeq.set(decision.seq, decision);
    return fresh || before?.context.concurrency !== thermostat.context.concurrency || before?.context.roi !== thermostat.context.roi;
  }

  /**
   * The report's thermostat with the decisions the stream brought since it was written; while the
   * run goes (`running`) the stream's standing is the newer one, after it the report's is final.
   */
  merged(fromReport: ThermostatShape | null | undefined, running: boolean): ThermostatShape | null {
    const live = this.latest;
    if (!fromReport && !live) return null;
    const bySeq = new Map<number, Decision>(this.bySeq);
    for (const decision of fromReport?.decisions ?? []) bySeq.set(decision.seq, decision);
    const decisions = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    if (fromReport && !(running && live)) return { ...fromReport, decisions };
    const { context } = live!;
    return {
      settings: context.settings,
      state: live!.state,
      concurrency: context.concurrency,
      roi: context.roi,
      spent: context.totals.cost,
      value: context.totals.value,
      decisions,
    };
  }
}

/** `4 → 3`, the ROI with three decimals (or `none`). */
export function roiText(roi: number | null): string {
  return roi === null ? 'none' : roi.toFixed(3);
}

/** One line: where the thermostat stands. */
export function standingLine(t: ThermostatShape): string {
  const s = t.settings;
  return [
    t.state,
    `concurrency ${t.concurrency} (${s.minConcurrency}–${s.maxConcurrency})`,
    `ROI ${roiText(t.roi)} (target ${s.target}, floor ${s.floor})`,
    `spent ${round(t.spent)}`,
    `value ${round(t.value)}`,
  ].join(' · ');
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/**
 * The concurrency over time, as steps: where it started (the first decision's `from`, else where it
 * stands), then each decision's `to` from its time on. Points are [ms, concurrency].
 */
export function concurrencySteps(t: ThermostatShape, startMs: number, endMs: number): [number, number][] {
  const first = t.decisions[0];
  const points: [number, number][] = [[startMs, first ? first.from : t.concurrency]];
  for (const d of t.decisions) {
    points.push([d.at_unix_ms, points.at(-1)![1]], [d.at_unix_ms, d.to]);
  }
  points.push([Math.max(endMs, points.at(-1)![0]), points.at(-1)![1]]);
  return points;
}

/** The ROI the floor would have to drop to for `--resume` to leave the halt: the ROI, rounded down. */
export function floorToResume(roi: number | null, floor: number): number {
  if (roi === null) return floor;
  return Math.min(floor, Math.floor(roi * 10) / 10);
}

const SVG = 'http://www.w3.org/2000/svg';
const W = 380;
const H = 170;
const LEFT = 64;
const RIGHT = 8;
/** The concurrency is drawn between these heights, the ROI between the next two. */
const TOP_C = 22;
const BOTTOM_C = 76;
const TOP_R = 104;
const BOTTOM_R = 162;

/**
 * Draws the chart: concurrency as a step line (top), each decision's ROI as a dot against the target
 * and the floor (bottom); `cursorMs` (replaying) marks the time shown and dims what came after it.
 */
export function renderThermostatChart(svg: SVGSVGElement, t: ThermostatShape, startMs: number, endMs: number, cursorMs: number | null): void {
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const span = Math.max(1, endMs - startMs);
  const x = (ms: number) => LEFT + ((Math.min(Math.max(ms, startMs), endMs) - startMs) / span) * (W - LEFT - RIGHT);
  const max = Math.max(t.settings.maxConcurrency, 1);
  const yc = (c: number) => BOTTOM_C - (c / max) * (BOTTOM_C - TOP_C);
  const rois = t.decisions.map((d) => d.roi).filter((r): r is number => r !== null);
  const lo = Math.min(t.settings.floor, ...rois, 0) - 0.1;
  const hi = Math.max(t.settings.target, ...rois, 0) + 0.1;
  const yr = (r: number) => BOTTOM_R - ((r - lo) / (hi - lo)) * (BOTTOM_R - TOP_R);
  const children: SVGElement[] = [];
  children.push(text(4, 12, 'concurrency (steps at once)', 'axis-title'), text(4, TOP_R - 12, 'net ROI of the window at each decision', 'axis-title'));
  for (let c = 0; c <= max; c++) if (c === 0 || c === max || max <= 4) children.push(text(LEFT - 4, yc(c) + 4, String(c), 'tick', 'end'));
  const steps = concurrencySteps(t, startMs, endMs);
  children.push(el('path', { class: 'concurrency', d: steps.map(([ms, c], i) => `${i === 0 ? 'M' : 'L'}${x(ms).toFixed(1)},${yc(c).toFixed(1)}`).join(' ') }));
  for (const [name, value] of [['target', t.settings.target], ['floor', t.settings.floor]] as const) {
    children.push(el('line', { class: `level ${name}`, x1: LEFT, x2: W - RIGHT, y1: yr(value), y2: yr(value) }));
    children.push(text(LEFT - 4, yr(value) + 4, `${name} ${value}`, `tick ${name}`, 'end'));
  }
  for (const d of t.decisions) {
    if (d.roi === null) continue;
    const dot = el('circle', { class: `roi ${d.reason}${cursorMs !== null && d.at_unix_ms > cursorMs ? ' future' : ''}`, cx: x(d.at_unix_ms), cy: yr(d.roi), r: 3.5, 'data-seq': d.seq });
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `#${d.seq} ROI ${roiText(d.roi)}: ${d.from} → ${d.to} (${d.reason})`;
    dot.append(title);
    children.push(dot);
  }
  if (cursorMs !== null) children.push(el('line', { class: 'cursor', x1: x(cursorMs), x2: x(cursorMs), y1: 0, y2: H }));
  svg.replaceChildren(...children);
}

/** The list of decisions: time, ROI, old → new, state, why. */
export function decisionItems(t: ThermostatShape, clock: (ms: number) => string, cursorMs: number | null): HTMLElement[] {
  return t.decisions.map((d) => {
    const item = document.createElement('li');
    item.dataset.seq = String(d.seq);
    item.dataset.reason = d.reason;
    if (cursorMs !== null && d.at_unix_ms > cursorMs) item.className = 'future';
    const time = document.createElement('span');
    time.className = 'time';
    time.textContent = clock(d.at_unix_ms);
    const change = document.createElement('span');
    change.className = 'change';
    change.textContent = `${d.from} → ${d.to}`;
    item.append(time, change, ` ROI ${roiText(d.roi)} · ${d.state} · ${d.why}`);
    return item;
  });
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function text(xPos: number, yPos: number, content: string, className: string, anchor = 'start'): SVGTextElement {
  const node = el('text', { x: xPos, y: yPos, class: className, 'text-anchor': anchor });
  node.textContent = content;
  return node;
}

/**
 * The viewer page: draws the machine, follows the run live over the relay's socket or replays
 * it from the event log, and lists transitions and stage executions beside the graph.
 */
import { GraphView } from './graph-view.js';
import { type Message, RunTimeline, type Step } from './run-timeline.js';
import { statechartOf } from './statechart.js';

interface Execution {
  stage: string;
  status: string;
  exit_code: number | null;
  duration_ms: number;
  attempt: number;
  error: string | null;
  started_at_unix_ms: number;
  stdout_log: string | null;
  stderr_log: string | null;
}

interface Report {
  run_id: string;
  status: string;
  terminal_state: string | null;
  transitions: { from_stage: string | null; to_stage: string; event: string; timestamp_unix_ms: number }[];
  stage_executions: Execution[];
}

const RUN_ENDED = '@autonomy-orchestrator.run-ended';
const mode = document.body.dataset.mode === 'replay' ? 'replay' : 'live';
const timeline = new RunTimeline();
let graph: GraphView | null = null;
let report: Report | null = null;
let shown = -1;
const tails = new Map<string, string>();

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function ensureGraph(definition: string | null): void {
  if (graph || !definition) return;
  const chart = statechartOf(definition);
  graph = new GraphView($('graph') as unknown as SVGSVGElement, chart);
  const rare = chart.edges.some((edge) => edge.secondary)
    ? ['dashed states wait for approve/--resume; their transitions, and WALL_TIMEOUT, show once taken']
    : [];
  $('legend').textContent = [...Object.entries(chart.legend).map(([short, full]) => `${short} = ${full}`), ...rare].join('   ');
}

async function machineFallback(): Promise<void> {
  if (graph) return;
  const { definition } = (await (await fetch('/api/machine')).json()) as { definition: string };
  ensureGraph(definition);
  show(shown);
}

function show(index: number): void {
  shown = index;
  const steps = timeline.steps;
  const step: Step | undefined = steps[index];
  const visited = new Set(steps.slice(0, index + 1).map((s) => s.value));
  const taken = new Set(steps.slice(1, index + 1).map((s) => `${s.from ?? steps[0]?.value}->${s.value}`));
  graph?.show(step?.value ?? null, visited, taken);
  document.body.dataset.activeState = step?.value ?? '';
  document.body.dataset.step = String(index);
  $('run-id').textContent = timeline.runId ?? report?.run_id ?? '';
  const status = step === undefined ? (mode === 'live' ? 'waiting' : 'no events') : step.final ? step.value : mode === 'live' ? 'running' : step.value;
  const badge = $('run-status');
  badge.textContent = step && !step.final && mode === 'live' ? `running: ${step.value}` : status;
  badge.className = `badge ${step?.final ? step.value : 'running'}`;
  document.body.dataset.runStatus = step?.final ? step.value : step ? 'running' : 'waiting';
  renderTransitions(steps, index);
  // Replaying, an execution is shown as done once its stage has been left; live, the report is now.
  renderExecutions(mode === 'replay' ? new Set(steps.slice(0, index).map((s) => s.value)) : null);
  if (mode === 'replay') {
    ($('step') as HTMLInputElement).value = String(index);
    $('step-label').textContent = step ? `${index + 1} / ${steps.length}: ${step.value}` : '';
  }
}

function renderTransitions(steps: Step[], index: number): void {
  const list = $('transitions');
  list.replaceChildren(
    ...steps.map((step, i) => {
      const item = document.createElement('li');
      item.className = i === index ? 'current' : i > index ? 'future' : '';
      item.dataset.to = step.value;
      const time = document.createElement('span');
      time.className = 'time';
      time.textContent = clock(step.atMs);
      item.append(time, `${step.from ?? '(start)'} → ${step.value}`);
      if (step.event) item.title = step.event;
      return item;
    }),
  );
}

/** Executions of stages not yet `left` are dimmed; null shows them all. */
function renderExecutions(left: Set<string> | null): void {
  const executions = report?.stage_executions ?? [];
  const box = $('executions');
  if (executions.length === 0) {
    box.innerHTML = '<p class="empty">none yet</p>';
    return;
  }
  box.replaceChildren(
    ...executions.map((execution, i) => {
      const card = document.createElement('div');
      card.className = `exec-card${left && !left.has(execution.stage) ? ' future' : ''}`;
      card.dataset.stage = execution.stage;
      card.dataset.status = execution.status;
      const title = document.createElement('div');
      title.className = 'title';
      title.innerHTML = `<span class="stage"></span><span class="status ${execution.status}"></span>`;
      title.children[0]!.textContent = execution.stage;
      title.children[1]!.textContent = execution.status;
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = [
        `attempt ${execution.attempt}`,
        `exit ${execution.exit_code ?? '-'}`,
        `${(execution.duration_ms / 1000).toFixed(2)} s`,
        clock(execution.started_at_unix_ms),
      ].join(' · ');
      card.append(title, meta);
      if (execution.error) {
        const error = document.createElement('div');
        error.className = 'meta error';
        error.textContent = execution.error;
        card.append(error);
      }
      for (const stream of ['stdout', 'stderr'] as const) {
        const tail = tails.get(`${i}/${stream}`);
        if (tail === undefined) {
          if (execution[`${stream}_log`]) void loadTail(i, stream);
          continue;
        }
        if (tail.trim() === '') continue;
        const pre = document.createElement('pre');
        pre.className = `log ${stream}`;
        pre.textContent = `${stream}:\n${tail}`;
        card.append(pre);
      }
      return card;
    }),
  );
}

async function loadTail(index: number, stream: 'stdout' | 'stderr'): Promise<void> {
  const key = `${index}/${stream}`;
  tails.set(key, '');
  if (ended) return;
  try {
    const response = await fetch(`/api/log/${index}/${stream}`);
    tails.set(key, response.ok ? await response.text() : '');
  } catch {
    if (tails.get(key) === '') tails.delete(key); // the server is gone; the end-of-run message brings the tails
    return;
  }
  show(shown);
}

async function refreshReport(): Promise<void> {
  if (ended) return;
  try {
    const response = await fetch('/api/report');
    if (response.ok) report = (await response.json()) as Report | null;
  } catch {
    return; // the server stopped with the run
  }
  show(shown);
}

/** The server's last word before it stops: the final report and log tails. */
let ended = false;
function onRunEnded(message: { report: Report | null; tails: Record<string, string> }): void {
  ended = true;
  report = message.report ?? report;
  for (const [key, tail] of Object.entries(message.tails)) tails.set(key, tail);
  show(shown);
  document.body.dataset.ended = 'true';
}

function clock(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function startLive(): void {
  const socket = new WebSocket(`ws://${location.host}/ws`);
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as Message;
    if (message.type === RUN_ENDED) return onRunEnded(message as unknown as Parameters<typeof onRunEnded>[0]);
    if (timeline.add(message)) {
      ensureGraph(timeline.definition);
      show(timeline.steps.length - 1);
      void refreshReport();
    } else if (!graph && timeline.definition) {
      ensureGraph(timeline.definition);
      show(shown);
    }
  };
  socket.onclose = () => {
    if (document.body.dataset.runStatus === 'running' || document.body.dataset.runStatus === 'waiting') {
      $('run-status').textContent = 'disconnected';
    }
    void refreshReport();
  };
  setTimeout(() => void machineFallback(), 1000);
  // Executions and log tails come from the report, which the run rewrites as it goes.
  const poll = setInterval(() => {
    if (ended || (report && report.status !== 'running')) clearInterval(poll);
    else void refreshReport();
  }, 1000);
}

async function startReplay(): Promise<void> {
  const [entries] = await Promise.all([
    fetch('/api/events').then((r) => r.json() as Promise<{ timestamp_unix_ms: number; message: Message }[]>),
    refreshReport(),
  ]);
  for (const entry of entries) timeline.add(entry.message, entry.timestamp_unix_ms);
  if (timeline.steps.length === 0 && report) stepsFromReport(report);
  ensureGraph(timeline.definition);
  await machineFallback();
  const slider = $('step') as HTMLInputElement;
  slider.max = String(Math.max(0, timeline.steps.length - 1));
  $('timeline').hidden = false;
  const go = (index: number) => show(Math.min(Math.max(index, 0), timeline.steps.length - 1));
  slider.addEventListener('input', () => go(Number(slider.value)));
  $('prev').addEventListener('click', () => go(shown - 1));
  $('next').addEventListener('click', () => go(shown + 1));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft') go(shown - 1);
    if (event.key === 'ArrowRight') go(shown + 1);
  });
  go(timeline.steps.length - 1);
  document.body.dataset.ready = 'true';
}

/** A run without an event log (a V0 report, say) still has its transitions. */
function stepsFromReport(r: Report): void {
  timeline.runId = r.run_id;
  for (const t of r.transitions) {
    timeline.steps.push({ from: t.from_stage, value: t.to_stage, event: t.event ?? '', atMs: t.timestamp_unix_ms, final: false });
  }
  const last = timeline.steps.at(-1);
  if (r.terminal_state) {
    timeline.steps.push({ from: last?.value ?? null, value: r.terminal_state, event: '', atMs: last?.atMs ?? 0, final: true });
  }
}

if (mode === 'live') startLive();
else void startReplay();

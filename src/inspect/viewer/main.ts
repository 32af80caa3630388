/**
 * The viewer page: draws the machine, follows the run live over the relay's socket or replays
 * it from the event log, and lists transitions and stage executions beside the graph.
 */
import { renderGantt } from './gantt.js';
import { GraphView } from './graph-view.js';
import { type Message, RunTimeline, type Step } from './run-timeline.js';
import { statechartOf } from './statechart.js';
import {
  type Failure,
  type LiveSteps,
  type PlanShape,
  failureText,
  isCancelled,
  matchesFilter,
  progressLine,
  rootCauseIndex,
  stageProgress,
  stateOfExecution,
  stepStates,
} from './steps-view.js';
import { type LoopsReport, hasLoops, isOrchestratorRecord, loopEdgeLabels, renderLoops } from './loops-view.js';
import { MAX_DAG_STEPS, renderStepDag } from './step-dag.js';
import { VirtualList } from './virtual-list.js';
import { StepDetails } from './step-details.js';
import { DecisionLog, type LiveThermostat, type ThermostatShape, decisionItems, floorToResume, renderThermostatChart, standingLine } from './thermostat-view.js';

interface Execution {
  stage: string;
  command?: string;
  signal?: string | null;
  env_keys?: string[];
  missing_artifacts?: string[];
  malformed_artifacts?: string[];
  step: string;
  interrupted: boolean;
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
  failure: Failure | null;
  blocked?: { reason: string; stage: string | null; gate: string | null } | null;
  started_at_unix_ms?: number;
  updated_at_unix_ms?: number;
  thermostat?: ThermostatShape;
  blocked_reason_codes?: string[];
  [later: string]: unknown;
}

const RUN_ENDED = '@autonomy-orchestrator.run-ended';
const mode = document.body.dataset.mode === 'replay' ? 'replay' : 'live';
const timeline = new RunTimeline();
let graph: GraphView | null = null;
let report: Report | null = null;
let shown = -1;
const tails = new Map<string, string>();

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
/** The run's token, from the URL the orchestrator printed: every data and socket request carries it. */
const token = new URLSearchParams(location.search).get('token') ?? '';
const withToken = (path: string) => `${path}?token=${encodeURIComponent(token)}`;
/** Past this many executions, the list shows the ones that did not succeed and the latest ones. */
const MAX_CARDS = 200;
/** Execution cards whose logs the user opened (by index): their logs are fetched, and kept open. */
const opened = new Set<number>();
/** The stage actors' latest word on their steps under way, from the live stream. */
const liveSteps: LiveSteps = new Map();
/** When the page first saw each step running (`stage/step`): its elapsed time counts from there. */
const runningSince = new Map<string, number>();
let plan: PlanShape = null;
let outputDir = '';
let filter = '';
/** Every execution (or every one the filter matches), whatever their number: only the rows in view are in the page. */
const allExecutions = new VirtualList<number>($('all-executions'), 18, (i) => {
  const e = report!.stage_executions[i]!;
  const row = document.createElement('div');
  row.className = `all-row ${stateOfExecution(e)}`;
  row.dataset.index = String(i);
  row.dataset.step = e.step;
  row.textContent = `${e.step && e.step !== e.stage ? `${e.stage} / ${e.step}` : e.stage} #${e.attempt} · ${isCancelled(e) ? 'cancelled' : e.status} · exit ${e.exit_code ?? '-'} · ${(e.duration_ms / 1000).toFixed(2)} s`;
  if (!isOrchestratorRecord(e)) row.addEventListener('click', () => selectStep(e.stage, e.step || e.stage));
  return row;
});
($('all-executions-box') as HTMLDetailsElement).addEventListener('toggle', () => show(shown));

/** Replaying by the run's own times: the moment shown (null: the transition the slider picks). */
let timeCursor: number | null = null;

/** At `t`: the executions that had ended, and the steps running then (with their start). */
function executionsAt(executions: Execution[], t: number): { ended: Execution[]; running: LiveSteps; since: Map<string, number> } {
  const ended: Execution[] = [];
  const running: LiveSteps = new Map();
  const since = new Map<string, number>();
  for (const e of executions) {
    if (e.started_at_unix_ms > t) continue;
    if (e.started_at_unix_ms + e.duration_ms <= t) {
      ended.push(e);
      continue;
    }
    const id = e.step || e.stage;
    running.set(e.stage, { ...running.get(e.stage), [id]: { status: 'running' } });
    since.set(`${e.stage}/${id}`, e.started_at_unix_ms);
  }
  return { ended, running, since };
}

/** The step whose details are open: its attempts and its whole log, paged. */
const details = new StepDetails($('step-details'), (path, query) => `${path}?${new URLSearchParams({ token, ...query })}`, clock);
function selectStep(stage: string, step: string): void {
  details.select(stage, step);
  show(shown);
}
/** The ROI thermostat's decisions and standing as the live stream brings them. */
const decisionLog = new DecisionLog();
/** The card the failure banner jumped to. */
let flashed = -1;

function ensureGraph(definition: string | null): void {
  if (graph || !definition) return;
  const chart = statechartOf(definition);
  graph = new GraphView($('graph') as unknown as SVGSVGElement, chart);
  const rare = chart.edges.some((edge) => edge.secondary)
    ? ['dashed states wait for approve/--resume; their transitions, WALL_TIMEOUT and INTERRUPT show once taken']
    : [];
  $('legend').textContent = [...Object.entries(chart.legend).map(([short, full]) => `${short} = ${full}`), ...rare].join('   ');
}

async function machineFallback(): Promise<void> {
  if (graph) return;
  const { definition } = (await (await fetch(withToken('/api/machine'))).json()) as { definition: string };
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
  // A run that ended in a state that waits (a halt) is reported with its terminal state.
  const atEnd = mode === 'live' ? ended : index === steps.length - 1;
  const haltedIn = step && !step.final && atEnd && report?.terminal_state ? report.terminal_state : null;
  badge.textContent = haltedIn ? `${haltedIn}: ${step!.value}` : step && !step.final && mode === 'live' ? `running: ${step.value}` : status;
  badge.className = `badge ${haltedIn ?? (step?.final ? step.value : 'running')}`;
  document.body.dataset.runStatus = step?.final ? step.value : step ? 'running' : 'waiting';
  renderTransitions(steps, index);
  renderSteps();
  renderThermostat();
  renderLoopsAndGates(index);
  renderBanner();
  // Replaying, an execution is shown as done once its stage has been left (by time: once it ended); live, the report is now.
  const left = new Set(steps.slice(0, index).map((s) => s.value));
  const t = timeCursor;
  renderExecutions(mode === 'live' ? null : t !== null ? (e) => e.started_at_unix_ms + e.duration_ms > t : (e) => !left.has(e.stage));
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
      time.textContent = clock(reportTime(step, i) ?? step.atMs);
      item.append(time, `${step.from ?? '(start)'} → ${step.value}`);
      if (step.event) item.title = step.event;
      return item;
    }),
  );
}

/** The report's own time of a transition (the stream's messages are stamped when relayed). */
function reportTime(step: Step, i: number): number | null {
  if (step.final) return null;
  const transition = report?.transitions[i];
  return transition && transition.to_stage === step.value ? transition.timestamp_unix_ms : null;
}

/** Each stage's progress, and the steps running now with their elapsed time. */
function renderSteps(): void {
  const all = report?.stage_executions ?? [];
  const at = timeCursor === null ? null : executionsAt(all, timeCursor);
  const executions = at ? at.ended : all;
  const now = at ? timeCursor! : Date.now();
  const live = at ? at.running : mode === 'live' && !ended ? liveSteps : new Map();
  const states = stepStates(executions, live, plan);
  const rows = stageProgress(executions, live, plan).map((progress) => {
    const row = document.createElement('li');
    row.dataset.stage = progress.stage;
    row.append(span('stage', progress.stage), ' ', span('progress', progressLine(progress)));
    const dag = plan?.[progress.stage] ? renderStepDag(progress.stage, plan[progress.stage]!, states.get(progress.stage) ?? new Map(), selectStep) : null;
    if (dag) row.append(dag);
    else if ((plan?.[progress.stage]?.length ?? 0) > MAX_DAG_STEPS) {
      row.append(' ', span('empty dag-note', `(${plan![progress.stage]!.length} steps: too many to draw; the filter and a step's details find one)`));
    }
    if (progress.running.length > 0) {
      const running = document.createElement('ul');
      running.className = 'running';
      for (const id of progress.running.slice(0, 20)) {
        const key = `${progress.stage}/${id}`;
        if (!at && !runningSince.has(key)) runningSince.set(key, now);
        const item = document.createElement('li');
        item.dataset.step = id;
        item.textContent = `${id} running ${((now - (at ? at.since.get(key)! : runningSince.get(key)!)) / 1000).toFixed(1)} s`;
        item.addEventListener('click', () => selectStep(progress.stage, id));
        running.append(item);
      }
      if (progress.running.length > 20) running.append(span('empty', `and ${progress.running.length - 20} more`));
      row.append(running);
    }
    return row;
  });
  $('stages').replaceChildren(...rows);
  if (details.stage !== null && details.step !== null) details.render(executions, states.get(details.stage)?.get(details.step));
  if (at) document.body.dataset.time = String(timeCursor);
}

/** Failure first: the failing stage, step, status, exit and error, with a link to its card. */
function renderBanner(): void {
  const banner = $('banner');
  const failure = report?.failure ?? null;
  const crashed = mode === 'replay' && report?.status === 'running';
  const halt = haltText();
  if (!failure && !crashed && !halt) {
    banner.hidden = true;
    return;
  }
  const parts: (string | HTMLElement)[] = [];
  if (failure) {
    const index = rootCauseIndex(report!.stage_executions, failure);
    parts.push(failureText(failure, report!.stage_executions[index]));
    if (index >= 0) {
      const jump = document.createElement('button');
      jump.type = 'button';
      jump.id = 'jump-to-failure';
      jump.textContent = 'show';
      jump.addEventListener('click', () => {
        filter = '';
        ($('filter') as HTMLInputElement).value = '';
        flashed = index;
        show(shown);
        document.querySelector<HTMLElement>(`.exec-card[data-index="${index}"]`)?.scrollIntoView({ block: 'center' });
      });
      parts.push(' ', jump);
    }
  }
  if (crashed) {
    const dir = outputDir || '<output_dir>';
    parts.push(`${failure ? ' · ' : ''}this run did not finish (killed or crashed): continue it with `, code(`autonomy-orchestrator ${dir} --resume`));
  }
  if (halt) parts.push(...halt);
  banner.replaceChildren(...parts);
  banner.className = failure ? 'failed' : crashed ? 'crashed' : 'blocked';
  banner.hidden = false;
}

/** A run halted (blocked): the thermostat's halt says why and how to go on with a lower floor. */
function haltText(): (string | HTMLElement)[] | null {
  const blocked = report?.blocked;
  if (!blocked) return null;
  const codes = report?.blocked_reason_codes?.length ? ` — ${report.blocked_reason_codes.join(', ')}` : '';
  if (blocked.reason !== 'roi_below_floor') return [`blocked in ${blocked.stage ?? 'the run'}: ${blocked.reason}${blocked.gate ? ` (${blocked.gate})` : ''}${codes}`];
  const thermostat = decisionLog.merged(report?.thermostat, false);
  const last = thermostat?.decisions.findLast((d) => d.reason === 'below_floor');
  const floor = floorToResume(thermostat?.roi ?? null, thermostat?.settings.floor ?? 0);
  const dir = outputDir || '<output_dir>';
  return [
    `halted by the ROI thermostat in ${blocked.stage ?? 'a stage'} (ROI_BELOW_FLOOR${last ? `: ${last.why.replace(/: ROI_BELOW_FLOOR$/, '')}` : ''}); continue with a lower floor: `,
    code(`ORCHESTRATOR_THERMOSTAT='{"floor": ${floor}}' autonomy-orchestrator ${dir} --resume`),
  ];
}

/**
 * Loops and gates, when the report has them: counts on the loop's edges, gate decisions, hard-gate
 * results, the orchestrator's own records and other later fields. Replaying, shown at the last step only.
 */
function renderLoopsAndGates(index: number): void {
  const box = $('loops');
  const r = report as unknown as LoopsReport | null;
  const atEnd = mode === 'live' || index === timeline.steps.length - 1;
  box.hidden = !r || !hasLoops(r);
  graph?.annotate(r && atEnd ? new Map([...loopEdgeLabels(r)].map(([key, label]) => [key, label.text])) : new Map());
  // The gate states are left in the same step they are entered (`always`): their outcome marks them.
  const gates = atEnd ? (r?.gate_decisions ?? []) : [];
  const hard = atEnd ? (r?.hard_gate_results ?? []) : [];
  graph?.markOutcome('gates', gates.length ? gates.every((g) => g.passed) : null, gates.map((g) => `${g.gate}: ${g.status}${g.reason_code ? ` (${g.reason_code})` : ''}`).join('\n'));
  graph?.markOutcome('hard_gates', hard.length ? hard.every((h) => h.passed) : null, `${hard.filter((h) => h.passed).length} of ${hard.length} passed`);
  if (!r || box.hidden) return;
  renderLoops($('loops-list'), r);
}

/** The ROI thermostat: its standing, concurrency and ROI over time, and every decision. */
function renderThermostat(): void {
  const running = mode === 'live' && !ended && report?.status !== 'finished';
  const thermostat = decisionLog.merged(report?.thermostat, running);
  const box = $('thermostat');
  box.hidden = thermostat === null;
  if (!thermostat) return;
  box.dataset.state = thermostat.state;
  box.dataset.concurrency = String(thermostat.concurrency);
  $('thermostat-standing').textContent = standingLine(thermostat);
  const times = [
    ...(report?.stage_executions.map((e) => e.started_at_unix_ms) ?? []),
    ...thermostat.decisions.map((d) => d.at_unix_ms),
    ...(report?.started_at_unix_ms ? [report.started_at_unix_ms] : []),
  ];
  const startMs = times.length ? Math.min(...times) : Date.now();
  const lastMs = Math.max(startMs + 1, ...thermostat.decisions.map((d) => d.at_unix_ms), ...(report?.stage_executions.map((e) => e.started_at_unix_ms + e.duration_ms) ?? []));
  const endMs = running ? Math.max(lastMs, Date.now()) : lastMs;
  const step = timeline.steps[shown];
  const cursor = timeCursor ?? (mode === 'replay' && step && shown < timeline.steps.length - 1 ? (reportTime(step, shown) ?? step.atMs) : null);
  renderThermostatChart($('thermostat-chart') as unknown as SVGSVGElement, thermostat, startMs, endMs, cursor);
  $('decisions').replaceChildren(...decisionItems(thermostat, clock, cursor));
}

function code(text: string): HTMLElement {
  const element = document.createElement('code');
  element.textContent = text;
  return element;
}

/** Executions `future` says had not ended yet are dimmed; null shows them all as they are. */
function renderExecutions(future: ((e: Execution) => boolean) | null): void {
  const executions = report?.stage_executions ?? [];
  const box = $('executions');
  if (executions.length === 0) {
    $('gantt').replaceChildren();
    const empty = document.createElement('p');
    empty.className = 'empty';
    empty.textContent = 'none yet';
    box.replaceChildren(empty);
    return;
  }
  const shownIndices = filter ? filteredIndices(executions) : cardIndices(executions);
  const step = timeline.steps[shown];
  const cursor = timeCursor ?? (mode === 'replay' && step ? (reportTime(step, shown) ?? step.atMs) : null);
  renderGantt($('gantt'), executions, shownIndices, cursor, mode === 'live' && !ended && report?.status === 'running' ? Date.now() : null);
  const cards = shownIndices.map((i) => executionCard(executions[i]!, i, future));
  if (shownIndices.length < executions.length) {
    const note = document.createElement('p');
    note.className = 'empty more';
    note.textContent = filter
      ? `${shownIndices.length} of the matching executions shown`
      : `${executions.length - shownIndices.length} more executions that succeeded are in the report`;
    cards.push(note);
  }
  box.replaceChildren(...cards);
  renderAllExecutions(executions);
}

function renderAllExecutions(executions: Execution[]): void {
  const indices: number[] = [];
  for (let i = 0; i < executions.length; i++) if (!filter || matchesFilter(executions[i]!, filter)) indices.push(i);
  $('all-executions-summary').textContent = `every execution${filter ? ' matching' : ''} (${indices.length})`;
  if (($('all-executions-box') as HTMLDetailsElement).open) allExecutions.set(indices);
}

function filteredIndices(executions: Execution[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < executions.length && out.length < MAX_CARDS; i++) if (matchesFilter(executions[i]!, filter)) out.push(i);
  return out;
}

/** Every execution while they are few; else those that did not succeed, then the latest. */
function cardIndices(executions: Execution[]): number[] {
  if (executions.length <= MAX_CARDS) return executions.map((_e, i) => i);
  const picked = new Set<number>();
  executions.forEach((e, i) => {
    if (e.status !== 'success' && e.status !== 'skipped' && picked.size < MAX_CARDS / 2) picked.add(i);
  });
  for (let i = executions.length - 1; i >= 0 && picked.size < MAX_CARDS; i--) picked.add(i);
  return [...picked].sort((a, b) => a - b);
}

function executionCard(execution: Execution, i: number, future: ((e: Execution) => boolean) | null): HTMLElement {
  const card = document.createElement('div');
  card.className = `exec-card${future?.(execution) ? ' future' : ''}`;
  card.dataset.stage = execution.stage;
  card.dataset.status = execution.status;
  card.dataset.step = execution.step;
  card.dataset.state = stateOfExecution(execution);
  card.dataset.index = String(i);
  if (i === rootCauseIndex(report?.stage_executions ?? [], report?.failure ?? null)) card.classList.add('root-cause');
  if (i === flashed) card.classList.add('flash');
  const title = document.createElement('div');
  title.className = 'title';
  const label = isCancelled(execution) ? 'cancelled' : execution.status;
  // A record the orchestrator wrote itself (a loop's budget spent or adapted) is named by its command.
  const name = isOrchestratorRecord(execution) && execution.command ? `${execution.stage} · ${execution.command}` : execution.step && execution.step !== execution.stage ? `${execution.stage} / ${execution.step}` : execution.stage;
  if (isOrchestratorRecord(execution)) card.dataset.record = 'true';
  const named = span('stage', name);
  if (!isOrchestratorRecord(execution)) {
    named.classList.add('link');
    named.title = 'details and whole log';
    named.addEventListener('click', () => selectStep(execution.stage, execution.step || execution.stage));
  }
  title.append(named);
  title.append(span(`status ${isCancelled(execution) ? 'cancelled' : execution.status}`, label));
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
  if (execution.stdout_log || execution.stderr_log) card.append(logsOf(execution, i));
  return card;
}

/** The card's logs, fetched when opened; a failed execution's are open from the start. */
function logsOf(execution: Execution, i: number): HTMLElement {
  const details = document.createElement('details');
  details.className = 'logs';
  const failed = execution.status !== 'success' && execution.status !== 'skipped' && !isCancelled(execution);
  details.open = opened.has(i) || (failed && !opened.has(-1 - i));
  const summary = document.createElement('summary');
  summary.textContent = 'logs';
  details.append(summary);
  const openedAtFirst = details.open;
  details.addEventListener('toggle', () => {
    // A details element made open fires a toggle too: only a change by the user counts.
    if (details.open === openedAtFirst) return;
    if (details.open) {
      opened.add(i);
      opened.delete(-1 - i);
      show(shown);
    } else {
      opened.delete(i);
      opened.add(-1 - i); // closed by the user: stays closed
    }
  });
  if (!details.open) return details;
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
    details.append(pre);
  }
  return details;
}

function span(className: string, text: string): HTMLSpanElement {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

async function loadTail(index: number, stream: 'stdout' | 'stderr'): Promise<void> {
  const key = `${index}/${stream}`;
  tails.set(key, '');
  if (ended) return;
  try {
    const response = await fetch(withToken(`/api/log/${index}/${stream}`));
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
    const response = await fetch(withToken('/api/report'));
    const fetched = response.ok ? ((await response.json()) as Report | null) : null;
    // A poll answered before the run ended must not replace the final report the end brought.
    if (ended) return;
    if (fetched) report = fetched;
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

/** A stage actor's snapshot: which of its steps run now. Re-renders at most once a frame. */
function noteStageSteps(message: Message): boolean {
  const snapshot = message.snapshot as
    | { input?: { stage?: string }; scheduler?: { active?: Record<string, { status: string }> }; thermostat?: LiveThermostat }
    | undefined;
  const stage = snapshot?.input?.stage;
  if (message.rootId === message.sessionId || !stage || !snapshot?.scheduler) return false;
  if (snapshot.thermostat && decisionLog.note(snapshot.thermostat)) thermostatChanged = true;
  liveSteps.set(stage, snapshot.scheduler.active ?? {});
  for (const key of runningSince.keys()) {
    const [keyStage, id] = key.split('/') as [string, string];
    if (keyStage === stage && snapshot.scheduler.active?.[id]?.status !== 'running') runningSince.delete(key);
  }
  if (!frameQueued) {
    frameQueued = true;
    // At most four times a second: a run of quick steps sends a snapshot every few milliseconds, and
    // a page redrawing at every frame takes a core the run's own steps would use.
    setTimeout(() => requestAnimationFrame(() => {
      frameQueued = false;
      renderSteps();
      if (thermostatChanged) {
        thermostatChanged = false;
        renderThermostat();
      }
    }), STEPS_REDRAW_MS);
  }
  return true;
}
const STEPS_REDRAW_MS = 250;
let frameQueued = false;
let thermostatChanged = false;

/** What the server knows of the run besides its report: its output dir and plan. */
async function loadRunInfo(): Promise<void> {
  try {
    const info = (await (await fetch(withToken('/api/run'))).json()) as { outputDir: string; plan: PlanShape };
    outputDir = info.outputDir;
    plan = info.plan;
  } catch {
    // the server stopped with the run
  }
}

function setUpFilter(): void {
  const input = $('filter') as HTMLInputElement;
  input.addEventListener('input', () => {
    filter = input.value;
    show(shown);
  });
}

function startLive(): void {
  void loadRunInfo();
  setUpFilter();
  const socket = new WebSocket(`ws://${location.host}${withToken('/ws')}`);
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as Message;
    if (message.type === RUN_ENDED) return onRunEnded(message as unknown as Parameters<typeof onRunEnded>[0]);
    if (noteStageSteps(message)) return;
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
  setUpFilter();
  const [, entries] = await Promise.all([
    loadRunInfo(),
    fetch(withToken('/api/events')).then((r) => r.json() as Promise<{ timestamp_unix_ms: number; message: Message }[]>),
    refreshReport(),
  ]);
  for (const entry of entries) timeline.add(entry.message, entry.timestamp_unix_ms);
  if (timeline.steps.length === 0 && report) stepsFromReport(report);
  ensureGraph(timeline.definition);
  await machineFallback();
  const slider = $('step') as HTMLInputElement;
  slider.max = String(Math.max(0, timeline.steps.length - 1));
  $('timeline').hidden = false;
  const go = (index: number) => {
    timeCursor = null;
    show(Math.min(Math.max(index, 0), timeline.steps.length - 1));
  };
  slider.addEventListener('input', () => go(Number(slider.value)));
  $('prev').addEventListener('click', () => go(shown - 1));
  $('next').addEventListener('click', () => go(shown + 1));
  setUpClock();
  document.addEventListener('keydown', (event) => {
    // The slider moves itself on its own arrow keys (and says so with `input`): one step, not two.
    if (event.target === slider || event.target === $('time')) return;
    if (event.key === 'ArrowLeft') go(shown - 1);
    if (event.key === 'ArrowRight') go(shown + 1);
  });
  go(timeline.steps.length - 1);
  document.body.dataset.ready = 'true';
}

/** The run's time span, from the report: its first transition or start to its last end. */
function runSpan(): { start: number; end: number } | null {
  const times: number[] = [];
  for (const t of report?.transitions ?? []) times.push(t.timestamp_unix_ms);
  for (const e of report?.stage_executions ?? []) times.push(e.started_at_unix_ms, e.started_at_unix_ms + e.duration_ms);
  for (const d of report?.thermostat?.decisions ?? []) times.push(d.at_unix_ms);
  if (report?.updated_at_unix_ms) times.push(report.updated_at_unix_ms);
  timeline.steps.forEach((step, i) => times.push(reportTime(step, i) ?? step.atMs));
  const finite = times.filter(Number.isFinite);
  if (finite.length === 0) return null;
  return { start: Math.min(...finite), end: Math.max(...finite) };
}

/**
 * Replay by time: a slider over the run's span and play/pause at a speed. At each moment the graph
 * shows the state entered last, and the steps, timeline and executions what had ended or ran then.
 */
function setUpClock(): void {
  const span = runSpan();
  if (!span) return;
  const time = $('time') as HTMLInputElement;
  const play = $('play');
  time.max = String(span.end - span.start);
  time.value = time.max;
  $('clock').hidden = false;
  let timer: ReturnType<typeof setInterval> | null = null;
  const stop = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = '▶ play';
    document.body.dataset.playing = 'false';
  };
  const setTime = (t: number) => {
    timeCursor = Math.min(Math.max(t, span.start), span.end);
    time.value = String(timeCursor - span.start);
    $('time-label').textContent = `${((timeCursor - span.start) / 1000).toFixed(2)} s of ${((span.end - span.start) / 1000).toFixed(2)} s`;
    let index = 0;
    timeline.steps.forEach((step, i) => {
      if ((reportTime(step, i) ?? step.atMs) <= timeCursor!) index = i;
    });
    show(index);
  };
  time.addEventListener('input', () => {
    stop();
    setTime(span.start + Number(time.value));
  });
  play.addEventListener('click', () => {
    if (timer !== null) return stop();
    if (timeCursor === null || timeCursor >= span.end) setTime(span.start);
    play.textContent = '❚❚ pause';
    document.body.dataset.playing = 'true';
    let last = performance.now();
    timer = setInterval(() => {
      const now = performance.now();
      const next = timeCursor! + (now - last) * Number(($('speed') as HTMLSelectElement).value);
      last = now;
      setTime(next);
      if (next >= span.end) stop();
    }, 50);
  });
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

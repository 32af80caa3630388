/**
 * The ROI thermostat: a small machine of its own that sets how many steps of a stage run at once
 * from what the finished steps cost and returned. Pure: times come in with events, nothing here
 * reads a clock, a file or the environment.
 *
 * Fed one STEP_FINISHED per finished step that reported a cost or a value, it keeps the last
 * `window` of them and their net ROI (see netRoi). Above `target` it raises the concurrency by one
 * (heating), below it lowers it by one (cooling), never past [minConcurrency, maxConcurrency];
 * after a change, `cooldownSteps` finished steps pass before the next one. When the window is full
 * and its ROI has been below `floor` at each of the last `window` steps, it halts; RESUME with new
 * settings leaves `halted` only if the window's ROI is no longer below the (new) floor.
 */
import { type SnapshotFrom, assign, setup, transition } from 'xstate';

export interface ThermostatSettings {
  /** How many finished steps the ROI is taken over. */
  window: number;
  /** Net ROI above which the concurrency goes up, below which it goes down. */
  target: number;
  /** Net ROI below which, for a full window, the run halts. */
  floor: number;
  minConcurrency: number;
  maxConcurrency: number;
  /** Finished steps after a change before the next change. */
  cooldownSteps: number;
  /** Percentages of value taken as fee and burned (settings ORCHESTRATOR_FEE_PCT / _BURN_PCT). */
  feePct: number;
  burnPct: number;
}

export interface Sample {
  cost: number;
  value: number;
}

export const THERMOSTAT_STATES = ['steady', 'heating', 'cooling', 'halted'] as const;
export type ThermostatState = (typeof THERMOSTAT_STATES)[number];

export type DecisionReason = 'above_target' | 'below_target' | 'below_floor' | 'resumed';

/** One change the thermostat made: recorded in the report and streamed to --json. */
export interface ThermostatDecision {
  /** 1, 2, …: counts every decision of the run. */
  seq: number;
  at_unix_ms: number;
  /** The window's net ROI when it decided (null: the window holds no cost). */
  roi: number | null;
  from: number;
  to: number;
  state: ThermostatState;
  reason: DecisionReason;
  why: string;
}

export interface ThermostatContext {
  settings: ThermostatSettings;
  /** The last `window` finished steps that reported a cost or a value, oldest first. */
  samples: Sample[];
  concurrency: number;
  /** Finished steps still to pass before the next change. */
  cooldownLeft: number;
  /** How many finished steps in a row left the window's ROI below the floor. */
  belowFloor: number;
  roi: number | null;
  /** Everything fed so far, the window or not: the scoreboard's spent and value. */
  totals: Sample;
  decisions: number;
  lastDecision: ThermostatDecision | null;
}

export interface StepFinishedEvent extends Sample {
  type: 'STEP_FINISHED';
  atMs: number;
}

export interface ThermostatResumeEvent {
  type: 'RESUME';
  settings: ThermostatSettings;
  atMs: number;
}

export type ThermostatEvent = StepFinishedEvent | ThermostatResumeEvent;

export interface ThermostatInput {
  settings: ThermostatSettings;
  /** The concurrency to start at; clamped into [min, max]. */
  concurrency: number;
}

/** What the checkpoint keeps: the state's name and the context. */
export interface PersistedThermostat {
  state: ThermostatState;
  context: ThermostatContext;
}

/**
 * Net ROI of some finished steps: (value × (1 − (fee + burn) / 100) − cost) / cost, summed over
 * them. The multiplier is never below 0 (fee and burn over 100 % keep nothing). Null when they
 * cost nothing: a return on no spending is not a number the thermostat acts on.
 */
export function netRoi(samples: readonly Sample[], feePct: number, burnPct: number): number | null {
  let cost = 0;
  let value = 0;
  for (const sample of samples) {
    cost += sample.cost;
    value += sample.value;
  }
  if (cost <= 0) return null;
  const kept = Math.max(0, 1 - (feePct + burnPct) / 100);
  return (value * kept - cost) / cost;
}

export function clampConcurrency(settings: ThermostatSettings, concurrency: number): number {
  return Math.min(settings.maxConcurrency, Math.max(settings.minConcurrency, concurrency));
}

/** The context once a finished step is in the window; no decision yet. */
function observed(context: ThermostatContext, event: StepFinishedEvent): Pick<ThermostatContext, 'samples' | 'roi' | 'belowFloor' | 'totals' | 'cooldownLeft'> {
  const { settings } = context;
  const samples = [...context.samples, { cost: event.cost, value: event.value }].slice(-settings.window);
  const roi = netRoi(samples, settings.feePct, settings.burnPct);
  return {
    samples,
    roi,
    belowFloor: roi !== null && roi < settings.floor ? context.belowFloor + 1 : 0,
    totals: { cost: context.totals.cost + event.cost, value: context.totals.value + event.value },
    cooldownLeft: Math.max(0, context.cooldownLeft - 1),
  };
}

function breached(settings: ThermostatSettings, next: Pick<ThermostatContext, 'samples' | 'belowFloor'>): boolean {
  return next.samples.length >= settings.window && next.belowFloor >= settings.window;
}

function fmt(roi: number | null): string {
  return roi === null ? 'none' : roi.toFixed(3);
}

function decision(context: ThermostatContext, atMs: number, roi: number | null, to: number, state: ThermostatState, reason: DecisionReason): ThermostatDecision {
  const { settings } = context;
  const why = {
    above_target: `net ROI ${fmt(roi)} above the target ${settings.target}: one more step at once`,
    below_target: `net ROI ${fmt(roi)} below the target ${settings.target}: one step fewer at once`,
    below_floor: `net ROI below the floor ${settings.floor} for a full window of ${settings.window} steps (now ${fmt(roi)}): ROI_BELOW_FLOOR`,
    resumed:
      state === 'halted'
        ? `resumed, still below the floor ${settings.floor} over the window (net ROI ${fmt(roi)}): halted again`
        : `resumed with floor ${settings.floor}, target ${settings.target}, concurrency ${settings.minConcurrency}..${settings.maxConcurrency}`,
  }[reason];
  return { seq: context.decisions + 1, at_unix_ms: atMs, roi, from: context.concurrency, to, state, reason, why };
}

const stepEvent = (event: ThermostatEvent) => event as StepFinishedEvent;
const resumeEvent = (event: ThermostatEvent) => event as ThermostatResumeEvent;

export const thermostatMachine = setup({
  types: {
    context: {} as ThermostatContext,
    events: {} as ThermostatEvent,
    input: {} as ThermostatInput,
  },
  guards: {
    floorBreached: ({ context, event }) => breached(context.settings, observed(context, stepEvent(event))),
    inCooldown: ({ context }) => context.cooldownLeft > 0,
    aboveTarget: ({ context, event }) => {
      const { roi } = observed(context, stepEvent(event));
      return roi !== null && roi > context.settings.target && context.concurrency < context.settings.maxConcurrency;
    },
    belowTarget: ({ context, event }) => {
      const { roi } = observed(context, stepEvent(event));
      return roi !== null && roi < context.settings.target && context.concurrency > context.settings.minConcurrency;
    },
    stillBelowFloor: ({ context, event }) => {
      const { settings } = resumeEvent(event);
      const samples = context.samples.slice(-settings.window);
      const roi = netRoi(samples, settings.feePct, settings.burnPct);
      return samples.length >= settings.window && roi !== null && roi < settings.floor;
    },
  },
  actions: {
    observe: assign(({ context, event }) => observed(context, stepEvent(event))),
    raise: assign(({ context, event }) => {
      const next = observed(context, stepEvent(event));
      const to = context.concurrency + 1;
      const made = decision(context, stepEvent(event).atMs, next.roi, to, 'heating', 'above_target');
      return { ...next, concurrency: to, cooldownLeft: context.settings.cooldownSteps, decisions: made.seq, lastDecision: made };
    }),
    lower: assign(({ context, event }) => {
      const next = observed(context, stepEvent(event));
      const to = context.concurrency - 1;
      const made = decision(context, stepEvent(event).atMs, next.roi, to, 'cooling', 'below_target');
      return { ...next, concurrency: to, cooldownLeft: context.settings.cooldownSteps, decisions: made.seq, lastDecision: made };
    }),
    halt: assign(({ context, event }) => {
      const next = observed(context, stepEvent(event));
      const made = decision(context, stepEvent(event).atMs, next.roi, context.concurrency, 'halted', 'below_floor');
      return { ...next, decisions: made.seq, lastDecision: made };
    }),
    /** New settings (a resumed run's): the window and the concurrency fit them; a change is a decision. */
    configure: assign(({ context, event }, params: { state: ThermostatState | null }) => {
      const { settings, atMs } = resumeEvent(event);
      const samples = context.samples.slice(-settings.window);
      const roi = netRoi(samples, settings.feePct, settings.burnPct);
      const concurrency = clampConcurrency(settings, context.concurrency);
      const base = { settings, samples, roi, concurrency, belowFloor: params.state === 'steady' ? 0 : context.belowFloor };
      if (params.state === null && concurrency === context.concurrency) return base;
      const made = decision({ ...context, settings }, atMs, roi, concurrency, params.state ?? 'steady', 'resumed');
      return { ...base, decisions: made.seq, lastDecision: made };
    }),
  },
}).createMachine({
  id: 'thermostat',
  initial: 'steady',
  context: ({ input }) => initialContext(input),
  // RESUME is spelled out in every state (not once at the root) so that `graph` shows it.
  states: {
    steady: { on: { STEP_FINISHED: decide(), RESUME: reconfigure() } },
    heating: { on: { STEP_FINISHED: decide(), RESUME: reconfigure() } },
    cooling: { on: { STEP_FINISHED: decide(), RESUME: reconfigure() } },
    halted: {
      on: {
        // Steps that were running when it halted still finish: their outcome joins the window.
        STEP_FINISHED: { actions: 'observe' },
        RESUME: [
          { guard: 'stillBelowFloor', actions: { type: 'configure', params: { state: 'halted' } } },
          { target: 'steady', actions: { type: 'configure', params: { state: 'steady' } } },
        ],
      },
    },
  },
});

/** New settings while running: the window and concurrency fit them; the state stays. */
function reconfigure() {
  return { actions: { type: 'configure', params: { state: null } } } as const;
}

/** A finished step: halt below the floor, hold while cooling down, else move toward the target. */
function decide() {
  return [
    { guard: 'floorBreached', target: 'halted', actions: 'halt' },
    { guard: 'inCooldown', actions: 'observe' },
    { guard: 'aboveTarget', target: 'heating', actions: 'raise' },
    { guard: 'belowTarget', target: 'cooling', actions: 'lower' },
    { target: 'steady', actions: 'observe' },
  ] as const;
}

export type ThermostatSnapshot = SnapshotFrom<typeof thermostatMachine>;

export function startThermostat(input: ThermostatInput): PersistedThermostat {
  return persist(thermostatMachine.resolveState({ value: 'steady', context: initialContext(input) }));
}

function initialContext(input: ThermostatInput): ThermostatContext {
  return {
    settings: input.settings,
    samples: [],
    concurrency: clampConcurrency(input.settings, input.concurrency),
    cooldownLeft: 0,
    belowFloor: 0,
    roi: null,
    totals: { cost: 0, value: 0 },
    decisions: 0,
    lastDecision: null,
  };
}

/** The thermostat after one event: a pure function of the persisted form. */
export function thermostatAfter(saved: PersistedThermostat, event: ThermostatEvent): PersistedThermostat {
  const snapshot = thermostatMachine.resolveState({ value: saved.state, context: saved.context });
  const [next] = transition(thermostatMachine, snapshot, event);
  return persist(next);
}

function persist(snapshot: ThermostatSnapshot): PersistedThermostat {
  return { state: snapshot.value as ThermostatState, context: snapshot.context };
}

/**
 * The ROI thermostat machine: a model-based walk of its graph (every state it can reach, each
 * path replayed through its persisted form as a checkpoint keeps it), and a property test feeding
 * seeded random cost/value sequences (the crash harness's mulberry32), checked against rules
 * written out here by hand.
 */
import { describe, expect, it } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import {
  type PersistedThermostat,
  type ThermostatEvent,
  type ThermostatSettings,
  netRoi,
  startThermostat,
  thermostatAfter,
  thermostatMachine,
} from '../../machines/thermostat.js';
import { rng } from '../fault/crash-harness.js';

/** The formula of the README, written again: (value × (1 − (fee + burn) / 100) − cost) / cost. */
function expectedRoi(samples: { cost: number; value: number }[], feePct: number, burnPct: number): number | null {
  const cost = samples.reduce((sum, s) => sum + s.cost, 0);
  const value = samples.reduce((sum, s) => sum + s.value, 0);
  if (cost === 0) return null;
  return (value * Math.max(0, 1 - (feePct + burnPct) / 100) - cost) / cost;
}

/** Checkpoint round trip: what a resumed run reads back. */
const roundTrip = (t: PersistedThermostat): PersistedThermostat => JSON.parse(JSON.stringify(t));

describe('net ROI', () => {
  it('keeps value less fee and burn, minus cost, over cost', () => {
    expect(netRoi([{ cost: 10, value: 20 }, { cost: 10, value: 20 }], 5, 2)).toBeCloseTo(0.86);
    expect(netRoi([{ cost: 10, value: 0 }], 5, 2)).toBe(-1);
    expect(netRoi([{ cost: 4, value: 4 }], 0, 0)).toBe(0);
  });

  it('is null with no cost, and fee and burn over 100 % keep nothing', () => {
    expect(netRoi([], 5, 2)).toBeNull();
    expect(netRoi([{ cost: 0, value: 10 }], 5, 2)).toBeNull();
    expect(netRoi([{ cost: 10, value: 100 }], 80, 40)).toBe(-1);
  });
});

describe('the thermostat graph, walked', () => {
  const settings: ThermostatSettings = { window: 2, target: 0.5, floor: -0.5, minConcurrency: 1, maxConcurrency: 3, cooldownSteps: 1, feePct: 0, burnPct: 0 };
  const lenient: ThermostatSettings = { ...settings, floor: -2, target: -1.5 };
  const events: ThermostatEvent[] = [
    { type: 'STEP_FINISHED', cost: 1, value: 3, atMs: 1 }, // ROI 2: pays
    { type: 'STEP_FINISHED', cost: 1, value: 0, atMs: 1 }, // ROI -1: lost
    { type: 'RESUME', settings, atMs: 1 },
    { type: 'RESUME', settings: lenient, atMs: 1 },
  ];
  const input = { settings, concurrency: 2 };
  // Counters that only grow (decisions, totals, the streak past a window) do not make a new state.
  const serializeState = (snapshot: any) =>
    JSON.stringify({
      value: snapshot.value,
      floor: snapshot.context.settings.floor,
      samples: snapshot.context.samples,
      concurrency: snapshot.context.concurrency,
      cooldownLeft: snapshot.context.cooldownLeft,
      belowFloor: Math.min(snapshot.context.belowFloor, snapshot.context.settings.window),
    });
  const paths = getShortestPaths(thermostatMachine, { input, events, serializeState });

  it('reaches all four states, and leaves halted only by RESUME', () => {
    const reached = new Set(paths.map((path) => String(path.state.value)));
    expect([...reached].sort()).toEqual(['cooling', 'halted', 'heating', 'steady']);
    const fromHalted = paths.flatMap((path) =>
      path.steps.slice(1).filter((step, i) => path.steps[i]!.state.value === 'halted' && step.state.value !== 'halted'),
    );
    expect(fromHalted.length).toBeGreaterThan(0);
    for (const step of fromHalted) expect(step.event.type).toBe('RESUME');
  });

  it('every path, replayed through the checkpointed form, agrees with the graph and with the rules', () => {
    expect(paths.length).toBeGreaterThan(20);
    for (const path of paths) {
      let saved = roundTrip(startThermostat(input));
      let fed: { cost: number; value: number }[] = [];
      let belowRun = 0;
      for (const step of path.steps.slice(1)) {
        const event = step.event as ThermostatEvent;
        const before = saved;
        saved = roundTrip(thermostatAfter(saved, event));
        expect(saved.state, `${JSON.stringify(path.steps.map((s) => s.event.type))}`).toBe(step.state.value);
        expect(saved.context.concurrency).toBe(step.state.context.concurrency);
        const { minConcurrency, maxConcurrency } = saved.context.settings;
        expect(saved.context.concurrency).toBeGreaterThanOrEqual(minConcurrency);
        expect(saved.context.concurrency).toBeLessThanOrEqual(maxConcurrency);
        if (event.type !== 'STEP_FINISHED') {
          if (saved.state !== 'halted') belowRun = 0;
          continue;
        }
        fed = [...fed, { cost: event.cost, value: event.value }].slice(-saved.context.settings.window);
        const roi = expectedRoi(fed, 0, 0);
        belowRun = roi !== null && roi < saved.context.settings.floor ? belowRun + 1 : 0;
        expect(saved.context.roi).toBe(roi);
        const change = saved.context.concurrency - before.context.concurrency;
        if (before.state === 'halted') expect(change).toBe(0);
        if (saved.state === 'heating' && change !== 0) expect([change, roi! > saved.context.settings.target]).toEqual([1, true]);
        if (saved.state === 'cooling' && change !== 0) expect([change, roi! < saved.context.settings.target]).toEqual([-1, true]);
        if (saved.state === 'halted' && before.state !== 'halted') {
          expect(fed).toHaveLength(saved.context.settings.window);
          expect(belowRun).toBeGreaterThanOrEqual(saved.context.settings.window);
        }
      }
    }
  });
});

describe('the thermostat, fed random costs and values', () => {
  const SEED = Number(process.env.THERMOSTAT_SEED ?? 18);
  const CASES = 300;

  it(`keeps its invariants over ${CASES} seeded sequences (seed ${SEED})`, () => {
    const next = rng(SEED);
    const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
    let halts = 0;
    let changes = 0;
    for (let c = 0; c < CASES; c++) {
      const min = int(1, 4);
      const floor = -1 + next();
      const settings: ThermostatSettings = {
        window: int(1, 6),
        target: floor + next(),
        floor,
        minConcurrency: min,
        maxConcurrency: min + int(0, 5),
        cooldownSteps: int(0, 4),
        feePct: int(0, 20),
        burnPct: int(0, 10),
      };
      let saved = startThermostat({ settings, concurrency: int(0, 12) });
      // A payoff that drifts: some runs pay, some fall off, some cost nothing.
      let payoff = next() * 3;
      const window: { cost: number; value: number }[] = [];
      let below = 0;
      let sinceChange = Number.POSITIVE_INFINITY;
      const where = () => `case ${c}: ${JSON.stringify(settings)}`;
      for (let s = 0; s < 60; s++) {
        payoff = Math.max(0, payoff + (next() - 0.6) * 0.8);
        const cost = next() < 0.1 ? 0 : int(1, 10);
        const value = next() < 0.1 ? 0 : Math.round(cost * payoff * 100) / 100;
        const before = saved;
        saved = roundTrip(thermostatAfter(saved, { type: 'STEP_FINISHED', cost, value, atMs: s }));
        window.push({ cost, value });
        if (window.length > settings.window) window.shift();
        const roi = expectedRoi(window, settings.feePct, settings.burnPct);
        below = roi !== null && roi < settings.floor ? below + 1 : 0;
        sinceChange += 1;

        const { concurrency } = saved.context;
        expect(concurrency, where()).toBeGreaterThanOrEqual(settings.minConcurrency);
        expect(concurrency, where()).toBeLessThanOrEqual(settings.maxConcurrency);
        const change = concurrency - before.context.concurrency;
        expect(Math.abs(change), where()).toBeLessThanOrEqual(1);
        if (change !== 0) {
          // No change during the cooldown that follows a change, and each one toward the target.
          expect(sinceChange, where()).toBeGreaterThan(settings.cooldownSteps);
          expect(change > 0 ? roi! > settings.target : roi! < settings.target, where()).toBe(true);
          sinceChange = 0;
          changes++;
        }
        if (saved.state === 'halted' && before.state !== 'halted') {
          // A halt only after a full window whose ROI was below the floor at each of its steps.
          expect(window.length, where()).toBe(settings.window);
          expect(below, where()).toBeGreaterThanOrEqual(settings.window);
          halts++;
        }
        if (saved.state === 'halted') break;
        expect(before.state === 'halted').toBe(false);
      }
    }
    // The sequences exercise both: otherwise the checks above would prove little.
    expect(halts).toBeGreaterThan(10);
    expect(changes).toBeGreaterThan(50);
  });
});

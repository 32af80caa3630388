/**
 * The ROI thermostat inside a stage's work: started or carried on at the stage's start (with the
 * settings given now: a resumed run takes a new floor or plan), fed each finished step that
 * reported a cost or a value, and read for the concurrency and for a halt. The machine decides
 * (machines/thermostat.ts); this file only hands it events, with the clock's time.
 */
import type { SchedulerState, StepFinished } from '../../machines/step-scheduler.js';
import { type PersistedThermostat, startThermostat, thermostatAfter } from '../../machines/thermostat.js';
import type { StageRuntime, StageSnapshot } from './stage-logic.js';

/** The thermostat a stage starts with: `{}` for a run without one. */
export function thermostatFor(runtime: Pick<StageRuntime, 'thermostat' | 'concurrency'>, saved: PersistedThermostat | undefined): { thermostat?: PersistedThermostat } {
  const settings = runtime.thermostat;
  if (settings === null) return {};
  if (saved === undefined) return { thermostat: startThermostat({ settings, concurrency: runtime.concurrency }) };
  return { thermostat: thermostatAfter(saved, { type: 'RESUME', settings, atMs: Date.now() }) };
}

/** A step that ended on its own and reported a cost or a value joins the window; a cancelled one does not. */
export function feedThermostat(snapshot: StageSnapshot, event: StepFinished): StageSnapshot {
  const { thermostat } = snapshot;
  const value = event.value ?? 0;
  if (!thermostat || event.cancelled || (event.cost <= 0 && value <= 0)) return snapshot;
  return { ...snapshot, thermostat: thermostatAfter(thermostat, { type: 'STEP_FINISHED', cost: event.cost, value, atMs: event.finishedAtMs }) };
}

/** The stage's outcome once a halted thermostat has no step of it running any more; null otherwise. */
export function roiHalt(thermostat: PersistedThermostat, scheduler: SchedulerState): { status: 'roi_below_floor'; error: string } | null {
  if (thermostat.state !== 'halted') return null;
  for (const id in scheduler.active) if (scheduler.active[id]!.status === 'running') return null;
  const { settings, roi } = thermostat.context;
  return {
    status: 'roi_below_floor',
    error: `ROI_BELOW_FLOOR: net ROI ${roi === null ? 'none' : roi.toFixed(3)} below the floor ${settings.floor} for a full window of ${settings.window} steps`,
  };
}

/**
 * The thermostat's settings as a plan (`thermostat: {…}`) or the settings (`thermostat` in the
 * config file, ORCHESTRATOR_THERMOSTAT) give them: every field optional, the defaults and the
 * checks across fields applied once the layers are merged (thermostatSettingsOf).
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import type { ThermostatSettings } from '../../machines/thermostat.js';

const whole = (min: number, max: number) =>
  z.int({ error: 'expected a whole number' }).check(z.gte(min, { error: `expected ${min} or more` }), z.lte(max, { error: `expected at most ${max}` }));
const finite = () => z.number({ error: 'expected a number' });

export const thermostatSchema = z.strictObject({
  /** Finished steps the net ROI is taken over. */
  window: z.optional(whole(1, 10_000)),
  /** Net ROI above which concurrency goes up a step, below which it goes down. */
  target: z.optional(finite()),
  /** Net ROI below which, for a full window, the run halts (ROI_BELOW_FLOOR). */
  floor: z.optional(finite()),
  minConcurrency: z.optional(whole(1, 256)),
  maxConcurrency: z.optional(whole(1, 256)),
  /** Finished steps after a change before the next change. */
  cooldownSteps: z.optional(whole(0, 10_000)),
});

export type ThermostatInput = z.infer<typeof thermostatSchema>;

export const THERMOSTAT_DEFAULTS = { window: 5, target: 0.2, floor: 0, minConcurrency: 1, maxConcurrency: 4, cooldownSteps: 1 } as const;

/** The one problem of merged settings, as `field: what is wrong`, or null. */
export function thermostatProblem(settings: Omit<ThermostatSettings, 'feePct' | 'burnPct'>): string | null {
  if (settings.minConcurrency > settings.maxConcurrency) {
    return `minConcurrency: ${settings.minConcurrency} is above maxConcurrency ${settings.maxConcurrency}`;
  }
  if (settings.floor > settings.target) return `floor: ${settings.floor} is above target ${settings.target}`;
  return null;
}

/** Defaults < the plan's < the settings', field by field; null when neither asks for a thermostat. */
export function mergeThermostat(plan: ThermostatInput | undefined, settings: ThermostatInput | undefined): Omit<ThermostatSettings, 'feePct' | 'burnPct'> | null {
  if (plan === undefined && settings === undefined) return null;
  return { ...THERMOSTAT_DEFAULTS, ...defined(plan), ...defined(settings) };
}

function defined(input: ThermostatInput | undefined): ThermostatInput {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, value]) => value !== undefined));
}

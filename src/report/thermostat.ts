/**
 * The report's `thermostat`: the settings the run used, where the thermostat stands, and every
 * decision it made (all invocations of the run). Present only for a run with a thermostat.
 */
import * as z from 'zod/mini';
import '../zod-messages.js';
import { THERMOSTAT_STATES, type ThermostatDecision, type ThermostatSettings } from '../../machines/thermostat.js';

export const thermostatReportSchemas = () => {
  const decisionSchema = z.object({
    seq: z.int().check(z.gte(1)),
    at_unix_ms: z.int(),
    /** The window's net ROI when it decided; null when the window held no cost. */
    roi: z.nullable(z.number()),
    from: z.int(),
    to: z.int(),
    state: z.enum(THERMOSTAT_STATES),
    reason: z.enum(['above_target', 'below_target', 'below_floor', 'resumed']),
    why: z.string(),
  });
  const settingsSchema = z.object({
    window: z.int(),
    target: z.number(),
    floor: z.number(),
    minConcurrency: z.int(),
    maxConcurrency: z.int(),
    cooldownSteps: z.int(),
    feePct: z.number(),
    burnPct: z.number(),
  });
  const thermostatSchema = z.object({
    settings: settingsSchema,
    state: z.enum(THERMOSTAT_STATES),
    concurrency: z.int(),
    /** The window's net ROI now. */
    roi: z.nullable(z.number()),
    /** Cost and value of every step the thermostat was fed (steps that reported either). */
    spent: z.number(),
    value: z.number(),
    decisions: z.array(decisionSchema),
  });
  return { decisionSchema, settingsSchema, thermostatSchema };
};

type Schemas = ReturnType<typeof thermostatReportSchemas>;
export type ThermostatReport = z.infer<Schemas['thermostatSchema']>;

// The machine's types and the report's schema describe one thing: the compiler keeps them equal.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const decisionsAgree: Same<z.infer<Schemas['decisionSchema']>, ThermostatDecision> = true;
const settingsAgree: Same<z.infer<Schemas['settingsSchema']>, ThermostatSettings> = true;
void decisionsAgree;
void settingsAgree;

/** The decisions an earlier invocation of the run wrote in its report, up to `upToSeq`. */
export function earlierDecisions(text: string | null, runId: string, upToSeq: number): ThermostatDecision[] {
  if (text === null || upToSeq <= 0) return [];
  let data: { run_id?: unknown; thermostat?: { decisions?: unknown } };
  try {
    data = JSON.parse(text) as typeof data;
  } catch {
    return [];
  }
  if (data.run_id !== runId || !Array.isArray(data.thermostat?.decisions)) return [];
  const { decisionSchema } = thermostatReportSchemas();
  return data.thermostat.decisions.flatMap((raw) => {
    const parsed = decisionSchema.safeParse(raw);
    return parsed.success && parsed.data.seq <= upToSeq ? [parsed.data] : [];
  });
}

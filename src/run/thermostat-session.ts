/**
 * The ROI thermostat seen from a run: its settings (the plan's, the settings' laid over them, fee
 * and burn), and the report's `thermostat`, kept up to date from the stage work's snapshots in the
 * inspection stream, with every decision of every invocation of the run.
 */
import type { InspectionEvent } from 'xstate';
import type { OrchestrationContext } from '../../machines/orchestration.js';
import { type PersistedThermostat, type ThermostatDecision, type ThermostatSettings, clampConcurrency } from '../../machines/thermostat.js';
import type { CheckpointV3 } from '../checkpoint/schema.js';
import type { OrchestrationConfig } from '../config/schema.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { mergeThermostat, thermostatProblem } from '../plan/thermostat.js';
import { readTextOrNull } from '../report/report-file.js';
import type { RunReport } from '../report/schema.js';
import { earlierDecisions } from '../report/thermostat.js';

/** The run's thermostat settings, or null when neither the plan nor the settings ask for one. */
export function thermostatSettingsOf(config: OrchestrationConfig): ThermostatSettings | null {
  const merged = mergeThermostat(config.plan.thermostat, config.thermostat);
  if (merged === null) return null;
  const problem = thermostatProblem(merged);
  if (problem) throw new OrchestratorError(`thermostat: ${problem}`, EXIT.usage);
  return { ...merged, feePct: config.feePct, burnPct: config.burnPct };
}

/** Cost spent so far: the running stage's scheduler knows it best, else the machine's context. */
export function spentIn(checkpoint: Pick<CheckpointV3, 'snapshot'>): number {
  const child = checkpoint.snapshot.children?.stageWork as { snapshot?: { scheduler?: { spentCost?: number } } } | undefined;
  const context = checkpoint.snapshot.context as unknown as Partial<OrchestrationContext>;
  return child?.snapshot?.scheduler?.spentCost ?? context.spentCost ?? 0;
}

/**
 * A run's scoreboard figures: spent (the checkpoint's), value (the thermostat's, else what the
 * logged executions reported), the thermostat's window ROI and concurrency ('-' without one).
 */
export function scoreOf(checkpoint: Pick<CheckpointV3, 'snapshot'> | null, records: readonly { cost: number; value?: number | undefined }[]) {
  const thermostat = checkpoint ? thermostatIn(checkpoint) : null;
  let cost = 0;
  let value = 0;
  for (const record of records) {
    cost += record.cost;
    value += record.value ?? 0;
  }
  const roi = thermostat?.context.roi;
  return {
    spent: checkpoint ? spentIn(checkpoint) : cost,
    value: thermostat ? thermostat.context.totals.value : value,
    roi: roi === undefined || roi === null ? ('-' as const) : Number(roi.toFixed(3)),
    concurrency: thermostat ? thermostat.context.concurrency : ('-' as const),
  };
}

/** Where a thermostat stands in a checkpoint: the running stage's, else the machine's context. */
export function thermostatIn(checkpoint: Pick<CheckpointV3, 'snapshot'>): PersistedThermostat | null {
  const child = checkpoint.snapshot.children?.stageWork as { snapshot?: { thermostat?: PersistedThermostat } } | undefined;
  const context = checkpoint.snapshot.context as unknown as Partial<OrchestrationContext>;
  return child?.snapshot?.thermostat ?? context.thermostat ?? null;
}

/**
 * Hands on every thermostat a stage work's snapshot holds, with the decision it brings, if new:
 * a snapshot carries the last decision; its `seq` (past `seen`) and its time (from `sinceMs` on,
 * so a resumed run's earlier decisions are not taken for new ones) tell a new one.
 */
export class DecisionTap {
  constructor(
    private seen: number,
    private readonly sinceMs: number,
    private readonly onThermostat: (thermostat: PersistedThermostat, decision: ThermostatDecision | null, snapshot: unknown) => void,
  ) {}

  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot' || event.actorRef.sessionId === event.rootId) return;
    const thermostat = (event.snapshot as { thermostat?: PersistedThermostat }).thermostat;
    if (!thermostat) return;
    const last = thermostat.context.lastDecision;
    const fresh = last !== null && last.seq > this.seen && last.at_unix_ms >= this.sinceMs ? last : null;
    if (fresh) this.seen = fresh.seq;
    this.onThermostat(thermostat, fresh, event.snapshot);
  };
}

/** Keeps `report.thermostat`; `changed` asks for a report write. */
export class ThermostatRecorder {
  readonly tap: DecisionTap;

  constructor(
    readonly settings: ThermostatSettings,
    startConcurrency: number,
    private readonly report: RunReport,
    resumed: { checkpoint: CheckpointV3; reportPath: string } | null,
    changed: () => void,
  ) {
    const saved = resumed ? thermostatIn(resumed.checkpoint) : null;
    const seen = saved?.context.decisions ?? 0;
    const decisions = resumed ? earlierDecisions(readTextOrNull(resumed.reportPath), report.run_id, seen) : [];
    report.thermostat = {
      settings,
      state: saved?.state ?? 'steady',
      concurrency: saved?.context.concurrency ?? clampConcurrency(settings, startConcurrency),
      roi: saved?.context.roi ?? null,
      spent: saved?.context.totals.cost ?? 0,
      value: saved?.context.totals.value ?? 0,
      decisions,
    };
    this.tap = new DecisionTap(seen, 0, (thermostat, decision) => {
      this.update(thermostat, decision);
      changed();
    });
  }

  /** The run ended: the machine's context holds the thermostat a halted or finished stage left. */
  conclude(context: Partial<OrchestrationContext>): void {
    if (context.thermostat) this.update(context.thermostat, null);
  }

  private update(thermostat: PersistedThermostat, decision: ThermostatDecision | null): void {
    const shown = this.report.thermostat!;
    const { context } = thermostat;
    Object.assign(shown, {
      settings: context.settings,
      state: thermostat.state,
      concurrency: context.concurrency,
      roi: context.roi,
      spent: context.totals.cost,
      value: context.totals.value,
    });
    if (decision && !shown.decisions.some((d) => d.seq === decision.seq)) shown.decisions.push(decision);
  }
}

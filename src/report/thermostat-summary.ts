/** The ROI thermostat's part of a report, as a person reads it (`report`, the run's last lines). */
import type { RunReport } from './schema.js';

export function roi(value: number | null): string {
  return value === null ? 'none' : value.toFixed(3);
}

/** Why the thermostat halted the run, in one line. */
export function roiHaltLine(report: Pick<RunReport, 'thermostat'>): string {
  const t = report.thermostat;
  if (!t) return 'net ROI below the floor';
  return `net ROI ${roi(t.roi)} below the floor ${t.settings.floor} for a full window of ${t.settings.window} steps`;
}

/** The `Thermostat:` section: settings, where it stands, then every decision. */
export function thermostatLines(report: Pick<RunReport, 'thermostat'>): string[] {
  const t = report.thermostat;
  if (!t) return [];
  const s = t.settings;
  const lines = [
    '',
    'Thermostat:',
    `  settings:    window ${s.window}, target ${s.target}, floor ${s.floor}, concurrency ${s.minConcurrency}..${s.maxConcurrency}, cooldown ${s.cooldownSteps} steps, fee ${s.feePct} %, burn ${s.burnPct} %`,
    `  now:         ${t.state}, concurrency ${t.concurrency}, net ROI ${roi(t.roi)} (spent ${t.spent}, value ${t.value})`,
  ];
  if (t.decisions.length === 0) lines.push('  decisions:   none');
  for (const d of t.decisions) {
    lines.push(`  ${new Date(d.at_unix_ms).toISOString()}  ${d.from} -> ${d.to}  ${d.state.padEnd(7)}  ROI ${roi(d.roi).padStart(7)}  ${d.why}`);
  }
  return lines;
}

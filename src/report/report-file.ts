/**
 * The report file: written durably as the run goes; read back on resume so that earlier
 * invocations' executions are kept.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../checkpoint/durable-write.js';
import { type RunReport, type StageExecution, runReportSchema, stageExecutionSchema } from './schema.js';

export const REPORT_FILE = 'orchestrator_run_report.json';
/** V0 names the product this way; readers of V0 reports may match on it. */
export const PRODUCT = 'autonomy_orchestrator_ai';

export function reportPathIn(outputDir: string): string {
  return join(outputDir, REPORT_FILE);
}

/**
 * Always atomic. While a run goes on the report is not fsynced: the checkpoint is the durable
 * record of progress (a resume takes transitions from it); the last write of a run is durable.
 */
export function writeReport(path: string, report: RunReport, { durable = true }: { durable?: boolean } = {}): void {
  writeFileDurably(path, `${JSON.stringify(report, null, 2)}\n`, { durable });
}

export function readReport(path: string): RunReport | null {
  const text = readTextOrNull(path);
  if (text === null) return null;
  try {
    const parsed = runReportSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * What earlier invocations of `runId` executed, from the report they left. A V0 report (no
 * additions) contributes its `stage_executions` as far as they parse.
 */
export function earlierExecutions(path: string, runId: string): StageExecution[] {
  const text = readTextOrNull(path);
  if (text === null) return [];
  let data: { run_id?: unknown; stage_executions?: unknown; earlier_stage_executions?: unknown };
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  if (data.run_id !== runId) return [];
  const records = [...asArray(data.earlier_stage_executions), ...asArray(data.stage_executions)];
  return records.flatMap((record) => {
    const parsed = stageExecutionSchema.safeParse(withDefaults(record));
    return parsed.success ? [parsed.data] : [];
  });
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** V0 records lack the additions; give them neutral values so they keep their place. */
function withDefaults(record: unknown): unknown {
  if (typeof record !== 'object' || record === null) return record;
  const r = record as Record<string, unknown>;
  return {
    attempt: 0,
    started_at_unix_ms: typeof r.started_at_unix_secs === 'number' ? r.started_at_unix_secs * 1000 : 0,
    timeout_ms: null,
    signal: null,
    stdout_log: null,
    stderr_log: null,
    interrupted: false,
    ...r,
  };
}

function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

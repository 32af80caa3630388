/**
 * The report file: written durably as the run goes; read back on resume so that earlier
 * invocations' executions are kept.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileDurably } from '../checkpoint/durable-write.js';
import { loggedRecords, recordsPathIn } from './records-log.js';
import { type RunReport, type StageExecution, executionRecordSchema, reportSchemas } from './schema.js';

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
export function writeReport(
  path: string,
  report: RunReport,
  { durable = true, rendered }: { durable?: boolean; rendered?: Partial<Record<keyof RunReport, () => Iterable<string>>> } = {},
): void {
  writeFileDurably(path, prettyJsonPieces(report, rendered), { durable });
}

/** Each element rendered as `prettyJsonPieces` writes it, one at a time. */
export function* renderAll(values: Iterable<unknown>): Generator<string> {
  for (const value of values) yield renderElement(value);
}

/** One element of a top-level array as `prettyJsonPieces` writes it. */
export function renderElement(value: unknown): string {
  return `    ${(JSON.stringify(value, null, 2) ?? 'null').replaceAll('\n', '\n    ')}`;
}

/**
 * `JSON.stringify(document, null, 2)` and a newline, byte for byte, in pieces: one per top-level
 * value and one per element of a top-level array. A report of 10,000 executions is then written
 * without building its megabytes as one string (which a long run would do at every rewrite).
 * `rendered` gives, for a top-level array, its elements rendered (`renderElement`) one at a time,
 * in place of the document's value for that key: a report's records can come from the records log
 * rather than from memory.
 */
export function* prettyJsonPieces(document: object, rendered: Partial<Record<string, () => Iterable<string>>> = {}): Generator<string> {
  const entries = Object.entries(document).filter(([, value]) => value !== undefined && typeof value !== 'function');
  if (entries.length === 0) {
    yield '{}\n';
    return;
  }
  yield '{\n';
  for (let i = 0; i < entries.length; i++) {
    const [key, value] = entries[i]!;
    yield `  ${JSON.stringify(key)}: `;
    const elements = rendered[key]?.() ?? (Array.isArray(value) ? renderAll(value) : null);
    if (elements) {
      let count = 0;
      for (const element of elements) yield `${count++ === 0 ? '[\n' : ',\n'}${element}`;
      yield count === 0 ? '[]' : '\n  ]';
    } else {
      yield (JSON.stringify(value, null, 2) as string).replaceAll('\n', '\n  ');
    }
    yield i < entries.length - 1 ? ',\n' : '\n';
  }
  yield '}\n';
}

export function readReport(path: string): RunReport | null {
  const text = readTextOrNull(path);
  if (text === null) return null;
  try {
    const parsed = reportSchemas().runReportSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The report in `outputDir` as a reader should see it. While a run goes on (or after it was killed)
 * the report is rewritten only now and then, but each record reaches the records log as it is made:
 * a `running` report takes its invocation's records from there, so `report` and `inspect` show every
 * step a killed run finished. The log holds the earlier invocations' records first, then this one's.
 */
export function readRunReport(outputDir: string): RunReport | null {
  const report = readReport(reportPathIn(outputDir));
  if (report === null || report.status !== 'running') return report;
  const logged = loggedRecords(recordsPathIn(outputDir), report.run_id);
  if (logged === null) return report;
  const current = logged.slice(report.earlier_stage_executions.length);
  return current.length > report.stage_executions.length ? { ...report, stage_executions: current } : report;
}

/**
 * What earlier invocations of `runId` executed: from the records log beside the report (every record,
 * even those a kill kept out of the report), else from the report they left. A V0 report (no
 * additions) contributes its `stage_executions` as far as they parse.
 */
export function earlierExecutions(path: string, runId: string): StageExecution[] {
  const logged = loggedRecords(recordsPathIn(dirname(path)), runId);
  if (logged !== null && logged.length > 0) return logged;
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
    const parsed = executionRecordSchema().safeParse(withDefaults(record));
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

export function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * A run of `steps` steps for the viewer's scale tests, without running them all: a real run of a
 * two-step plan, whose report is then given `steps` execution records (copies of its own, each with
 * its own step id and times, one after another), and a plan of that many steps beside it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './cli.js';

export async function bigRun(dir: string, steps: number): Promise<{ out: string; planPath: string }> {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'out');
  const small = join(dir, 'small.json');
  writeFileSync(small, JSON.stringify({ version: 1, stages: { execution: [{ id: 's0', bin: 'true' }, { id: 's1', bin: 'true' }] } }));
  const run = await runCli([out, '--plan', small]);
  if (run.exitCode !== 0) throw new Error(`the seed run failed: ${run.stderr}`);
  const reportPath = join(out, 'orchestrator_run_report.json');
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const index = report.stage_executions.findIndex((e: { step: string }) => e.step === 's0');
  const template = report.stage_executions[index];
  const start = template.started_at_unix_ms as number;
  const records = Array.from({ length: steps }, (_, i) => ({
    ...template,
    step: `s${i}`,
    idempotency_key: `stage:Execution/step:s${i}`,
    started_at_unix_ms: start + i * 2,
    started_at_unix_secs: Math.floor((start + i * 2) / 1000),
    duration_ms: 2,
    stdout_log: template.stdout_log.replace('.s0.', `.s${i}.`),
    stderr_log: template.stderr_log.replace('.s0.', `.s${i}.`),
  }));
  report.stage_executions = [...report.stage_executions.slice(0, index), ...records, ...report.stage_executions.slice(index + 2)];
  writeFileSync(reportPath, JSON.stringify(report));
  const planPath = join(dir, 'plan.json');
  writeFileSync(planPath, JSON.stringify({ version: 1, stages: { execution: records.map((r) => ({ id: r.step, bin: 'true' })) } }));
  return { out, planPath };
}

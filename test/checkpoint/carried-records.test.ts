/**
 * One sync a step: within a stage, the checkpoint journal's line carries the execution records
 * appended since the line before it, so the records log is not synced on its own at every step.
 * What a power loss could take from the records log's tail is put back from the journal when the
 * run resumes; a kill takes nothing from it.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJson, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

const STEP = resolve('test/fixtures/step.mjs');
const RECORDS = 'orchestrator_run_report.executions.jsonl';

function setUp() {
  const dir = tempDir('ao-carried-');
  const out = join(dir, 'out');
  const trace = join(dir, 'trace.jsonl');
  const plan = join(dir, 'plan.json');
  const ids = ['s0', 's1', 's2', 's3', 's4', 's5'];
  writeFileSync(plan, JSON.stringify({ stages: { execution: ids.map((id) => ({ id, bin: process.execPath, args: [STEP, trace] })) } }));
  return { dir, out, trace, plan, ids };
}

const startsIn = (trace: string) =>
  readFileSync(trace, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; step: string })
    .filter((line) => line.event === 'start')
    .map((line) => line.step);

describe('records carried by the checkpoint journal', () => {
  it('a run killed mid-stage whose records log then lost its unsynced tail (a power loss) resumes with every record, and runs no finished step again', async () => {
    const { dir, out, trace, plan, ids } = setUp();
    const paused = join(dir, 'paused');
    // Paused with the 5th step's attempt on disk: four steps done and checkpointed in the journal.
    const first = startCli([out, '--plan', plan], { env: { ORCHESTRATOR_TEST_PAUSE_AT: 'step-start@5', ORCHESTRATOR_TEST_PAUSE_FILE: paused } });
    await waitFor(() => existsSync(paused), 20_000, 'the run to pause at its 5th step');
    first.child.kill('SIGKILL');
    await first.done;
    expect(startsIn(trace)).toEqual(ids.slice(0, 4));

    // The journal holds the last records as well as the checkpoints.
    const journal = readFileSync(join(out, 'orchestrator_checkpoint.json.journal'), 'utf8');
    const carried = journal
      .split('\n')
      .filter((line) => line.startsWith('{"carried":'))
      .map((line) => (JSON.parse(line) as { carried: { text: string } }).carried.text)
      .join('');
    const logged = readFileSync(join(out, RECORDS), 'utf8');
    const lines = logged.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines.slice(-2)) expect(carried).toContain(line);

    // A power loss: the last two records never reached the disk, a torn half line did.
    const kept = lines.slice(0, -2).map((line) => `${line}\n`).join('');
    writeFileSync(join(out, RECORDS), `${kept}${lines.at(-2)!.slice(0, 30)}`);

    const resumed = await runCli([out, '--resume']);
    expect(resumed.exitCode).toBe(0);
    expect(startsIn(trace)).toEqual(ids);
    const report = readJson(join(out, 'orchestrator_run_report.json'));
    const steps = (records: { stage: string; step: string; status: string }[]) =>
      records.filter((r) => r.stage === 'execution').map((r) => `${r.step} ${r.status}`);
    expect(steps(report.earlier_stage_executions)).toEqual(ids.slice(0, 4).map((id) => `${id} success`));
    expect(steps(report.stage_executions)).toEqual(ids.slice(4).map((id) => `${id} success`));
    // The log holds every record once, whole.
    const after = readFileSync(join(out, RECORDS), 'utf8').split('\n').filter(Boolean);
    expect(after.map((line) => (JSON.parse(line) as { record: { step: string } }).record.step).filter((s) => s.startsWith('s'))).toEqual(ids);
  });

  it('a run started with a relative output dir, killed mid-stage, resumes from another directory; a record cut short by the kill stays a line of its own', async () => {
    const { dir, trace, plan, ids } = setUp();
    const paused = join(dir, 'paused');
    const first = startCli(['out', '--plan', plan], { cwd: dir, env: { ORCHESTRATOR_TEST_PAUSE_AT: 'step-start@4', ORCHESTRATOR_TEST_PAUSE_FILE: paused } });
    await waitFor(() => existsSync(paused), 20_000, 'the run to pause at its 4th step');
    first.child.kill('SIGKILL');
    await first.done;
    const out = join(dir, 'out');
    // The kill left half a line at the end of the records log (as a kill mid-write would).
    appendFileSync(join(out, RECORDS), '{"run_id":"torn');

    const resumed = await runCli([out, '--resume']);
    expect(resumed.stderr).not.toContain('records log');
    expect(resumed.exitCode).toBe(0);
    expect(startsIn(trace)).toEqual(ids);
    const report = readJson(join(out, 'orchestrator_run_report.json'));
    const steps = (records: { stage: string; step: string }[]) => records.filter((r) => r.stage === 'execution').map((r) => r.step);
    expect(steps(report.earlier_stage_executions)).toEqual(ids.slice(0, 3));
    expect(steps(report.stage_executions)).toEqual(ids.slice(3));
    // Every record of the resumed invocation is read back from the log (a later resume or `report` reads it so).
    const after = readFileSync(join(out, RECORDS), 'utf8').split('\n');
    expect(after).toContain('{"run_id":"torn');
    const parsed = after.filter((line) => line.startsWith('{"run_id":"run')).map((line) => (JSON.parse(line) as { record: { step: string } }).record.step);
    expect(parsed.filter((step) => step.startsWith('s'))).toEqual(ids);
  });
});


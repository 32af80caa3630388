/**
 * The checkpoint records what the run runs (`run_identity`): `--resume` alone continues a plan
 * run, and a resume with other programs, or under another machine version, is refused in one line
 * saying what differs, leaving the checkpoint as it was (issue 14, item 3).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ORCHESTRATION_MACHINE_VERSION } from '../../machines/machine-version.js';
import { seal } from '../../src/checkpoint/integrity.js';
import { CHECKPOINT, LOCK, STACK_FRAME, executor, manager } from '../cli/user-view.js';
import { fixtureStep, startsOf, traceOf, writePlan } from '../plans/plan-runs.js';
import { checkpointOf, reportOf, runCli, tempDir } from '../support/cli.js';

/** A plan run whose planning step fails on its first attempt: the run ends failed, resumable. */
async function failedPlanRun() {
  const dir = tempDir();
  const out = join(dir, 'out');
  const trace = join(dir, 'trace.jsonl');
  const planPath = writePlan(dir, {
    stages: { planning: [fixtureStep('draft', trace, { 'fail-attempts': 1 })], execution: [fixtureStep('apply', trace)] },
  });
  const first = await runCli([out, '--plan', planPath]);
  expect(first.exitCode).toBe(1);
  return { dir, out, trace, planPath };
}

function expectRefusedNaming(result: { exitCode: number | null; stderr: string }, out: string, ...parts: string[]): void {
  expect(result.exitCode).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(join(out, CHECKPOINT));
  for (const part of parts) expect(lines[0]).toContain(part);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stderr).not.toContain('internal error');
  expect(existsSync(join(out, LOCK))).toBe(false);
}

describe('the run identity in the checkpoint', () => {
  it('records the plan file, a digest of its programs and the machine version', async () => {
    const { out, planPath } = await failedPlanRun();
    expect(checkpointOf(out).run_identity).toMatchObject({
      machine_version: ORCHESTRATION_MACHINE_VERSION,
      program_source: 'plan',
      plan_path: planPath,
      program_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('--resume alone continues a plan run with its plan file', async () => {
    const { out, trace } = await failedPlanRun();
    const runId = checkpointOf(out).run_id;
    const resumed = await runCli([out, '--resume']);
    expect(resumed.stderr).not.toContain('autonomy-orchestrator:');
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(out)).toMatchObject({ run_id: runId, terminal_state: 'done' });
    expect(startsOf(traceOf(trace)).map((s) => `${s.step} ${s.attempt}`)).toEqual(['draft 1', 'draft 2', 'apply 1']);
  });

  it('a plan run resumed with V0 program flags is refused, saying which plan started it; the checkpoint is left as it was', async () => {
    const { out, trace, planPath } = await failedPlanRun();
    const before = readFileSync(join(out, CHECKPOINT));
    const result = await runCli([out, '--resume', ...manager('ok')]);
    expectRefusedNaming(result, out, `--plan ${planPath}`, '--manager-*/--executor-* flags');
    expect(readFileSync(join(out, CHECKPOINT)).equals(before)).toBe(true);
    expect(startsOf(traceOf(trace))).toHaveLength(1);
  });

  it('a plan whose programs changed since is refused, saying the file changed', async () => {
    const { dir, out, trace, planPath } = await failedPlanRun();
    writePlan(dir, { stages: { planning: [fixtureStep('other', trace)] } });
    const result = await runCli([out, '--resume', '--plan', planPath]);
    expectRefusedNaming(result, out, `--plan ${planPath}`, 'changed since');
    expect(startsOf(traceOf(trace))).toHaveLength(1);
  });

  it('a V0 flags run resumed with --plan, or with no programs at all, is refused', async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const first = await runCli([out, ...manager('ok'), ...executor('fail')]);
    expect(first.exitCode).toBe(1);
    const planPath = writePlan(dir, { stages: { execution: [fixtureStep('apply', join(dir, 'trace.jsonl'))] } });
    expectRefusedNaming(await runCli([out, '--resume', '--plan', planPath]), out, '--manager-*/--executor-* flags', `--plan ${planPath}`);
    expectRefusedNaming(await runCli([out, '--resume']), out, 'no programs');
    // The same steps resume it, with other args as V0 allows (the failed executor runs again, now ok).
    expect((await runCli([out, '--resume', ...manager('ok'), ...executor('ok')])).exitCode).toBe(0);
  });

  it('a checkpoint of another machine version is refused naming both versions', async () => {
    const { out } = await failedPlanRun();
    const file = join(out, CHECKPOINT);
    const checkpoint = checkpointOf(out);
    checkpoint.run_identity.machine_version = ORCHESTRATION_MACHINE_VERSION + 1;
    writeFileSync(file, JSON.stringify(seal(checkpoint, checkpoint.integrity.revision)));
    const result = await runCli([out, '--resume']);
    expectRefusedNaming(result, out, `machine version ${ORCHESTRATION_MACHINE_VERSION + 1}`, `version ${ORCHESTRATION_MACHINE_VERSION}`);
  });

  it('a checkpoint written before the identity resumes as before, with the programs given', async () => {
    const { out, trace, planPath } = await failedPlanRun();
    const file = join(out, CHECKPOINT);
    const { run_identity: _dropped, ...older } = checkpointOf(out);
    writeFileSync(file, JSON.stringify(seal(older, older.integrity.revision)));
    const resumed = await runCli([out, '--resume', '--plan', planPath]);
    expect(resumed.exitCode).toBe(0);
    expect(startsOf(traceOf(trace)).map((s) => `${s.step} ${s.attempt}`)).toEqual(['draft 1', 'draft 2', 'apply 1']);
  });
});

describe('the recorded digests', () => {
  it('are the sha256 of the programs’ canonical JSON, written out here by hand: a checkpoint recorded earlier keeps matching', async () => {
    const dir = tempDir();
    const planPath = writePlan(dir, { stages: { execution: [{ id: 'a', bin: '/bin/true', args: ['x'], env: { B: '1', A: '2' } }] } });
    const result = await runCli([join(dir, 'out'), '--plan', planPath]);
    expect(result.exitCode).toBe(0);
    const identity = checkpointOf(join(dir, 'out')).run_identity;
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const program = '{"args":["x"],"bin":"/bin/true","cwd":null,"envKeys":["A","B"],"expectedArtifacts":[],"id":"a","idempotencyKey":null,"needs":[]}';
    expect(identity.program_sha256).toBe(sha(`[[],[],[${program}],[],[]]`));
    expect(identity.steps_sha256).toBe(sha('[[],[],["a"],[],[]]'));
  });
});

/**
 * `run --store`: a one-off run keeps its checkpoint in a file, Postgres or Redis store, keyed by
 * --run-id or by its output directory's name; `status` and `export` see it, `--resume` finds it,
 * and `approve --store` lets a run blocked at an approval carry on.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { fixtureStep, startsOf, traceOf, writePlan } from '../plans/plan-runs.js';
import { reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';
import pg from 'pg';
import { PG_DSN, REDIS_URL, describeWithServer, reachable } from './servers.js';

const pgUp = await reachable(PG_DSN, 5432);

/** A Postgres schema of its own for a test: its runs' ids, then dropped. */
async function freshSchema() {
  const schema = `ao_rs_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_DSN });
  await admin.connect();
  return {
    dsn: `${PG_DSN}?schema=${schema}`,
    rows: async () => (await admin.query<{ run_id: string }>(`SELECT run_id FROM "${schema}".orchestrator_runs ORDER BY run_id`)).rows,
    drop: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}
const redisUp = await reachable(REDIS_URL, 6379);

/** Runs a two-step plan keyed by the output directory's name, then a second run by --run-id, and checks what a user sees. */
async function checkStore(address: string, shown: RegExp) {
  const dir = tempDir('ao-run-store-');
  const trace = join(dir, 'trace');
  const plan = writePlan(dir, {
    stages: { planning: [fixtureStep('s1', trace)], execution: [fixtureStep('s2', trace, { 'fail-attempts': 1 }, { retries: { max: 1, backoffMs: 0 } })] },
  });
  const out = join(dir, 'nightly');
  const first = await runCli([out, '--plan', plan, '--store', address]);
  expect(first.exitCode, first.stderr).toBe(0);
  const report = reportOf(out);
  expect(report).toMatchObject({ run_id: 'nightly', terminal_state: 'done' });
  expect(report.checkpoint_path).toMatch(shown);
  expect(existsSync(join(out, 'orchestrator_checkpoint.json'))).toBe(false);

  const again = await runCli([out, '--plan', plan, '--store', address, '--resume']);
  expect(again.exitCode).toBe(0);
  expect(startsOf(traceOf(trace))).toHaveLength(3);

  const other = await runCli([join(dir, 'elsewhere'), '--plan', plan, '--store', address, '--run-id', 'by-flag']);
  expect(other.exitCode).toBe(0);
  expect(reportOf(join(dir, 'elsewhere')).run_id).toBe('by-flag');

  const status = await runCli(['status', '--store', address, '--json']);
  expect(status.exitCode).toBe(0);
  const rows = status.stdout.trim().split('\n').map((line) => JSON.parse(line));
  expect(rows).toEqual([
    expect.objectContaining({ run_id: 'by-flag', state: 'done', steps: { 'planning/s1': { success: 1, failure: 0 }, 'execution/s2': { success: 1, failure: 1 } } }),
    expect.objectContaining({ run_id: 'nightly', state: 'done', steps: { 'planning/s1': { success: 1, failure: 0 }, 'execution/s2': { success: 1, failure: 1 } } }),
  ]);
  const exported = await runCli(['export', '--format', 'csv', '--what', 'executions', '--store', address]);
  // header + 3 records per run (the resume of a done run executes nothing)
  expect(exported.stdout.trimEnd().split('\n')).toHaveLength(7);
  return { first, status, exported };
}

/** A run blocked at an approval, approved by key in the store (no output directory), then resumed to the end. */
async function checkApproval(address: string) {
  const dir = tempDir('ao-approve-store-');
  const trace = join(dir, 'trace');
  const plan = writePlan(dir, { requireApproval: ['execution'], stages: { planning: [fixtureStep('p', trace)], execution: [fixtureStep('e', trace)] } });
  const out = join(dir, 'gated');
  const blocked = await runCli([out, '--plan', plan, '--store', address]);
  expect(blocked.exitCode, blocked.stderr).toBe(3);
  expect(reportOf(out).blocked).toEqual({ reason: 'approval_required', stage: 'execution', gate: 'stage:execution' });

  const approved = await runCli(['approve', '--store', address, '--run-id', 'gated', '--by', 'carol']);
  expect(approved.exitCode, approved.stderr).toBe(0);
  expect(approved.stdout).toContain('Approved stage:execution for run gated (by carol)');
  // Approving by the output directory's name finds the same run: a second approval of the same gate is recorded too.
  expect((await runCli(['approve', out, '--store', address, '--gate', 'stage:execution'])).exitCode).toBe(0);

  const resumed = await runCli([out, '--plan', plan, '--store', address, '--resume']);
  expect(resumed.exitCode, resumed.stderr).toBe(0);
  const report = reportOf(out);
  expect(report.terminal_state).toBe('done');
  expect(report.approvals.map((a: { gate: string; by: string }) => `${a.gate} ${a.by}`)).toEqual(['stage:execution carol', expect.stringMatching(/^stage:execution /)]);
  expect(startsOf(traceOf(trace)).map((line) => line.step)).toEqual(['p', 'e']);
  // The checkpoint never left the store.
  expect(existsSync(join(out, 'orchestrator_checkpoint.json'))).toBe(false);
}

describe('run --store', () => {
  it('file:DIR: the checkpoint at DIR/<key>/, the executions beside it', async () => {
    const state = tempDir('ao-state-');
    await checkStore(`file:${state}`, new RegExp(`^${state}/nightly/orchestrator_checkpoint.json$`));
    expect(existsSync(join(state, 'nightly', 'orchestrator_executions.jsonl'))).toBe(true);
  });

  it('a key that is not a run id, or --run-id without --store, is a usage error (exit 2)', async () => {
    const dir = tempDir('ao-run-store-bad-');
    const plan = writePlan(dir, { stages: {} });
    const bad = await runCli([join(dir, 'has space'), '--plan', plan, '--store', `file:${dir}/s`]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/give --run-id/);
    expect((await runCli([join(dir, 'o'), '--plan', plan, '--run-id', 'x'])).exitCode).toBe(2);
  });

  it('approve --store: a run blocked at an approval, approved by its key, resumes to done (file:DIR)', async () => {
    const state = tempDir('ao-state-');
    await checkApproval(`file:${state}`);
    // A key with no run: refused by name, and no directory is made for it.
    const missing = await runCli(['approve', '--store', `file:${state}`, '--run-id', 'nope']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr.trim()).toBe(`autonomy-orchestrator: cannot approve: no checkpoint at ${join(state, 'nope', 'orchestrator_checkpoint.json')}`);
    expect(existsSync(join(state, 'nope'))).toBe(false);
  });

  it('approve: --run-id without --store, --store with --checkpoint-path, or neither a directory nor a key, is a usage error (exit 2) naming the flag', async () => {
    const dir = tempDir('ao-approve-bad-');
    const cases: Array<[string[], RegExp]> = [
      [['approve', join(dir, 'o'), '--run-id', 'x'], /--run-id needs --store/],
      [['approve', join(dir, 'o'), '--store', `file:${dir}/s`, '--checkpoint-path', join(dir, 'c.json')], /--checkpoint-path cannot be used with --store/],
      [['approve', '--store', `file:${dir}/s`], /output_dir.*--store and --run-id/],
      [['approve'], /output_dir/],
    ];
    for (const [argv, message] of cases) {
      const result = await runCli(argv);
      expect(result.exitCode, argv.join(' ')).toBe(2);
      expect(result.stderr.split('\n')[0]).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describeWithServer('run --store postgres://…', pgUp, new URL(PG_DSN).host, () => {
  it('keeps the checkpoint in Postgres and never shows the password', async () => {
    const queue = await freshSchema();
    try {
      const address = queue.dsn.replace('postgres@', 'postgres:hunter2@');
      const { first, status, exported } = await checkStore(address, /^postgres:\/\/postgres:\*\*\*@.*#nightly$/);
      expect(first.stdout + first.stderr + status.stdout + exported.stdout).not.toContain('hunter2');
      expect((await queue.rows()).map((row) => row.run_id)).toEqual(['by-flag', 'nightly']);
    } finally {
      await queue.drop();
    }
  });

  it('approve --store: a run blocked at an approval, approved by its key, resumes to done', async () => {
    const queue = await freshSchema();
    try {
      await checkApproval(queue.dsn);
    } finally {
      await queue.drop();
    }
  });
});

describeWithServer('run --store redis://…', redisUp, new URL(REDIS_URL).host || '127.0.0.1:6379', () => {
  it('keeps the checkpoint in Redis', async () => {
    const prefix = `ao-run-${randomBytes(4).toString('hex')}:`;
    const admin = new Redis(REDIS_URL);
    try {
      await checkStore(`${REDIS_URL}?prefix=${prefix}`, /^redis:\/\/.*#nightly$/);
      expect(await admin.exists(`${prefix}ckpt:nightly`)).toBe(1);
      await checkApproval(`${REDIS_URL}?prefix=${prefix}`);
      expect(await admin.exists(`${prefix}ckpt:gated`)).toBe(1);
    } finally {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
  });

  it('a run killed with kill -9 on this host: --resume takes its lease at once; a live holder is named, with how long its lease has left', async () => {
    const prefix = `ao-run-${randomBytes(4).toString('hex')}:`;
    const address = `${REDIS_URL}?prefix=${prefix}`;
    const admin = new Redis(REDIS_URL);
    const dir = tempDir('ao-run-store-kill-');
    const trace = join(dir, 'trace');
    const plan = writePlan(dir, { stages: { planning: [fixtureStep('s1', trace)], execution: [fixtureStep('s2', trace, { 'sleep-first': 20_000 })] } });
    const out = join(dir, 'killed');
    try {
      const first = startCli([out, '--plan', plan, '--store', address]);
      await waitFor(() => startsOf(traceOf(trace), 's2').length === 1, 15_000, 's2 to start');
      const busy = await runCli([out, '--plan', plan, '--store', address, '--resume']);
      expect(busy.exitCode).toBe(1);
      expect(busy.stderr.trim()).toMatch(
        new RegExp(`^autonomy-orchestrator: run killed at .* is leased by [^ ]+:${first.child.pid} \\(a live process on this host\\); its lease expires in \\d+ s unless renewed: wait for it to end, or stop it$`),
      );
      first.child.kill('SIGKILL');
      await first.done;
      const resumed = await runCli([out, '--plan', plan, '--store', address, '--resume']);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(reportOf(out).terminal_state).toBe('done');
      expect(startsOf(traceOf(trace), 's1')).toHaveLength(1);
      // Every step of the run, the killed invocation's too, in the run's report and in status.
      const report = reportOf(out);
      const succeeded = [...report.earlier_stage_executions, ...report.stage_executions].filter((r: { status: string }) => r.status === 'success');
      expect(succeeded.map((r: { step: string }) => r.step)).toEqual(['s1', 's2']);
      const status = await runCli(['status', '--store', address, '--json']);
      expect(JSON.parse(status.stdout.trim()).steps).toEqual({ 'planning/s1': { success: 1, failure: 0 }, 'execution/s2': { success: 1, failure: 0 } });
    } finally {
      for (const line of traceOf(trace)) if (line.event === 'start') try { process.kill(line.pid); } catch { /* gone */ }
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
  }, 40_000);
});

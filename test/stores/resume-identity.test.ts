/**
 * A run whose checkpoint lives in Postgres or Redis (a worker's, or `run --store`) is resumed only
 * with the plan it started with: the checkpoint's `run_identity` travels with it, so another plan
 * is refused in one line and the stored checkpoint is left as it was (issue 16, item 3).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { expect, it } from 'vitest';
import { fixtureStep, startsOf, traceOf, writePlan } from '../plans/plan-runs.js';
import { runCli, tempDir } from '../support/cli.js';
import { PG_DSN, REDIS_URL, describeWithServer, reachable } from './servers.js';

const pgUp = await reachable(PG_DSN, 5432);
const redisUp = await reachable(REDIS_URL, 6379);

/** Fails in planning (first attempt), is refused with a changed plan, then resumes with its own. */
async function checkRefusal(address: string, stored: () => Promise<string | null>) {
  const dir = tempDir('ao-store-identity-');
  const trace = join(dir, 'trace');
  const plan = writePlan(dir, {
    stages: { planning: [fixtureStep('draft', trace, { 'fail-attempts': 1 })], execution: [fixtureStep('apply', trace)] },
  });
  const out = join(dir, 'out');
  const first = await runCli([out, '--plan', plan, '--store', address, '--run-id', 'nightly']);
  expect(first.exitCode).toBe(1);
  const before = await stored();
  expect(before).toContain('run_identity');

  const changed = writePlan(dir, { stages: { planning: [fixtureStep('other', trace)] } }, 'other.json');
  const refused = await runCli([out, '--plan', changed, '--store', address, '--run-id', 'nightly', '--resume']);
  expect(refused.exitCode).toBe(1);
  const lines = refused.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(plan);
  expect(refused.stderr).not.toMatch(/\n\s+at /);
  expect(await stored()).toBe(before);
  expect(startsOf(traceOf(trace)).map((s) => s.step)).toEqual(['draft']);

  const resumed = await runCli([out, '--plan', plan, '--store', address, '--run-id', 'nightly', '--resume']);
  expect(resumed.exitCode, resumed.stderr).toBe(0);
  expect(startsOf(traceOf(trace)).map((s) => `${s.step} ${s.attempt}`)).toEqual(['draft 1', 'draft 2', 'apply 1']);
}

describeWithServer('a store run resumed with another plan (Redis)', redisUp, new URL(REDIS_URL).host || '127.0.0.1:6379', () => {
  it('is refused in one line naming the plan it started with; the stored checkpoint stays as it was', async () => {
    const prefix = `ao-ident-${randomBytes(4).toString('hex')}:`;
    const admin = new Redis(REDIS_URL);
    try {
      await checkRefusal(`${REDIS_URL}?prefix=${prefix}`, () => admin.hget(`${prefix}ckpt:nightly`, 'document'));
    } finally {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      admin.disconnect();
    }
  });
});

describeWithServer('a store run resumed with another plan (Postgres)', pgUp, new URL(PG_DSN).host, () => {
  it('is refused in one line naming the plan it started with; the stored checkpoint stays as it was', async () => {
    const schema = `ao_ident_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_DSN });
    await admin.connect();
    try {
      const stored = async () =>
        (await admin.query<{ document: string | null }>(`SELECT document FROM "${schema}".orchestrator_runs WHERE run_id = 'nightly'`)).rows[0]?.document ?? null;
      await checkRefusal(`${PG_DSN}?schema=${schema}`, stored);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });
});

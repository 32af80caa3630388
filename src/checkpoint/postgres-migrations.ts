/**
 * The Postgres store's tables, created and upgraded by the tool itself. Each migration runs once,
 * in a transaction, under an advisory lock so that workers starting together do not race.
 */
import type { Pool } from 'pg';

const MIGRATIONS: { version: number; sql: (schema: string) => string }[] = [
  {
    version: 1,
    sql: (s) => `
      CREATE TABLE ${s}.orchestrator_runs (
        run_id           text PRIMARY KEY,
        document         text,
        sha256           text,
        revision         bigint NOT NULL DEFAULT 0,
        lease_owner      text,
        lease_token      bigint NOT NULL DEFAULT 0,
        lease_expires_at timestamptz,
        state            text,
        plan             jsonb,
        worker           text,
        claims           integer NOT NULL DEFAULT 0,
        submitted_at     timestamptz,
        claimed_at       timestamptz,
        finished_at      timestamptz,
        updated_at       timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX orchestrator_runs_queue ON ${s}.orchestrator_runs (submitted_at) WHERE state IN ('queued', 'running');`,
  },
  {
    // What each invocation of a run executed (src/report/execution-log.ts): status and export read it.
    version: 2,
    sql: (s) => `
      CREATE TABLE ${s}.orchestrator_executions (
        seq         bigserial PRIMARY KEY,
        run_id      text NOT NULL,
        worker      text,
        record      jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX orchestrator_executions_run ON ${s}.orchestrator_executions (run_id, seq);`,
  },
];

export const LATEST_MIGRATION = MIGRATIONS.at(-1)!.version;

export async function migrate(pool: Pool, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`autonomy-orchestrator:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.orchestrator_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.orchestrator_migrations`);
    const applied = new Set(rows.map((row) => row.version));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql(s));
      await client.query(`INSERT INTO ${s}.orchestrator_migrations (version) VALUES ($1)`, [migration.version]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

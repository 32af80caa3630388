import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresCheckpointStore } from '../../src/checkpoint/postgres-store.js';
import { storeContract } from './contract.js';
import { PG_DSN, describeWithServer, reachable } from './servers.js';

const up = await reachable(PG_DSN, 5432);

describeWithServer('CheckpointStore contract: Postgres store', up, new URL(PG_DSN).host || '127.0.0.1:5432', () => {
  storeContract(async () => {
    // Each test in a schema of its own, made by the store's own migration.
    const schema = `ao_test_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_DSN });
    await admin.connect();
    const table = `"${schema}".orchestrator_runs`;
    return {
      store: new PostgresCheckpointStore(`${PG_DSN}?schema=${schema}`),
      raw: async (runId) => (await admin.query(`SELECT document FROM ${table} WHERE run_id = $1`, [runId])).rows[0]?.document ?? null,
      tamper: async (runId, text) => {
        await admin.query(`UPDATE ${table} SET document = $2 WHERE run_id = $1`, [runId, text]);
      },
      cleanup: async () => {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      },
    };
  });
});

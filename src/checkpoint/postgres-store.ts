/**
 * Checkpoints in Postgres: one row per run in `orchestrator_runs` (created by the tool's own
 * migrations), the checkpoint as its exact canonical text beside its sha256, a revision for
 * compare-and-swap and a lease (owner, token, expiry by the server's clock) for fencing.
 * (The columns state … finished_at are those of the Postgres work queue of earlier versions, now
 * unused: the queue is BullMQ on Redis, src/queue/. They are kept, not dropped, so that an older
 * version can still finish the runs it queued there.)
 */
import pg from 'pg';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { canonicalJson, seal, unsealText } from './integrity.js';
import { KeyedCheckpointStore } from './keyed-store.js';
import { migrate, quoteIdent } from './postgres-migrations.js';
import type { Checkpoint } from './schema.js';
import type { CheckpointStore, Lease, LeaseHolder, StoredCheckpoint, StoredRunEntry, WriteOptions } from './store.js';
import { CheckpointConflictError, LeaseLostError, checkRunId } from './store-errors.js';
import { redactUrl, takeParam } from './store-url.js';

export class PostgresCheckpointStore extends KeyedCheckpointStore implements CheckpointStore {
  readonly location: string;
  readonly pool: pg.Pool;
  /** `"schema".orchestrator_runs`, quoted. */
  readonly table: string;
  /** `"schema".orchestrator_executions`, quoted. */
  readonly executionsTable: string;
  private readonly schema: string;
  private ready: Promise<void> | null = null;

  constructor(address: string, options: { maxConnections?: number } = {}) {
    super();
    const { address: dsn, value: schema } = takeParam(address, 'schema', 'public', /^[A-Za-z_][A-Za-z0-9_]{0,62}$/);
    this.location = redactUrl(address);
    this.schema = schema;
    this.table = `${quoteIdent(schema)}.orchestrator_runs`;
    this.executionsTable = `${quoteIdent(schema)}.orchestrator_executions`;
    this.pool = new pg.Pool({ connectionString: dsn, max: options.maxConnections ?? 4, connectionTimeoutMillis: 5_000 });
    // An idle connection that breaks (server restart) must not crash the process.
    this.pool.on('error', () => {});
  }

  /** Runs the migrations once per store; every verb waits for it. */
  async query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.ready ??= migrate(this.pool, this.schema).catch((error: unknown) => {
      this.ready = null;
      throw new OrchestratorError(`cannot use store ${this.location}: ${(error as Error).message}`, EXIT.failed);
    });
    await this.ready;
    return this.pool.query<R>(sql, values);
  }

  async read(runId: string): Promise<StoredCheckpoint | null> {
    checkRunId(runId);
    const { rows } = await this.query<{ document: string | null; sha256: string | null; revision: string }>(
      `SELECT document, sha256, revision FROM ${this.table} WHERE run_id = $1`,
      [runId],
    );
    const row = rows[0];
    if (!row || row.document === null) return null;
    return { runId, ...this.unseal(runId, row.document, row.sha256) };
  }

  private unseal(runId: string, document: string, sha256: string | null): { checkpoint: Checkpoint; revision: number } {
    const where = `${this.location}#${runId}`;
    const unsealed = unsealText(document, where, { legacy: false });
    // The row's digest column must agree with the document's own.
    const inDocument = (JSON.parse(document) as { integrity: { sha256: string } }).integrity.sha256;
    if (sha256 !== inDocument) {
      throw new OrchestratorError(`cannot read checkpoint ${where}: the sha256 column does not match the document; it was left as it is`, EXIT.failed);
    }
    return unsealed;
  }

  async write(runId: string, checkpoint: Checkpoint, options: WriteOptions): Promise<number> {
    checkRunId(runId);
    const next = options.revision + 1;
    const sealed = seal(checkpoint, next);
    const document = canonicalJson(sealed);
    const values = [runId, document, sealed.integrity.sha256, options.revision];
    const result =
      options.leaseToken === undefined
        ? await this.query<{ revision: string }>(
            `INSERT INTO ${this.table} AS r (run_id, document, sha256, revision) VALUES ($1, $2, $3, $4 + 1)
             ON CONFLICT (run_id) DO UPDATE SET document = EXCLUDED.document, sha256 = EXCLUDED.sha256, revision = EXCLUDED.revision, updated_at = now()
             WHERE r.revision = $4 AND (r.lease_owner IS NULL OR r.lease_expires_at <= now())
             RETURNING r.revision`,
            values,
          )
        : await this.query<{ revision: string }>(
            `UPDATE ${this.table} SET document = $2, sha256 = $3, revision = $4 + 1, updated_at = now()
             WHERE run_id = $1 AND revision = $4 AND lease_token = $5 AND lease_owner IS NOT NULL AND lease_expires_at > now()
             RETURNING revision`,
            [...values, options.leaseToken],
          );
    if (result.rowCount === 1) return next;
    throw await this.whyRefused(runId, options);
  }

  private async whyRefused(runId: string, options: WriteOptions): Promise<CheckpointConflictError> {
    const where = `${this.location}#${runId}`;
    const { rows } = await this.query<{ revision: string; lease_token: string; live: boolean }>(
      `SELECT revision, lease_token, (lease_owner IS NOT NULL AND lease_expires_at > now()) AS live FROM ${this.table} WHERE run_id = $1`,
      [runId],
    );
    const row = rows[0];
    const revision = Number(row?.revision ?? 0);
    if (options.leaseToken !== undefined && (!row || !row.live || Number(row.lease_token) !== options.leaseToken)) {
      return new CheckpointConflictError(where, 'fenced', `lease token ${options.leaseToken} is no longer the live lease (now ${row?.lease_token ?? 'none'}${row?.live ? '' : ', expired'})`);
    }
    if (revision !== options.revision) return new CheckpointConflictError(where, 'revision', `it is at revision ${revision}, not ${options.revision}`);
    return new CheckpointConflictError(where, 'fenced', `the run is leased (token ${row?.lease_token}); only the lease holder may write`);
  }

  async list(): Promise<StoredRunEntry[]> {
    const { rows } = await this.query<{ run_id: string; document: string; sha256: string | null }>(
      `SELECT run_id, document, sha256 FROM ${this.table} WHERE document IS NOT NULL ORDER BY run_id`,
    );
    const entries: StoredRunEntry[] = [];
    for (const row of rows) {
      try {
        const { checkpoint, revision } = this.unseal(row.run_id, row.document, row.sha256);
        entries.push({ runId: row.run_id, revision, terminalState: checkpoint.terminal_state, updatedAtUnixSecs: checkpoint.updated_at_unix_secs });
      } catch {
        // `read` names what is wrong with it; a listing goes on
      }
    }
    return entries;
  }

  async delete(runId: string, options: { revision?: number } = {}): Promise<boolean> {
    checkRunId(runId);
    const result = await this.query(
      `DELETE FROM ${this.table} WHERE run_id = $1 AND document IS NOT NULL AND ($2::bigint IS NULL OR revision = $2)`,
      [runId, options.revision ?? null],
    );
    return result.rowCount === 1;
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, options: { takeOver?: boolean } = {}): Promise<Lease | null> {
    checkRunId(runId);
    const { rows } = await this.query<{ lease_token: string; expires_ms: string }>(
      `INSERT INTO ${this.table} AS r (run_id, lease_owner, lease_token, lease_expires_at)
       VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
       ON CONFLICT (run_id) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_token = r.lease_token + 1, lease_expires_at = EXCLUDED.lease_expires_at
       WHERE $4 OR r.lease_owner IS NULL OR r.lease_expires_at <= now()
       RETURNING r.lease_token, (extract(epoch FROM r.lease_expires_at) * 1000)::bigint AS expires_ms`,
      [runId, owner, ttlMs, options.takeOver === true],
    );
    const row = rows[0];
    return row ? { runId, owner, token: Number(row.lease_token), expiresAtMs: Number(row.expires_ms) } : null;
  }

  async leaseHolder(runId: string): Promise<LeaseHolder | null> {
    checkRunId(runId);
    const { rows } = await this.query<{ lease_owner: string; lease_token: string; expires_in_ms: string }>(
      `SELECT lease_owner, lease_token, (extract(epoch FROM lease_expires_at - now()) * 1000)::bigint AS expires_in_ms
       FROM ${this.table} WHERE run_id = $1 AND lease_owner IS NOT NULL AND lease_expires_at > now()`,
      [runId],
    );
    const row = rows[0];
    return row ? { owner: row.lease_owner, token: Number(row.lease_token), expiresInMs: Number(row.expires_in_ms) } : null;
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    const { rows } = await this.query<{ expires_ms: string }>(
      `UPDATE ${this.table} SET lease_expires_at = now() + $3 * interval '1 millisecond'
       WHERE run_id = $1 AND lease_token = $2 AND lease_owner IS NOT NULL AND lease_expires_at > now()
       RETURNING (extract(epoch FROM lease_expires_at) * 1000)::bigint AS expires_ms`,
      [lease.runId, lease.token, ttlMs],
    );
    const row = rows[0];
    if (!row) throw new LeaseLostError(this.location, lease.runId, lease.token);
    return { ...lease, expiresAtMs: Number(row.expires_ms) };
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.query(`UPDATE ${this.table} SET lease_owner = NULL, lease_expires_at = NULL WHERE run_id = $1 AND lease_token = $2`, [
      lease.runId,
      lease.token,
    ]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}


/**
 * The work queue: the Postgres store's rows with a plan and a state. `submit` adds a row; a
 * worker claims the oldest claimable row with `FOR UPDATE SKIP LOCKED` (workers never wait on each
 * other's claims), which takes the run's lease in the same statement. A row is claimable when it
 * is queued, or running under a lease that expired (its worker died or stalled).
 */
import type { PostgresCheckpointStore } from '../checkpoint/postgres-store.js';
import type { Lease } from '../checkpoint/store.js';
import type { Plan } from '../plan/schema.js';

export type QueueState = 'queued' | 'running' | 'done' | 'failed' | 'blocked' | 'timeout';

export interface ClaimedRun {
  runId: string;
  plan: Plan;
  lease: Lease;
  /** How many times the run has been claimed, this claim included. */
  claims: number;
  /** The run was running under another claim whose lease expired (its worker died or stalled). */
  takeover: boolean;
}

export interface QueuedRunRow {
  runId: string;
  state: QueueState | null;
  worker: string | null;
  claims: number;
  submittedAt: Date | null;
  claimedAt: Date | null;
  finishedAt: Date | null;
  leaseLive: boolean;
}

export class RunQueue {
  constructor(readonly store: PostgresCheckpointStore) {}

  async submit(runId: string, plan: Plan): Promise<void> {
    await this.store.query(`INSERT INTO ${this.store.table} (run_id, state, plan, submitted_at) VALUES ($1, 'queued', $2, now())`, [runId, JSON.stringify(plan)]);
  }

  async claim(worker: string, leaseMs: number): Promise<ClaimedRun | null> {
    const t = this.store.table;
    const { rows } = await this.store.query<{ run_id: string; plan: Plan; lease_token: string; expires_ms: string; claims: number; previous_state: string }>(
      `WITH next AS (
         SELECT run_id, state AS previous_state FROM ${t}
         WHERE state IN ('queued', 'running') AND (lease_owner IS NULL OR lease_expires_at <= now())
         ORDER BY submitted_at, run_id
         LIMIT 1
         FOR UPDATE SKIP LOCKED)
       UPDATE ${t} AS r SET lease_owner = $1, lease_token = r.lease_token + 1, lease_expires_at = now() + $2 * interval '1 millisecond',
         state = 'running', worker = $1, claims = r.claims + 1, claimed_at = now(), updated_at = now()
       FROM next WHERE r.run_id = next.run_id
       RETURNING r.run_id, r.plan, r.lease_token, (extract(epoch FROM r.lease_expires_at) * 1000)::bigint AS expires_ms, r.claims, next.previous_state`,
      [worker, leaseMs],
    );
    const row = rows[0];
    if (!row) return null;
    const lease = { runId: row.run_id, owner: worker, token: Number(row.lease_token), expiresAtMs: Number(row.expires_ms) };
    return { runId: row.run_id, plan: row.plan, lease, claims: row.claims, takeover: row.previous_state === 'running' };
  }

  /** Records the run's end and gives its lease back; false when the lease was no longer ours. */
  async finish(lease: Lease, state: Exclude<QueueState, 'queued' | 'running'>): Promise<boolean> {
    const result = await this.store.query(
      `UPDATE ${this.store.table} SET state = $3, finished_at = now(), lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE run_id = $1 AND lease_token = $2 AND lease_owner IS NOT NULL`,
      [lease.runId, lease.token, state],
    );
    return result.rowCount === 1;
  }

  /**
   * A queued run that stopped `blocked` at an approval, approved since (`approve --store`): queued
   * again, so that a worker resumes it. False when the run is not a queued one stopped blocked.
   */
  async requeueBlocked(runId: string): Promise<boolean> {
    const result = await this.store.query(
      `UPDATE ${this.store.table} SET state = 'queued', finished_at = NULL, updated_at = now()
       WHERE run_id = $1 AND state = 'blocked' AND lease_owner IS NULL`,
      [runId],
    );
    return result.rowCount === 1;
  }

  /** A worker stopping hands its run back: queued again, claimable at once. */
  async handBack(lease: Lease): Promise<boolean> {
    const result = await this.store.query(
      `UPDATE ${this.store.table} SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE run_id = $1 AND lease_token = $2 AND lease_owner IS NOT NULL`,
      [lease.runId, lease.token],
    );
    return result.rowCount === 1;
  }

  async runs(): Promise<QueuedRunRow[]> {
    const { rows } = await this.store.query<{
      run_id: string;
      state: QueueState | null;
      worker: string | null;
      claims: number;
      submitted_at: Date | null;
      claimed_at: Date | null;
      finished_at: Date | null;
      lease_live: boolean;
    }>(
      `SELECT run_id, state, worker, claims, submitted_at, claimed_at, finished_at,
              (lease_owner IS NOT NULL AND lease_expires_at > now()) AS lease_live
       FROM ${this.store.table} WHERE state IS NOT NULL ORDER BY submitted_at, run_id`,
    );
    return rows.map((row) => ({
      runId: row.run_id,
      state: row.state,
      worker: row.worker,
      claims: row.claims,
      submittedAt: row.submitted_at,
      claimedAt: row.claimed_at,
      finishedAt: row.finished_at,
      leaseLive: row.lease_live,
    }));
  }
}

/**
 * Checkpoints in Redis. Run R's checkpoint is the hash `<prefix>ckpt:R` {document, sha256,
 * revision}; its lease the hash `<prefix>lease:R` {owner, token} that expires by itself (PEXPIRE);
 * `<prefix>token:R` counts lease tokens so they only grow; `<prefix>runs` lists the runs.
 * Every check-then-write is one Lua script, so it is atomic on the server.
 */
import { Redis } from 'ioredis';
import { canonicalJson, seal, unsealText } from './integrity.js';
import { KeyedCheckpointStore } from './keyed-store.js';
import type { Checkpoint } from './schema.js';
import type { CheckpointStore, Lease, LeaseHolder, StoredCheckpoint, StoredRunEntry, WriteOptions } from './store.js';
import { CheckpointConflictError, LeaseLostError, checkRunId } from './store-errors.js';
import { redactUrl, takeParam } from './store-url.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';

// KEYS: ckpt, lease, runs. ARGV: expected revision, lease token ('' for none), document, sha256, run id.
// Returns {1, new revision} | {0, current revision} (revision lost) | {-1, live token or 0} (fenced).
const WRITE = `
local rev = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
local token = redis.call('HGET', KEYS[2], 'token')
if ARGV[2] ~= '' then
  if token ~= ARGV[2] then return {-1, tonumber(token or '0')} end
elseif token then
  return {-1, tonumber(token)}
end
if rev ~= tonumber(ARGV[1]) then return {0, rev} end
redis.call('HSET', KEYS[1], 'document', ARGV[3], 'sha256', ARGV[4], 'revision', rev + 1)
redis.call('SADD', KEYS[3], ARGV[5])
return {1, rev + 1}`;

// KEYS: lease, token counter. ARGV: owner, ttl ms, '1' to take over. Returns the new token, or 0 while leased.
const ACQUIRE = `
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token`;

// KEYS: lease. ARGV: token, ttl ms. Returns 1 when renewed.
const RENEW = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// KEYS: lease, list. ARGV: token ('' for none), values... Returns 1 when appended, 0 when fenced.
const APPEND = `
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], unpack(ARGV, 2))
return 1`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

// KEYS: ckpt, lease, runs. ARGV: revision ('' for any), run id.
const DELETE = `
local rev = redis.call('HGET', KEYS[1], 'revision')
if not rev then return 0 end
if ARGV[1] ~= '' and rev ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[2])
return 1`;

export class RedisCheckpointStore extends KeyedCheckpointStore implements CheckpointStore {
  readonly location: string;
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(address: string) {
    super();
    const { address: url, value: prefix } = takeParam(address, 'prefix', 'orchestrator:', /^[A-Za-z0-9_:.{}-]{1,64}$/);
    this.location = redactUrl(address);
    this.prefix = prefix;
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 3_000, enableOfflineQueue: true });
    this.redis.on('error', () => {}); // reported by the command that fails
  }

  private key(kind: string, runId: string): string {
    checkRunId(runId);
    return `${this.prefix}${kind}:${runId}`;
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      if (this.redis.status === 'wait') await this.redis.connect();
      return await run();
    } catch (error) {
      if (error instanceof OrchestratorError) throw error;
      throw new OrchestratorError(`cannot use store ${this.location}: ${(error as Error).message}`, EXIT.failed);
    }
  }

  async read(runId: string): Promise<StoredCheckpoint | null> {
    const key = this.key('ckpt', runId);
    const [document, sha256] = await this.call(() => this.redis.hmget(key, 'document', 'sha256'));
    if (document === null || document === undefined) return null;
    const where = `${this.location}#${runId}`;
    const unsealed = unsealText(document, where, { legacy: false });
    if (sha256 !== (JSON.parse(document) as { integrity: { sha256: string } }).integrity.sha256) {
      throw new OrchestratorError(`cannot read checkpoint ${where}: the sha256 field does not match the document; it was left as it is`, EXIT.failed);
    }
    return { runId, ...unsealed };
  }

  async write(runId: string, checkpoint: Checkpoint, options: WriteOptions): Promise<number> {
    const sealed = seal(checkpoint, options.revision + 1);
    const keys = [this.key('ckpt', runId), this.key('lease', runId), `${this.prefix}runs`];
    const args = [String(options.revision), options.leaseToken === undefined ? '' : String(options.leaseToken), canonicalJson(sealed), sealed.integrity.sha256, runId];
    const [outcome, value] = await this.call(() => this.redis.eval(WRITE, keys.length, ...keys, ...args) as Promise<[number, number]>);
    if (outcome === 1) return value;
    const where = `${this.location}#${runId}`;
    if (outcome === 0) throw new CheckpointConflictError(where, 'revision', `it is at revision ${value}, not ${options.revision}`);
    if (options.leaseToken !== undefined) {
      throw new CheckpointConflictError(where, 'fenced', `lease token ${options.leaseToken} is no longer the live lease (now ${value || 'none'})`);
    }
    throw new CheckpointConflictError(where, 'fenced', `the run is leased (token ${value}); only the lease holder may write`);
  }

  async list(): Promise<StoredRunEntry[]> {
    const runIds = (await this.call(() => this.redis.smembers(`${this.prefix}runs`))).sort();
    const entries: StoredRunEntry[] = [];
    for (const runId of runIds) {
      const stored = await this.read(runId).catch(() => null);
      if (!stored) continue;
      entries.push({ runId, revision: stored.revision, terminalState: stored.checkpoint.terminal_state, updatedAtUnixSecs: stored.checkpoint.updated_at_unix_secs });
    }
    return entries;
  }

  async delete(runId: string, options: { revision?: number } = {}): Promise<boolean> {
    const keys = [this.key('ckpt', runId), this.key('lease', runId), `${this.prefix}runs`];
    const args = [options.revision === undefined ? '' : String(options.revision), runId];
    return (await this.call(() => this.redis.eval(DELETE, keys.length, ...keys, ...args))) === 1;
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, options: { takeOver?: boolean } = {}): Promise<Lease | null> {
    const keys = [this.key('lease', runId), this.key('token', runId)];
    const expiresAtMs = Date.now() + ttlMs;
    const token = Number(await this.call(() => this.redis.eval(ACQUIRE, keys.length, ...keys, owner, String(ttlMs), options.takeOver ? '1' : '0')));
    return token === 0 ? null : { runId, owner, token, expiresAtMs };
  }

  async leaseHolder(runId: string): Promise<LeaseHolder | null> {
    const key = this.key('lease', runId);
    const [[, fields], [, ttl]] = (await this.call(() => this.redis.multi().hgetall(key).pttl(key).exec())) as [[unknown, Record<string, string>], [unknown, number]];
    if (!fields.owner || ttl < 0) return null;
    return { owner: fields.owner, token: Number(fields.token), expiresInMs: ttl };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    const expiresAtMs = Date.now() + ttlMs;
    const renewed = await this.call(() => this.redis.eval(RENEW, 1, this.key('lease', lease.runId), String(lease.token), String(ttlMs)));
    if (renewed !== 1) throw new LeaseLostError(this.location, lease.runId, lease.token);
    return { ...lease, expiresAtMs };
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.call(() => this.redis.eval(RELEASE, 1, this.key('lease', lease.runId), String(lease.token)));
  }

  /**
   * Appends to the list `<prefix><kind>:<run id>` (the execution log, src/report/execution-log.ts);
   * with `leaseToken`, only while that lease is the live one (false when it is not).
   */
  async appendList(kind: string, runId: string, values: string[], leaseToken?: number): Promise<boolean> {
    if (values.length === 0) return true;
    const keys = [this.key('lease', runId), this.key(kind, runId)];
    const token = leaseToken === undefined ? '' : String(leaseToken);
    return (await this.call(() => this.redis.eval(APPEND, keys.length, ...keys, token, ...values))) === 1;
  }

  async readList(kind: string, runId: string): Promise<string[]> {
    const key = this.key(kind, runId);
    return this.call(() => this.redis.lrange(key, 0, -1));
  }

  async close(): Promise<void> {
    if (this.redis.status === 'wait') return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}


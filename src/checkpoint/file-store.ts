/**
 * The default store: one lowdb JSON document per run, written durably, with a lock file beside it.
 * Run `R`'s checkpoint is `<root>/<R>/<file name>`; the store made for a checkpoint path
 * `<root>/<dir>/<file name>` holds that run as `<dir>`, so `list` sees the runs beside it.
 * Compare-and-swap and leases are guarded by a short-lived mutex file beside each checkpoint.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Low } from 'lowdb';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { DurableJSONFile } from './durable-json-file.js';
import { writeFileDurably, removeStaleTempFiles } from './durable-write.js';
import { seal, unseal, unsealText } from './integrity.js';
import { acquireLockFile } from './lock-file.js';
import { withMutexFile } from './mutex-file.js';
import { describeIoError } from './parse.js';
import type { Checkpoint } from './schema.js';
import type { CheckpointLock, CheckpointStore, Lease, LeaseHolder, StoredCheckpoint, StoredRunEntry, WriteOptions } from './store.js';
import { CheckpointConflictError, LeaseLostError, checkRunId } from './store-errors.js';

export const DEFAULT_CHECKPOINT_FILE = 'orchestrator_checkpoint.json';

interface LeaseFile {
  owner: string | null;
  token: number;
  expires_at_ms: number;
}

export class FileCheckpointStore implements CheckpointStore {
  private readonly db: Low<Checkpoint | null>;
  private readonly root: string;
  private readonly fileName: string;
  private revision = 0;

  constructor(readonly path: string) {
    this.db = new Low<Checkpoint | null>(new DurableJSONFile<Checkpoint | null>(path), null);
    this.root = dirname(dirname(path));
    this.fileName = basename(path);
  }

  /** The store behind `--store file:DIR`: runs at `DIR/<run id>/orchestrator_checkpoint.json`. */
  static inDirectory(dir: string): FileCheckpointStore {
    return new FileCheckpointStore(join(dir, 'default', DEFAULT_CHECKPOINT_FILE));
  }

  get location(): string {
    return this.path;
  }

  /** The directory holding one directory per run. */
  get rootDir(): string {
    return this.root;
  }

  async lock(options: { killGraceMs?: number } = {}): Promise<CheckpointLock> {
    const lockPath = `${this.path}.lock`;
    const lock = await acquireLockFile(lockPath, options.killGraceMs ?? 2_000);
    // The checkpoint's and the lock's, left by killed processes.
    removeStaleTempFiles(this.path, lockPath);
    return lock;
  }

  async load(): Promise<Checkpoint | null> {
    try {
      await this.db.read();
    } catch (error) {
      const reason =
        error instanceof SyntaxError ? 'it is not valid JSON' : error instanceof TypeError ? 'it is not valid UTF-8' : describeIoError(error);
      throw new OrchestratorError(`cannot read checkpoint ${this.path}: ${reason}; the file was left as it is`, EXIT.failed);
    }
    if (this.db.data === null) return null;
    const { checkpoint, revision } = unseal(this.db.data, this.path, { legacy: true });
    this.revision = revision;
    return checkpoint;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    // The lock file makes this run the only writer: no compare-and-swap needed here.
    this.revision += 1;
    this.db.data = seal(checkpoint, this.revision);
    await this.db.write();
  }

  /** The raw bytes, for callers that must prove a file was left untouched. */
  readRaw(): Buffer | null {
    try {
      return readFileSync(this.path);
    } catch {
      return null;
    }
  }

  /** Where run `runId`'s checkpoint lives in this store. */
  fileOf(runId: string): string {
    checkRunId(runId);
    return join(this.root, runId, this.fileName);
  }

  async read(runId: string): Promise<StoredCheckpoint | null> {
    const path = this.fileOf(runId);
    const text = readText(path);
    if (text === null) return null;
    const { checkpoint, revision } = unsealText(text, path, { legacy: true });
    return { runId, revision, checkpoint };
  }

  async write(runId: string, checkpoint: Checkpoint, options: WriteOptions): Promise<number> {
    const path = this.fileOf(runId);
    mkdirSync(dirname(path), { recursive: true });
    return withMutexFile(`${path}.mutex`, () => {
      const text = readText(path);
      // A torn or tampered file throws here: it is never overwritten.
      const current = text === null ? 0 : unsealText(text, path, { legacy: true }).revision;
      if (current !== options.revision) {
        throw new CheckpointConflictError(path, 'revision', `it is at revision ${current}, not ${options.revision}`);
      }
      checkFence(path, readLease(`${path}.lease`), options.leaseToken);
      writeFileDurably(path, `${JSON.stringify(seal(checkpoint, current + 1), null, 2)}\n`);
      return current + 1;
    });
  }

  async list(): Promise<StoredRunEntry[]> {
    const entries: StoredRunEntry[] = [];
    for (const runId of listDirs(this.root)) {
      const stored = await this.read(runId).catch(() => null);
      if (!stored) continue;
      entries.push({
        runId,
        revision: stored.revision,
        terminalState: stored.checkpoint.terminal_state,
        updatedAtUnixSecs: stored.checkpoint.updated_at_unix_secs,
      });
    }
    return entries.sort((a, b) => a.runId.localeCompare(b.runId));
  }

  async delete(runId: string, options: { revision?: number } = {}): Promise<boolean> {
    const path = this.fileOf(runId);
    if (readText(path) === null) return false;
    return withMutexFile(`${path}.mutex`, () => {
      const text = readText(path);
      if (text === null) return false;
      if (options.revision !== undefined && unsealText(text, path, { legacy: true }).revision !== options.revision) return false;
      rmSync(path, { force: true });
      rmSync(`${path}.lease`, { force: true });
      return true;
    });
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, options: { takeOver?: boolean } = {}): Promise<Lease | null> {
    const path = this.fileOf(runId);
    mkdirSync(dirname(path), { recursive: true });
    return withMutexFile(`${path}.mutex`, () => {
      const current = readLease(`${path}.lease`);
      if (!options.takeOver && current && current.owner !== null && current.expires_at_ms > Date.now()) return null;
      const next: LeaseFile = { owner, token: (current?.token ?? 0) + 1, expires_at_ms: Date.now() + ttlMs };
      writeFileDurably(`${path}.lease`, JSON.stringify(next));
      return { runId, owner, token: next.token, expiresAtMs: next.expires_at_ms };
    });
  }

  async leaseHolder(runId: string): Promise<LeaseHolder | null> {
    const current = readLease(`${this.fileOf(runId)}.lease`);
    const expiresInMs = (current?.expires_at_ms ?? 0) - Date.now();
    return current && current.owner !== null && expiresInMs > 0 ? { owner: current.owner, token: current.token, expiresInMs } : null;
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    const path = this.fileOf(lease.runId);
    return withMutexFile(`${path}.mutex`, () => {
      const current = readLease(`${path}.lease`);
      if (!isLive(current, lease.token)) throw new LeaseLostError(path, lease.runId, lease.token);
      const next: LeaseFile = { owner: lease.owner, token: lease.token, expires_at_ms: Date.now() + ttlMs };
      writeFileDurably(`${path}.lease`, JSON.stringify(next), { durable: false });
      return { ...lease, expiresAtMs: next.expires_at_ms };
    });
  }

  async releaseLease(lease: Lease): Promise<void> {
    const path = this.fileOf(lease.runId);
    await withMutexFile(`${path}.mutex`, () => {
      const current = readLease(`${path}.lease`);
      if (current?.token !== lease.token || current.owner === null) return;
      writeFileDurably(`${path}.lease`, JSON.stringify({ owner: null, token: lease.token, expires_at_ms: 0 }));
    });
  }

  async close(): Promise<void> {}
}

function isLive(lease: LeaseFile | null, token: number): boolean {
  return lease !== null && lease.token === token && lease.owner !== null && lease.expires_at_ms > Date.now();
}

/** A fenced write needs its lease to be the live one; an unfenced one, no live lease at all. */
function checkFence(path: string, lease: LeaseFile | null, token: number | undefined): void {
  if (token !== undefined) {
    if (!isLive(lease, token)) {
      throw new CheckpointConflictError(path, 'fenced', `lease token ${token} is no longer the live lease (now ${lease?.token ?? 'none'})`);
    }
    return;
  }
  if (lease && lease.owner !== null && lease.expires_at_ms > Date.now()) {
    throw new CheckpointConflictError(path, 'fenced', `the run is leased (token ${lease.token}); only the lease holder may write`);
  }
}

function readLease(path: string): LeaseFile | null {
  const text = readText(path);
  if (text === null) return null;
  try {
    return JSON.parse(text) as LeaseFile;
  } catch {
    // A torn lease file grants nothing, but keeps its token from being reused.
    return { owner: null, token: Number.MAX_SAFE_INTEGER - 1, expires_at_ms: 0 };
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new OrchestratorError(`cannot read checkpoint ${path}: ${describeIoError(error)}`, EXIT.failed);
  }
}

function listDirs(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/**
 * The default store: one lowdb JSON document per run, written durably, with a lock file beside it.
 * Run `R`'s checkpoint is `<root>/<R>/<file name>`; the store made for a checkpoint path
 * `<root>/<dir>/<file name>` holds that run as `<dir>`, so `list` sees the runs beside it.
 * Compare-and-swap and leases are guarded by a short-lived mutex file beside each checkpoint.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Low } from 'lowdb';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { CheckpointJournal, journalPathOf, newestJournalEntry, restoreCarried } from './durable-journal.js';
import { DurableJSONFile, jsonDocumentText } from './durable-json-file.js';
import { writeFileDurably, removeStaleTempFiles } from './durable-write.js';
import { type Integrity, seal, unseal, unsealText } from './integrity.js';
import { monotonicMs } from '../run/clock.js';
import { acquireLockFile } from './lock-file.js';
import { withMutexFile } from './mutex-file.js';
import { describeIoError } from './parse.js';
import type { Checkpoint } from './schema.js';
import type { AppendCarrier, CheckpointLock, CheckpointStore, Lease, LeaseHolder, SaveHints, StoredCheckpoint, StoredRunEntry, WriteOptions } from './store.js';
import { CheckpointConflictError, LeaseLostError, checkRunId } from './store-errors.js';

export const DEFAULT_CHECKPOINT_FILE = 'orchestrator_checkpoint.json';

/** Past this many bytes of journal, the next checkpoint is written whole and the journal emptied. */
const JOURNAL_LIMIT = 1024 * 1024;
/**
 * While the journal holds checkpoints the file does not, the file is brought up to date (atomically,
 * not durably: the journal is what makes them durable) at most once per this long, or per 20 times
 * the last such write: someone watching the file sees a step's progress within a quarter second.
 */
const REFRESH_MIN_MS = 250;
const REFRESH_FACTOR = 20;

type Sealed = Checkpoint & { integrity: Integrity };
type Unsealed = { checkpoint: Checkpoint; revision: number };

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
  /** While this store writes a run: the journal (durable-journal.ts), the machine state the file was last written whole at, and the newest document only the journal holds. */
  private journal: CheckpointJournal | null = null;
  private wholeAt = '';
  private journaledOnly: Sealed | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  /** The spacing counts from the store's start too: a short run never refreshes, its lock's release writes the file. */
  private lastRefreshAt = monotonicMs();
  private lastRefreshMs = 0;
  /** The file whose appends the journal carries (the run's records log): synced before the journal is emptied. */
  private carrier: AppendCarrier | null = null;
  /** Set while this store holds its run's lock: `restoreAppends` may then repair what the journal carried. */
  private locked = false;
  /** The run `load` found. */
  private loadedRunId: string | null = null;
  readonly carriesAppends = true;

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
    // Nobody holding the lock: the checkpoint file holds the run's newest checkpoint, and no journal is left.
    const release = lock.release.bind(lock);
    this.locked = true;
    lock.release = async () => {
      try {
        await this.settle();
      } finally {
        this.locked = false;
        await release();
      }
    };
    return lock;
  }

  async load(): Promise<Checkpoint | null> {
    let stored: Unsealed | null = null;
    let unreadable: unknown = null;
    try {
      await this.db.read();
    } catch (error) {
      const reason =
        error instanceof SyntaxError ? 'it is not valid JSON' : error instanceof TypeError ? 'it is not valid UTF-8' : describeIoError(error);
      unreadable = new OrchestratorError(`cannot read checkpoint ${this.path}: ${reason}; the file was left as it is`, EXIT.failed);
    }
    try {
      if (unreadable === null && this.db.data !== null) stored = unseal(this.db.data, this.path, { legacy: true });
    } catch (error) {
      unreadable = error;
    }
    // A run killed mid-stage left its newest checkpoints in the journal; a file cut short by a
    // power loss is superseded by the journal's newest whole line.
    const newest = newerInJournal(this.path, stored, unreadable !== null) ?? stored;
    if (newest === null) {
      if (unreadable !== null) throw unreadable;
      return null;
    }
    this.revision = newest.revision;
    this.loadedRunId = newest.checkpoint.run_id;
    return newest.checkpoint;
  }

  restoreAppends(path: string): string | null {
    if (!this.locked || this.loadedRunId === null) return null;
    return restoreCarried(journalPathOf(this.path), { path: resolve(path), runId: this.loadedRunId });
  }

  /**
   * Durable when it returns. Within one machine state (the steps of a stage) the checkpoint is one
   * line appended to the journal (one fdatasync); a new state, a journal past its limit, and the
   * first write of this store are written whole (temporary file, fsync, rename, directory fsync).
   */
  async save(checkpoint: Checkpoint, hints: SaveHints = {}): Promise<void> {
    // The lock file makes this run the only writer: no compare-and-swap needed here.
    const left = this.journal === null ? newerInJournal(this.path, null, false) : null;
    if (left !== null) this.revision = Math.max(this.revision, left.revision);
    this.revision += 1;
    const sealed = seal(checkpoint, this.revision);
    const state = machineStateOf(checkpoint);
    if (hints.carry) this.carrier = hints.carry;
    if (this.journal !== null && state === this.wholeAt && this.journal.size < JOURNAL_LIMIT) {
      const pending = hints.carry?.pending() ?? null;
      const carried = pending === null ? null : { path: pending.path, from: pending.from, text: pending.text, run_id: checkpoint.run_id, revision: this.revision };
      await this.journal.append(JSON.stringify(sealed), { background: hints.background === true, carried });
      if (pending !== null) hints.carry?.carried(pending.end);
      this.journaledOnly = sealed;
      this.refreshSoon();
      return;
    }
    // The journal is emptied (or started) below: what it carried of the other file must be in that file first.
    await this.carrier?.sync({ background: hints.background === true });
    // A new journal, empty, is created before the whole write, whose directory fsync then makes its
    // name durable too (its lines must be found after a power loss). One a killed run left is
    // started over only once the file holds a newer checkpoint than any line it held.
    const fresh = this.journal === null && left === null;
    if (fresh) this.journal = new CheckpointJournal(journalPathOf(this.path));
    await this.writeWhole(sealed);
    this.wholeAt = state;
    if (fresh) return;
    if (this.journal === null) this.journal = new CheckpointJournal(journalPathOf(this.path));
    else this.journal.clear();
  }

  private refreshSoon(): void {
    if (this.refreshTimer !== null) return;
    const wait = this.lastRefreshAt + Math.max(REFRESH_MIN_MS, REFRESH_FACTOR * this.lastRefreshMs) - monotonicMs();
    this.refreshTimer = setTimeout(() => this.refresh(), Math.max(0, wait));
    this.refreshTimer.unref();
  }

  private refresh(): void {
    this.refreshTimer = null;
    if (this.journaledOnly === null) return;
    const started = monotonicMs();
    try {
      writeFileDurably(this.path, jsonDocumentText(this.journaledOnly), { durable: false });
    } catch {
      // only a view: the journal holds the checkpoint, and the lock's release writes the file
    }
    this.lastRefreshAt = monotonicMs();
    this.lastRefreshMs = this.lastRefreshAt - started;
  }

  /** The newest checkpoint goes into the file, durably, and the journal is removed. */
  private async settle(): Promise<void> {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (this.journal === null) return;
    await this.carrier?.sync({});
    this.carrier = null;
    if (this.journaledOnly !== null) await this.writeWhole(this.journaledOnly);
    this.journal.remove();
    this.journal = null;
  }

  private async writeWhole(sealed: Sealed): Promise<void> {
    this.db.data = sealed;
    await this.db.write();
    this.journaledOnly = null;
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
    const stored = readNewest(this.fileOf(runId));
    return stored === null ? null : { runId, ...stored };
  }

  async write(runId: string, checkpoint: Checkpoint, options: WriteOptions): Promise<number> {
    const path = this.fileOf(runId);
    mkdirSync(dirname(path), { recursive: true });
    return withMutexFile(`${path}.mutex`, () => {
      // A torn or tampered file throws here: it is never overwritten.
      const current = readNewest(path)?.revision ?? 0;
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

  /** A store used without its lock (a library's own loop of saves) puts its journal into the file here. */
  async close(): Promise<void> {
    await this.settle();
  }
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

/**
 * The journal's newest whole checkpoint, when it is newer than `stored` (or `stored` could not be
 * read at all): what a run killed mid-stage, or a power loss, left only there.
 */
function newerInJournal(path: string, stored: Unsealed | null, storedUnreadable: boolean): Unsealed | null {
  const newest = newestJournalEntry(journalPathOf(path), (line) => {
    try {
      return unsealText(line, path, { legacy: false });
    } catch {
      return null;
    }
  });
  if (newest === null) return null;
  return storedUnreadable || stored === null || newest.revision > stored.revision ? newest : null;
}

/** The checkpoint at `path`, the journal's newest line included; a torn or tampered file with no newer line throws. */
function readNewest(path: string): Unsealed | null {
  const text = readText(path);
  let stored: Unsealed | null;
  try {
    stored = text === null ? null : unsealText(text, path, { legacy: true });
  } catch (error) {
    const newer = newerInJournal(path, null, true);
    if (newer !== null) return newer;
    throw error;
  }
  return newerInJournal(path, stored, false) ?? stored;
}

/** What changes only when the machine moves: a new one is written whole, so the file shows each stage as it begins. */
function machineStateOf(checkpoint: Checkpoint): string {
  const { snapshot, halt } = checkpoint as { snapshot?: { value?: unknown }; halt?: unknown };
  return JSON.stringify([snapshot?.value ?? null, checkpoint.terminal_state, checkpoint.completed_stages, halt ?? null]);
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

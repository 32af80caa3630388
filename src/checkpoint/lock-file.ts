/**
 * A single-writer lock beside the checkpoint: `<checkpoint>.lock`, created exclusively and
 * holding who took it and which stage process group it is running. Written by hand because the
 * lock libraries name no holder and recover a dead holder's lock only after a staleness timeout;
 * here the holder's pid is checked directly, and a stage the dead holder left running is ended.
 */
import { closeSync, fstatSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { pauseAt } from '../fault/pause-point.js';
import { groupsMarkedWithRun, processExists, processStartTicks, terminateGroup } from '../run/process-group.js';
import type { CheckpointLock } from './store.js';

interface Holder {
  pid: number;
  hostname: string;
  started_at: string;
  /** The running steps' process groups, each with its leader's start time (to survive pid reuse). */
  stage_groups: { pgid: number; start_ticks: string | null }[];
  /** The run the holder is running, once it knows it; its steps carry it as ORCHESTRATOR_RUN_ID. */
  run_id?: string;
}

export async function acquireLockFile(lockPath: string, killGraceMs: number): Promise<CheckpointLock> {
  for (let tries = 0; tries < 5; tries++) {
    const taken = tryCreate(lockPath);
    if (taken) return taken;
    const text = readHolderText(lockPath);
    if (text === null) continue; // released meanwhile
    const holder = parseHolder(text);
    if (holder && holder.hostname === hostname() && !processExists(holder.pid)) {
      await endOrphanedStage(holder, killGraceMs);
      removeIfUnchanged(lockPath, text);
      // Left by versions that rewrote the lock through a temporary file.
      removeQuietly(`${lockPath}.${holder.pid}.tmp`);
      continue;
    }
    // A holder writes its name within microseconds of creating the file: an unreadable lock this
    // old was left by a process killed in between.
    if (!holder && ageMs(lockPath) > TORN_LOCK_AGE_MS) {
      removeIfUnchanged(lockPath, text);
      continue;
    }
    const who = holder
      ? `pid ${holder.pid} on ${holder.hostname} since ${holder.started_at}`
      : 'an unknown holder (the lock file is being written, or was torn; it is recovered after 5 s)';
    throw new OrchestratorError(
      `checkpoint is locked by ${who}: lock file ${lockPath}; wait for that run to end or stop it`,
      EXIT.failed,
    );
  }
  throw new OrchestratorError(`could not take the lock ${lockPath}: it keeps changing hands`, EXIT.failed);
}

/** True while the lock file at `path` is still the one this process opened as `fd`. */
function holdsPath(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = statSync(path);
    return open.nlink > 0 && open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

function tryCreate(lockPath: string): CheckpointLock | null {
  const holder: Holder = { pid: process.pid, hostname: hostname(), started_at: new Date().toISOString(), stage_groups: [] };
  // The lock keeps its file open and rewrites it in place, one write() at offset 0 per change: no
  // temporary file and rename for each step. A later text shorter than an earlier one is padded with
  // spaces (JSON allows them), so nothing of the earlier text is left after it. A process killed
  // during a write() does not tear it.
  let fd = -1;
  let written = 0;
  const write = (): void => {
    const text = `${JSON.stringify(holder)}\n`.padEnd(written, ' ');
    writeSync(fd, text, 0);
    written = text.length;
  };
  const failed = (error: unknown): never => {
    throw new OrchestratorError(`cannot create lock file ${lockPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, EXIT.failed);
  };
  // The file appears with its holder's name already in it: written under a temporary name, then
  // linked into place, which fails if a lock is there, as an exclusive create does. A process
  // killed in between leaves no empty lock for the next run to wait out, only a temporary file that
  // the file store removes once it next holds the lock. (Created empty and then written, a lock killed in that instant
  // made the next run wait 5 s.)
  const temp = join(dirname(lockPath), `.${basename(lockPath)}.${process.pid}.tmp`);
  try {
    fd = openSync(temp, 'w', 0o600);
    write();
    pauseAt('lock-written');
    linkSync(temp, lockPath);
    pauseAt('lock-linked');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (fd !== -1) closeSync(fd);
    removeQuietly(temp);
    if (code === 'EEXIST') return null;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') failed(error);
    // A file system without hard links: create the lock exclusively, then write it.
    fd = -1;
    written = 0;
    try {
      fd = openSync(lockPath, 'wx', 0o600);
    } catch (createError) {
      if ((createError as NodeJS.ErrnoException).code === 'EEXIST') return null;
      failed(createError);
    }
    try {
      write();
    } catch (writeError) {
      closeSync(fd);
      failed(writeError);
    }
  }
  removeQuietly(temp);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // A lock file that is no longer ours (removed, then taken by another run) is left to its holder.
      const ours = holdsPath(fd, lockPath);
      closeSync(fd);
      if (!ours) return;
      try {
        unlinkSync(lockPath);
      } catch {
        // already gone: nothing to release
      }
    },
    ensureHeld() {
      if (released || holdsPath(fd, lockPath)) return;
      throw new OrchestratorError(
        `lock file ${lockPath} was removed or replaced while this run held it (by a step?); the run stops so that two runs never write one checkpoint: --resume once no other run is at work`,
        EXIT.failed,
      );
    },
    noteRun(runId) {
      if (released || holder.run_id === runId) return;
      holder.run_id = runId;
      try {
        write();
      } catch {
        // the lock still names its holder and its groups
      }
    },
    noteProcessGroup(pgid, running, startTicks) {
      if (released) return;
      holder.stage_groups = holder.stage_groups.filter((group) => group.pgid !== pgid);
      if (running) holder.stage_groups.push({ pgid, start_ticks: startTicks === undefined ? processStartTicks(pgid) : startTicks });
      // Not durable: after a power loss the processes it names are gone anyway.
      // Best effort: failing to note a group must not leave the stage unmanaged.
      try {
        write();
      } catch {
        // the lock still names its holder
      }
    },
  };
}

/**
 * The dead holder's steps may still run (a SIGKILL leaves process groups behind): end them. Those
 * are the groups its lock names, and any process carrying its run's id (a step spawned in the
 * moment before its group was noted).
 */
async function endOrphanedStage(holder: Holder, killGraceMs: number): Promise<void> {
  const orphans = holder.stage_groups.filter((group) => {
    const leaderStart = processStartTicks(group.pgid);
    // The leader's pid now names another process: the group it led is gone.
    return leaderStart === null || group.start_ticks === null || leaderStart === group.start_ticks;
  });
  const pgids = new Set(orphans.map((group) => group.pgid));
  if (holder.run_id) for (const pgid of groupsMarkedWithRun(holder.run_id)) pgids.add(pgid);
  await Promise.all([...pgids].map((pgid) => terminateGroup(pgid, killGraceMs)));
}

const TORN_LOCK_AGE_MS = 5_000;

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there: nothing to clean
  }
}

function readHolderText(lockPath: string): string | null {
  try {
    return readFileSync(lockPath, 'utf8');
  } catch {
    return null;
  }
}

function parseHolder(text: string): Holder | null {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (typeof value.pid === 'number' && typeof value.hostname === 'string') {
      const groups = Array.isArray(value.stage_groups) ? value.stage_groups : [];
      const runId = typeof value.run_id === 'string' ? { run_id: value.run_id } : {};
      return { pid: value.pid, hostname: value.hostname, started_at: String(value.started_at), stage_groups: groups, ...runId };
    }
  } catch {
    // fall through
  }
  return null;
}

/** Removes a dead holder's lock, unless another process replaced it since we read it. */
function removeIfUnchanged(lockPath: string, seen: string): void {
  if (readHolderText(lockPath) !== seen) return;
  try {
    unlinkSync(lockPath);
  } catch {
    // someone else recovered it first
  }
}

/**
 * A single-writer lock beside the checkpoint: `<checkpoint>.lock`, created exclusively and
 * holding who took it and which stage process group it is running. Written by hand because the
 * lock libraries name no holder and recover a dead holder's lock only after a staleness timeout;
 * here the holder's pid is checked directly, and a stage the dead holder left running is ended.
 */
import { closeSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { processStartTicks, terminateGroup } from '../run/process-group.js';
import type { CheckpointLock } from './store.js';

interface Holder {
  pid: number;
  hostname: string;
  started_at: string;
  /** The running steps' process groups, each with its leader's start time (to survive pid reuse). */
  stage_groups: { pgid: number; start_ticks: string | null }[];
}

export async function acquireLockFile(lockPath: string, killGraceMs: number): Promise<CheckpointLock> {
  for (let tries = 0; tries < 5; tries++) {
    const taken = tryCreate(lockPath);
    if (taken) return taken;
    const text = readHolderText(lockPath);
    if (text === null) continue; // released meanwhile
    const holder = parseHolder(text);
    if (holder && holder.hostname === hostname() && !isAlive(holder.pid)) {
      await endOrphanedStage(holder, killGraceMs);
      removeIfUnchanged(lockPath, text);
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

function tryCreate(lockPath: string): CheckpointLock | null {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return null;
    throw new OrchestratorError(`cannot create lock file ${lockPath}: ${code ?? String(error)}`, EXIT.failed);
  }
  const holder: Holder = { pid: process.pid, hostname: hostname(), started_at: new Date().toISOString(), stage_groups: [] };
  writeSync(fd, `${JSON.stringify(holder)}\n`);
  closeSync(fd);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        unlinkSync(lockPath);
      } catch {
        // already gone: nothing to release
      }
    },
    noteProcessGroup(pgid, running) {
      if (released) return;
      holder.stage_groups = holder.stage_groups.filter((group) => group.pgid !== pgid);
      if (running) holder.stage_groups.push({ pgid, start_ticks: processStartTicks(pgid) });
      // Atomic, not durable: after a power loss the processes it names are gone anyway.
      // Best effort: failing to note a group must not leave the stage unmanaged.
      try {
        const temp = `${lockPath}.${process.pid}.tmp`;
        writeFileSync(temp, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
        renameSync(temp, lockPath);
      } catch {
        // the lock still names its holder
      }
    },
  };
}

/** The dead holder's steps may still run (a SIGKILL leaves process groups behind): end them. */
async function endOrphanedStage(holder: Holder, killGraceMs: number): Promise<void> {
  const orphans = holder.stage_groups.filter((group) => {
    const leaderStart = processStartTicks(group.pgid);
    // The leader's pid now names another process: the group it led is gone.
    return leaderStart === null || group.start_ticks === null || leaderStart === group.start_ticks;
  });
  await Promise.all(orphans.map((group) => terminateGroup(group.pgid, killGraceMs)));
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
      return { pid: value.pid, hostname: value.hostname, started_at: String(value.started_at), stage_groups: groups };
    }
  } catch {
    // fall through
  }
  return null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

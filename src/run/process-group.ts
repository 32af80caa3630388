/**
 * A stage's program runs as the leader of its own process group, so the whole tree it starts
 * can be signalled at once: SIGTERM, a grace period, then SIGKILL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process with this pid exists (one of another user's counts: it cannot be signalled, but it is there). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nobody left in the group
  }
}

/**
 * True while a process of the group is still running. A killed process stays a zombie until its
 * parent (often init) reaps it, and signals still reach zombies; on Linux /proc tells them apart.
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  const members = liveMembers(pgid);
  return members === null || members.length > 0;
}

/**
 * The fields of /proc/<pid>/stat after the command name, from the state on ("pid (comm) state ppid
 * pgrp ...": comm may hold spaces and parentheses). Null when there is no such process.
 */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The pids /proc lists (as they are named there); null where /proc cannot be read. */
function procPids(): string[] | null {
  try {
    return readdirSync('/proc').filter((entry) => entry.charCodeAt(0) <= 57); // digits sort before letters
  } catch {
    return null;
  }
}

/** The group of a live process, from its stat fields; null for a zombie or a process that is gone. */
function liveGroupOf(fields: string[] | null): number | null {
  return fields === null || fields[0] === 'Z' || fields[0] === 'X' ? null : Number(fields[2]);
}

/**
 * When the process started, in clock ticks since boot (/proc/<pid>/stat field 22): with the pid,
 * it names one process for good, even after the pid is reused. Null when there is no such process.
 */
export function processStartTicks(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** Pids of the group's processes that are not zombies; null where /proc cannot be read. */
export function liveMembers(pgid: number): number[] | null {
  const pids = procPids();
  return pids === null ? null : pids.filter((pid) => liveGroupOf(statFields(pid)) === pgid).map(Number);
}

/**
 * The live processes whose environment names `runId` (`ORCHESTRATOR_RUN_ID`, which every step of a
 * run is given), this process's own aside, each with its process group. Processes of other users,
 * or that ended meanwhile, cannot be read and are passed over.
 */
function* markedWithRun(runId: string, fromPid = 0): Generator<{ pid: number; group: number }> {
  const marker = `ORCHESTRATOR_RUN_ID=${runId}\0`;
  for (const pid of procPids() ?? []) {
    if (Number(pid) === process.pid || Number(pid) < fromPid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    if (!environ.startsWith(marker) && !environ.includes(`\0${marker}`)) continue;
    const group = liveGroupOf(statFields(pid));
    if (group !== null) yield { pid: Number(pid), group };
  }
}

/**
 * The process groups of live processes marked with `runId` (see markedWithRun). A holder killed
 * between spawning a step and noting its group in the lock leaves a group only this finds.
 */
export function groupsMarkedWithRun(runId: string, fromPid = 0): number[] {
  const groups = new Set<number>();
  for (const { group } of markedWithRun(runId, fromPid)) groups.add(group);
  return [...groups];
}

/**
 * A live process marked with `runId` that is not this process nor one of its ancestors (a shell or
 * launcher that happens to carry the variable, or the step of a run that started this one): the
 * step of another run with that id. Null when there is none, or /proc cannot be read.
 */
export function otherProcessOfRun(runId: string): number | null {
  const ancestors = new Set<number>();
  for (let pid = process.ppid; pid > 1 && !ancestors.has(pid); pid = Number(statFields(pid)?.[1] ?? 0)) ancestors.add(pid);
  for (const { pid } of markedWithRun(runId)) if (!ancestors.has(pid)) return pid;
  return null;
}

/**
 * Ends every process left in the group: SIGTERM, then SIGKILL once `graceMs` has passed.
 * Resolves when the group is empty, or after a bounded wait for the kernel to reap it.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  if (await waitForEmpty(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitForEmpty(pgid, 2_000);
}

async function waitForEmpty(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  let pause = 2;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
  return true;
}

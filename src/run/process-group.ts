/**
 * A stage's program runs as the leader of its own process group, so the whole tree it starts
 * can be signalled at once: SIGTERM, a grace period, then SIGKILL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

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
 * When the process started, in clock ticks since boot (/proc/<pid>/stat field 22): with the pid,
 * it names one process for good, even after the pid is reused. Null when there is no such process.
 */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Pids of the group's processes that are not zombies; null where /proc cannot be read. */
export function liveMembers(pgid: number): number[] | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const live: number[] = [];
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue; // not a pid
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') live.push(Number(entry));
  }
  return live;
}

/**
 * The process groups of live processes whose environment names `runId` (`ORCHESTRATOR_RUN_ID`, which
 * every step of a run is given), this process's own aside. A holder killed between spawning a step
 * and noting its group in the lock leaves a group only this finds. Processes of other users, or
 * that ended meanwhile, cannot be read and are passed over.
 */
export function groupsMarkedWithRun(runId: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const marker = `ORCHESTRATOR_RUN_ID=${runId}\0`;
  const groups = new Set<number>();
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57 || Number(entry) === process.pid) continue; // not a pid, or this one
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (!environ.startsWith(marker) && !environ.includes(`\0${marker}`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && fields[0] !== 'X') groups.add(Number(fields[2]));
    } catch {
      // gone, or not ours to read
    }
  }
  return [...groups];
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

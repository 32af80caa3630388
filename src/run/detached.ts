/**
 * What a run's steps detached from their process groups (`setsid`, a double fork into a new
 * session): the stage's group kill does not reach them, so the run's end looks for them the way the
 * recovery after a crash does, by the `ORCHESTRATOR_RUN_ID` every step's environment carries.
 */
import { readFileSync } from 'node:fs';
import { groupsMarkedWithRun, terminateGroup } from './process-group.js';

/**
 * The pids of the steps this invocation spawned. Linux hands out pids in increasing order until it
 * wraps at pid_max, so whatever a step detached has a pid at least the first step's, unless the
 * counter wrapped meanwhile: then, and only then, every process must be read. Reading every
 * process's environment cost a run several ms (about 4 ms for 100 processes here), more on a desktop.
 */
export class SpawnedPids {
  private first: number | null = null;
  private last = 0;
  private wrapped = false;

  note(pid: number): void {
    if (this.first === null) this.first = pid;
    else if (pid < this.last) this.wrapped = true;
    this.last = pid;
  }

  /** The lowest pid a detached process of this invocation can have; null when no step was spawned. */
  scanFrom(): number | null {
    if (this.first === null) return null;
    if (this.wrapped || lastPidAllocated() < this.last) return 0;
    return this.first;
  }
}

/** The last pid the kernel handed out (the last field of /proc/loadavg); 0, so a full scan, where unknown. */
function lastPidAllocated(): number {
  try {
    return Number.parseInt(readFileSync('/proc/loadavg', 'latin1').trim().split(' ').at(-1) ?? '', 10) || 0;
  } catch {
    return 0;
  }
}

/** Ends the process groups of live processes marked with the run; resolves with how many there were. */
export async function endDetachedOfRun(runId: string, graceMs: number, spawned: SpawnedPids): Promise<number> {
  const from = spawned.scanFrom();
  if (from === null) return 0;
  const groups = groupsMarkedWithRun(runId, from);
  await Promise.all(groups.map((group) => terminateGroup(group, graceMs)));
  return groups.length;
}

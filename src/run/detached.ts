/**
 * What a run's steps detached from their process groups (`setsid`, a double fork into a new
 * session): the stage's group kill does not reach them, so the run's end looks for them the way the
 * recovery after a crash does, by the `ORCHESTRATOR_RUN_ID` every step's environment carries.
 */
import { groupsMarkedWithRun, terminateGroup } from './process-group.js';

/** Ends the process groups of live processes marked with the run; resolves with how many there were. */
export async function endDetachedOfRun(runId: string, graceMs: number): Promise<number> {
  const groups = groupsMarkedWithRun(runId);
  await Promise.all(groups.map((group) => terminateGroup(group, graceMs)));
  return groups.length;
}

/**
 * Test-only pause points, so that a fault test can SIGKILL the orchestrator at an exact place
 * (in the middle of a checkpoint write, between a step's end and its record...).
 *
 *   ORCHESTRATOR_TEST_PAUSE_AT=<point>@<n>   pause the n-th time (from 1) <point> is reached
 *   ORCHESTRATOR_TEST_PAUSE_FILE=<path>      written with "<point>@<n> <pid>" once paused
 *
 * Paused means blocked, event loop included, until the test's SIGKILL (or two minutes, so a
 * test that forgot to kill leaves no process behind for long). Unset (always, outside tests)
 * each point costs one comparison.
 */
import { writeFileSync } from 'node:fs';

const armed = parse(process.env.ORCHESTRATOR_TEST_PAUSE_AT);
let reached = 0;

/** Names of the points, where they are in the code. */
export type PausePoint =
  | 'lock-written' // the lock's text written under its temporary name, not yet linked into place
  | 'lock-linked' // the lock in place, its temporary name not yet removed
  | 'step-start' // the attempt is on disk, its program not yet started
  | 'spawned' // the program started, its process group not yet noted in the lock
  | 'step-end' // the program ended, its record not yet made
  | `mid-write:${string}` // half of a file's temp copy written (file name after the colon)
  | `before-rename:${string}` // the temp copy complete, not yet renamed over the file
  | `mid-append:${string}`; // half of a line appended to a journal (file name after the colon)

export function pauseAt(point: PausePoint): void {
  if (armed === null || point !== armed.point || ++reached !== armed.nth) return;
  const file = process.env.ORCHESTRATOR_TEST_PAUSE_FILE;
  if (file) writeFileSync(file, `${armed.point}@${armed.nth} ${process.pid}\n`);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(cell, 0, 0, 120_000);
}

function parse(value: string | undefined): { point: string; nth: number } | null {
  const match = value ? /^(.+)@(\d+)$/.exec(value) : null;
  return match ? { point: match[1]!, nth: Number(match[2]) } : null;
}

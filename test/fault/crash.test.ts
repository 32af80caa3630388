// SIGKILL the orchestrator at seeded moments and resume until done: nothing completed runs again,
// every file left parses, no process is left. FAULT_KILLS (default 25; `npm run test:fault`: 200)
// and FAULT_SEED choose how many kills and which moments.
import { describe, expect, it } from 'vitest';
import { crashHarness, formatCounts } from './crash-harness.js';

const kills = Number(process.env.FAULT_KILLS ?? 25);
const seed = Number(process.env.FAULT_SEED ?? 6);

describe(`the crash harness (${kills} kills, seed ${seed})`, () => {
  it('loses no progress, runs no completed step again, leaves readable files and no process', async () => {
    const counts = await crashHarness({ seed, kills, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(`${formatCounts(counts)}\n`);
    expect(counts.kills).toBeGreaterThanOrEqual(kills);
    expect(counts.problems).toEqual([]);
    expect(counts).toMatchObject({
      completedStepsRunAgain: 0,
      progressLost: 0,
      unreadableCheckpoints: 0,
      invalidReports: 0,
      finishedReportsMissingASuccess: 0,
      checkpointAheadOfReport: 0,
      processesLeft: 0,
      stuckRuns: 0,
    });
    expect(counts.runsFinished).toBeGreaterThan(0);
  }, 20 * kills * 1000);
});

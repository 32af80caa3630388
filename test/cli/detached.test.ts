/**
 * Daemons a step detaches with setsid leave its process group, so the stage's group kill misses
 * them; the run's end finds them by ORCHESTRATOR_RUN_ID, as the recovery after a crash does
 * (issue 14, item 5).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

/** A manager that starts `sleep 300` in a session of its own, writes its pid, then runs `then`. */
function detaching(pidFile: string, then: string): string[] {
  return ['--manager-bin', 'sh', '--manager-arg', '-c', '--manager-arg', `setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; ${then}`];
}

const started: number[] = [];
const pidIn = (file: string) => {
  const pid = Number(readFileSync(file, 'utf8').trim());
  started.push(pid);
  return pid;
};

// Without the fix the daemons would outlive the test: end them here, whatever the test found.
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('a daemon a step detached with setsid', () => {
  it.each([
    { end: 'done', then: 'exit 0', exitCode: 0 },
    { end: 'failed', then: 'exit 3', exitCode: 1 },
  ])('is ended when the run ends $end', async ({ then, exitCode }) => {
    const dir = tempDir();
    const pidFile = join(dir, 'daemon.pid');
    const result = await runCli([join(dir, 'out'), ...detaching(pidFile, then), '--kill-grace-ms', '200']);
    expect(result.exitCode).toBe(exitCode);
    expect(processAlive(pidIn(pidFile))).toBe(false);
  });

  it('is ended when the run is stopped by SIGTERM', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'daemon.pid');
    const { child, done } = startCli([join(dir, 'out'), ...detaching(pidFile, 'sleep 300'), '--kill-grace-ms', '200']);
    await waitFor(() => {
      try {
        return pidIn(pidFile) > 0;
      } catch {
        return false;
      }
    }, 20_000, 'the daemon to start');
    child.kill('SIGTERM');
    expect((await done).exitCode).toBe(143);
    expect(processAlive(pidIn(pidFile))).toBe(false);
  });
});

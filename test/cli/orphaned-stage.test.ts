import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE, processAlive, reportOf, runCli, sideEffects, startCli, tempDir, waitFor } from '../support/cli.js';

describe('a stage left running by a killed orchestrator', () => {
  it('is ended when the next run recovers the lock, before the stage runs again', async () => {
    const dir = tempDir();
    const started = join(dir, 'started');
    const effects = join(dir, 'effects.txt');
    const flags = ['--executor-bin', STAGE, '--executor-arg', 'slow-first', '--executor-arg', started, '--kill-grace-ms', '300'];
    const first = startCli([dir, ...flags], { env: { SIDE_EFFECTS: effects } });
    await waitFor(() => sideEffects(effects).length === 1, 10_000, 'the executor to start');
    await waitFor(() => readLock(dir).stage_groups.length > 0, 10_000, 'the lock to name the stage group');
    const { pgid } = readLock(dir).stage_groups[0];
    first.child.kill('SIGKILL');
    await first.done;
    // SIGKILL gives the orchestrator no chance: its stage lives on as an orphan.
    expect(processAlive(pgid)).toBe(true);

    const resumed = await runCli([dir, '--resume', ...flags], { env: { SIDE_EFFECTS: effects } });
    expect(resumed.exitCode).toBe(0);
    expect(processAlive(pgid)).toBe(false);
    expect(sideEffects(effects)).toEqual(['execution 1', 'execution 2']);
    expect(reportOf(dir).terminal_state).toBe('done');
  });
});

function readLock(dir: string) {
  return JSON.parse(readFileSync(join(dir, 'orchestrator_checkpoint.json.lock'), 'utf8'));
}

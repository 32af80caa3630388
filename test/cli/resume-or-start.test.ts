/**
 * Resume edges (issue 14, item 7): a supervisor that always restarts with --resume-or-start works
 * whether or not a checkpoint was written; a new run started over an unfinished one says so.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointOf, reportOf, runCli, sideEffects, tempDir } from '../support/cli.js';
import { CHECKPOINT, executor, manager } from './user-view.js';

describe('--resume-or-start', () => {
  it('starts a new run when there is no checkpoint, and resumes the run when there is one', async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const effects = join(dir, 'effects.txt');
    const env = { SIDE_EFFECTS: effects };
    const started = await runCli([out, '--resume-or-start', ...manager('ok'), ...executor('fail')], { env });
    expect(started.stderr).not.toContain('cannot resume');
    expect(started.exitCode).toBe(1);
    const runId = checkpointOf(out).run_id;
    expect(reportOf(out).resumed_from).toBeNull();

    const resumed = await runCli([out, '--resume-or-start', ...manager('ok'), ...executor('ok')], { env });
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(out)).toMatchObject({ run_id: runId, terminal_state: 'done', resumed_from: 'snapshot' });
    expect(sideEffects(effects)).toEqual(['planning 1', 'execution 1', 'execution 2']);
  });

  it('without it, --resume with no checkpoint still fails', async () => {
    const out = join(tempDir(), 'out');
    const result = await runCli([out, '--resume', ...manager('ok')]);
    expect(result.exitCode).toBe(1);
    expect(existsSync(join(out, CHECKPOINT))).toBe(false);
  });
});

describe('a new run over an unfinished one', () => {
  it('warns on stderr, naming the run whose progress it replaces', async () => {
    const out = join(tempDir(), 'out');
    expect((await runCli([out, ...manager('fail')])).exitCode).toBe(1);
    const unfinished = checkpointOf(out).run_id;
    const again = await runCli([out, ...manager('ok')]);
    expect(again.exitCode).toBe(0);
    const warnings = again.stderr.split('\n').filter((line) => line.startsWith('autonomy-orchestrator: warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`unfinished run ${unfinished}`);
    expect(warnings[0]).toContain('--resume');
    expect(checkpointOf(out).run_id).not.toBe(unfinished);
  });

  it('says nothing over a finished run', async () => {
    const out = join(tempDir(), 'out');
    expect((await runCli([out, ...manager('ok')])).exitCode).toBe(0);
    const again = await runCli([out, ...manager('ok')]);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).not.toContain('warning');
  });
});

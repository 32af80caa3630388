/**
 * A full disk (issue 14): the run ends with one line naming the file it could not write, exit 1,
 * its last good checkpoint intact and its lock released; once space is back, --resume finishes it.
 * The disk is a real 200 KiB tmpfs, so the suite needs root (CI runs as root).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { checkpointOf, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';
import { describeWhen } from '../support/requirement.js';

function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = join(tempDir('ao-tmpfs-probe-'), 'm');
  const ok = mountTmpfs(probe, '64k');
  if (ok) spawnSync('umount', [probe]);
  return ok;
}

const mounted: string[] = [];

function smallDisk(): string {
  const dir = join(tempDir('ao-disk-full-'), 'disk');
  if (!mountTmpfs(dir, '200k')) throw new Error(`cannot mount a tmpfs at ${dir}`);
  mounted.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of mounted.splice(0)) spawnSync('umount', [dir]);
});

function expectOneLineNaming(stderr: string, file: string): void {
  // The progress lines are on stderr too; what the orchestrator itself says starts with its name.
  const lines = stderr.split('\n').filter((line) => line.startsWith('autonomy-orchestrator:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(file);
  expect(lines[0]).toContain('ENOSPC');
  expect(stderr).not.toMatch(/\n\s+at /);
}

describeWhen('a full disk', canMountTmpfs(), 'not root, or no tmpfs mount here', 'run as root (CI does; the suite mounts a small tmpfs)', () => {
  it('with 12 KiB free: one line naming the file, exit 1, checkpoint intact, lock released; --resume finishes once space is back', async () => {
    const disk = smallDisk();
    const filler = join(disk, 'filler');
    writeFileSync(filler, Buffer.alloc(188 * 1024));
    const out = join(disk, 'out');

    const full = await runCli([out, '--manager-bin', 'true']);
    expect(full.exitCode).toBe(1);
    expectOneLineNaming(full.stderr, out);
    expect(existsSync(join(out, 'orchestrator_checkpoint.json.lock'))).toBe(false);
    const kept = checkpointOf(out);
    expect(kept.terminal_state).toBeNull();
    expect(kept.completed_stages).toEqual([]);
    expect(readdirSync(out).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    rmSync(filler);
    const resumed = await runCli([out, '--manager-bin', 'true', '--resume']);
    expect(resumed.stderr).not.toContain('autonomy-orchestrator:');
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(out)).toMatchObject({ run_id: kept.run_id, terminal_state: 'done', status: 'finished' });
    expect(checkpointOf(out)).toMatchObject({ run_id: kept.run_id, terminal_state: 'done' });
  });

  it('the disk filled while a later step of a stage runs: still the one line (not the checkpoint file\'s own failure at the end), exit 1; --resume finishes once space is back', async () => {
    const disk = smallDisk();
    const out = join(disk, 'out');
    const plan = join(tempDir(), 'plan.json');
    const started = join(tempDir(), 'second-started');
    // Two steps of one stage: the checkpoint after the first is only in the journal when the second ends.
    writeFileSync(plan, JSON.stringify({ stages: { execution: [{ id: 'first', bin: 'true' }, { id: 'second', bin: 'sh', args: ['-c', `touch ${started}; sleep 1`] }] } }));
    const run = startCli([out, '--plan', plan]);
    await waitFor(() => existsSync(started), 10_000, 'the second step to start');
    const filler = join(disk, 'filler');
    spawnSync('sh', ['-c', `cat /dev/zero > ${filler} 2>/dev/null`]);
    const full = await run.done;
    expect(full.exitCode).toBe(1);
    expectOneLineNaming(full.stderr, out);
    expect(full.stderr).not.toContain('internal error');
    expect(existsSync(join(out, 'orchestrator_checkpoint.json.lock'))).toBe(false);

    rmSync(filler);
    const resumed = await runCli([out, '--plan', plan, '--resume']);
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(out)).toMatchObject({ terminal_state: 'done', status: 'finished' });
  });

  it('a notify hook that fills the disk after a done run: the report\'s last write is the one line naming it, exit 1, not an internal error', async () => {
    const disk = smallDisk();
    const out = join(disk, 'out');
    const plan = join(tempDir(), 'plan.json');
    const filler = join(disk, 'filler');
    writeFileSync(
      plan,
      JSON.stringify({
        stages: { execution: [{ id: 'build', bin: 'true' }] },
        notify: [{ on: ['done'], command: { bin: 'sh', args: ['-c', `cat /dev/zero > ${filler} 2>/dev/null; exit 0`] } }],
      }),
    );
    const full = await runCli([out, '--plan', plan]);
    expect(full.exitCode).toBe(1);
    expectOneLineNaming(full.stderr, join(out, 'orchestrator_run_report.json'));
    expect(full.stderr).not.toContain('internal error');
    expect(existsSync(join(out, 'orchestrator_checkpoint.json.lock'))).toBe(false);
  });

  it('a step whose output fills the disk: the same, and --resume re-runs that step once its logs are cleared', async () => {
    const disk = smallDisk();
    const out = join(disk, 'out');
    // The first attempt writes far more than the disk holds; the retry writes one line.
    const manager = ['--manager-bin', 'sh', '--manager-arg', '-c', '--manager-arg', 'if [ "$ORCHESTRATOR_ATTEMPT" = 1 ]; then yes | head -c 1000000; else echo ok; fi'];

    const full = await runCli([out, ...manager]);
    expect(full.exitCode).toBe(1);
    expectOneLineNaming(full.stderr, out);
    expect(existsSync(join(out, 'orchestrator_checkpoint.json.lock'))).toBe(false);
    const kept = checkpointOf(out);
    expect(kept.completed_stages).toEqual([]);

    rmSync(join(out, 'logs'), { recursive: true });
    const resumed = await runCli([out, ...manager, '--resume']);
    expect(resumed.stderr).not.toContain('autonomy-orchestrator:');
    expect(resumed.exitCode).toBe(0);
    const report = reportOf(out);
    expect(report).toMatchObject({ run_id: kept.run_id, terminal_state: 'done' });
    expect(report.stage_executions.find((r: { stage: string }) => r.stage === 'planning')).toMatchObject({ status: 'success', exit_code: 0 });
  });
});

import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, sideEffects, startCli, tempDir, waitFor } from '../support/cli.js';
import { CHECKPOINT, LOCK, REPORT, STACK_FRAME, executor, manager } from './user-view.js';

describe('one writer per checkpoint', () => {
  it('a second run on a held checkpoint exits 1 naming the lock and the holder pid, and changes nothing', async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const started = join(dir, 'executor-started');
    const env = { SIDE_EFFECTS: effects };
    const holder = startCli([dir, '--kill-grace-ms', '300', ...manager('ok'), ...executor('started-then-sleep', started)], { env });
    try {
      await waitFor(() => existsSync(started), 10_000, 'the executor to start');
      const checkpointBefore = readFileSync(join(dir, CHECKPOINT));
      const reportBefore = readFileSync(join(dir, REPORT));

      for (const extra of [[], ['--resume']]) {
        const second = await runCli([dir, ...extra, ...manager('ok'), ...executor('ok')], { env });
        expect(second.exitCode).toBe(1);
        const message = second.stderr.trimEnd();
        expect(message.split('\n')).toHaveLength(1);
        expect(message).toContain(join(dir, LOCK));
        expect(message).toContain(`pid ${holder.child.pid}`);
        expect(message).not.toMatch(STACK_FRAME);
        expect(readFileSync(join(dir, CHECKPOINT)).equals(checkpointBefore)).toBe(true);
        expect(readFileSync(join(dir, REPORT)).equals(reportBefore)).toBe(true);
      }
      expect(sideEffects(effects)).toEqual(['planning 1', 'execution 1']);
      expect(existsSync(join(dir, LOCK))).toBe(true);
    } finally {
      holder.child.kill('SIGTERM');
      await holder.done;
    }
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });
});

describe('a lock file left torn (empty) by a process killed while creating it', () => {
  it('is refused while fresh, naming the file, and recovered once it is older than 5 s', async () => {
    const dir = tempDir();
    const lock = join(dir, 'orchestrator_checkpoint.json.lock');
    writeFileSync(lock, '');
    const fresh = await runCli([dir, ...manager('ok')]);
    expect(fresh.exitCode).toBe(1);
    expect(fresh.stderr).toContain(`lock file ${lock}`);
    const old = new Date(Date.now() - 10_000);
    utimesSync(lock, old, old);
    const later = await runCli([dir, ...manager('ok')]);
    expect(later.exitCode).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });
});

describe('a lock file a step removes', () => {
  const removing = (script: string) => ['--manager-bin', 'sh', '--manager-arg', '-c', '--manager-arg', script];

  it('is noticed before the next checkpoint write: exit 1, one line naming the lock, the checkpoint left as the last write made it', async () => {
    const dir = tempDir();
    const lock = join(dir, LOCK);
    const result = await runCli([dir, ...removing(`rm ${lock}`), ...executor('ok')]);
    expect(result.exitCode).toBe(1);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('autonomy-orchestrator:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`lock file ${lock} was removed`);
    expect(JSON.parse(readFileSync(join(dir, CHECKPOINT), 'utf8')).completed_stages).toEqual([]);
  });

  it('taken meanwhile by another holder, is left to that holder when the run ends', async () => {
    const dir = tempDir();
    const lock = join(dir, LOCK);
    const other = '{"pid": 1, "hostname": "elsewhere", "started_at": "2026-01-01T00:00:00.000Z", "stage_groups": []}';
    const result = await runCli([dir, ...removing(`rm ${lock}; printf '%s' '${other}' > ${lock}`), ...executor('ok')]);
    expect(result.exitCode).toBe(1);
    expect(readFileSync(lock, 'utf8')).toBe(other);
  });
});

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, sideEffects, tempDir } from '../support/cli.js';
import { CHECKPOINT, LOCK, REPORT, STACK_FRAME, executor, manager } from '../cli/user-view.js';

const SAMPLE = readFileSync(join(ROOT, 'snapshots', 'checkpoints', 'v1-failed-at-execution.json'), 'utf8');
const STAGES = [...manager('ok'), ...executor('ok')];

/** The one line a refused run prints, checked for what a user needs: the file, no stack. */
function expectRefusal(result: { exitCode: number | null; stderr: string }, file: string): void {
  expect(result.exitCode).toBe(1);
  const message = result.stderr.trimEnd();
  expect(message.split('\n')).toHaveLength(1);
  expect(message).toContain(file);
  expect(message).not.toMatch(STACK_FRAME);
}

describe('--resume without a checkpoint', () => {
  it('exits 1 naming the missing file, runs nothing and creates nothing', async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const result = await runCli([dir, '--resume', ...STAGES], { env: { SIDE_EFFECTS: effects } });
    expectRefusal(result, join(dir, CHECKPOINT));
    expect(sideEffects(effects)).toEqual([]);
    expect(existsSync(join(dir, CHECKPOINT))).toBe(false);
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });
});

const CORRUPT: { name: string; text: string }[] = [
  { name: 'truncated JSON', text: SAMPLE.slice(0, Math.floor(SAMPLE.length / 2)) },
  { name: 'an empty file', text: '' },
  { name: 'a JSON array', text: '[]\n' },
  {
    name: 'V0 fields of the wrong types',
    text: JSON.stringify({ run_id: 42, completed_stages: 'planning', terminal_state: null, updated_at_unix_secs: 'now' }),
  },
  {
    name: 'an unknown stage',
    text: JSON.stringify({ run_id: 'run_1', completed_stages: ['planning', 'deploy'], terminal_state: null, updated_at_unix_secs: 1 }),
  },
  { name: 'a v1 document with its snapshot missing', text: JSON.stringify({ ...JSON.parse(SAMPLE), snapshot: undefined }) },
  { name: 'a v1 document of an unknown schema version', text: JSON.stringify({ ...JSON.parse(SAMPLE), schema_version: 99 }) },
];

describe.each(CORRUPT)('a checkpoint holding $name', ({ text }) => {
  it('is refused by --resume and by a fresh run (exit 1, the file named), and left byte-for-byte as it was', async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const file = join(dir, CHECKPOINT);
    writeFileSync(file, text);
    const before = readFileSync(file);
    for (const extra of [['--resume'], []]) {
      const result = await runCli([dir, ...extra, ...STAGES], { env: { SIDE_EFFECTS: effects } });
      expectRefusal(result, file);
      expect(readFileSync(file).equals(before)).toBe(true);
    }
    expect(sideEffects(effects)).toEqual([]);
    expect(existsSync(join(dir, REPORT))).toBe(false);
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });
});

describe('--checkpoint-path', () => {
  it('is the file read, named and left alone when corrupt', async () => {
    const dir = tempDir();
    const elsewhere = join(tempDir(), 'nested');
    mkdirSync(elsewhere);
    const file = join(elsewhere, 'cp.json');
    writeFileSync(file, '{"run_id": "run_1", "completed_st');
    const before = readFileSync(file);
    const result = await runCli([dir, '--resume', '--checkpoint-path', file, ...STAGES]);
    expectRefusal(result, file);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(join(dir, CHECKPOINT))).toBe(false);
  });
});

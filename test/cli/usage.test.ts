import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE, reportOf, runCli, sideEffects, tempDir } from '../support/cli.js';
import { CHECKPOINT, STACK_FRAME, executor, manager } from './user-view.js';

describe('bad usage', () => {
  it.each([
    { args: ['--timeout-ms', 'abc'], names: '--timeout-ms' },
    { args: ['--timeout-ms', '0'], names: '--timeout-ms' },
    { args: ['--timeout-ms', '1.5'], names: '--timeout-ms' },
    { args: ['--kill-grace-ms', '-1'], names: '--kill-grace-ms' },
    { args: ['--manager-env', 'NOEQ'], names: '--manager-env' },
    { args: ['--executor-env', '=value'], names: '--executor-env' },
    { args: ['--bogus'], names: '--bogus' },
    { args: ['--simulate-blockd'], names: '--simulate-blockd' },
    { args: ['--manager-bin'], names: '--manager-bin' },
    { args: ['second-positional'], names: 'too many arguments' },
  ])('$args → exit 2, one line naming $names, a usage line, nothing written', async ({ args, names }) => {
    const dir = join(tempDir(), 'out');
    const result = await runCli([dir, ...args]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(STACK_FRAME);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^autonomy-orchestrator: /);
    expect(lines[0]).toContain(names);
    expect(lines[1]).toMatch(/^Usage: autonomy-orchestrator/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('arguments and pairs reach the program verbatim', () => {
  it('passes flag-like, spaced, quoted and $-bearing arguments unchanged, never through a shell', async () => {
    const dir = tempDir();
    const dump = join(dir, 'args.bin');
    const verbatim = ['--looks-like-a-flag', '-h', '--version', 'two words', `it's "quoted"`, '$HOME', '*', '; echo pwned', '`id`', ''];
    const args = ['args', dump, ...verbatim];
    const result = await runCli([dir, '--manager-bin', STAGE, ...args.flatMap((arg) => ['--manager-arg', arg])]);
    // Off a TTY, stderr carries one progress line per transition and nothing else.
    expect(result.stderr.split('\n').filter((line) => line.startsWith('autonomy-orchestrator:'))).toEqual([]);
    expect(result.exitCode).toBe(0);
    const received = readFileSync(dump, 'utf8').split('\0').slice(0, -1);
    expect(received).toEqual(verbatim);
    expect(reportOf(dir).stage_executions[0].args).toEqual(args);
  });
});

describe("V0's defaults", () => {
  it('writes to ./out under the working directory, with a 30000 ms timeout per invocation', async () => {
    const cwd = tempDir();
    const result = await runCli(manager('ok'), { cwd });
    expect(result.exitCode).toBe(0);
    const report = reportOf(join(cwd, 'out'));
    expect(report.terminal_state).toBe('done');
    expect(report.stage_executions[0].timeout_ms).toBe(30_000);
    expect(existsSync(join(cwd, 'out', CHECKPOINT))).toBe(true);
  });

  it('--checkpoint-path puts the checkpoint (and its lock) elsewhere, and --resume reads it there', async () => {
    const dir = tempDir();
    const effects = join(dir, 'effects.txt');
    const checkpoint = join(tempDir(), 'run.checkpoint.json');
    const flags = ['--checkpoint-path', checkpoint, ...manager('ok'), ...executor('ok')];
    const first = await runCli([dir, ...flags], { env: { SIDE_EFFECTS: effects } });
    expect(first.exitCode).toBe(0);
    expect(existsSync(join(dir, CHECKPOINT))).toBe(false);
    expect(reportOf(dir).checkpoint_path).toBe(checkpoint);
    expect(JSON.parse(readFileSync(checkpoint, 'utf8')).terminal_state).toBe('done');
    expect(existsSync(`${checkpoint}.lock`)).toBe(false);
    const resumed = await runCli([dir, '--resume', ...flags], { env: { SIDE_EFFECTS: effects } });
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(dir).stage_executions).toEqual([]);
    expect(sideEffects(effects)).toEqual(['planning 1', 'execution 1']);
    expect(existsSync(join(dir, CHECKPOINT))).toBe(false);
  });

  it('--checkpoint-path into folders that do not exist yet creates them, as output_dir is created', async () => {
    const dir = join(tempDir(), 'out');
    const checkpoint = join(tempDir(), 'not', 'yet', 'run.checkpoint.json');
    const result = await runCli([dir, '--checkpoint-path', checkpoint, ...manager('ok')]);
    expect(result.stderr).not.toContain('autonomy-orchestrator:');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(checkpoint, 'utf8')).terminal_state).toBe('done');
    expect(existsSync(`${checkpoint}.lock`)).toBe(false);
  });

  it('--checkpoint-path under a file: exit 2, one line naming the flag, nothing written', async () => {
    const dir = join(tempDir(), 'out');
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const result = await runCli([dir, '--checkpoint-path', join(file, 'run.checkpoint.json'), ...manager('ok')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`--checkpoint-path ${join(file, 'run.checkpoint.json')}`);
    expect(existsSync(dir)).toBe(false);
  });
});

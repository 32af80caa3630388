/** Help a newcomer finds (issue 14, item 9). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';
import { manager } from './user-view.js';

describe('help', () => {
  it('--help lists every command, the store ones too', async () => {
    const result = await runCli(['--help']);
    expect(result.exitCode).toBe(0);
    for (const command of ['report', 'inspect', 'graph', 'submit', 'worker', 'status', 'export']) {
      expect(result.stdout).toContain(`autonomy-orchestrator ${command}`);
    }
  });

  it.each(['submit', 'worker', 'status', 'export'])('%s --help describes the command', async (command) => {
    const result = await runCli([command, '--help']);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toContain(`Usage: ${command}`);
    // commander prints the description on the line after the usage, when there is one.
    expect(lines[2]?.trim().length ?? 0).toBeGreaterThan(10);
  });

  it.each(['submit', 'report', 'graph'])('help %s prints that command’s help', async (command) => {
    const result = await runCli(['help', command]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Usage: (autonomy-orchestrator )?${command}`));
  });

  it('help nosuch is a usage error naming the command', async () => {
    const result = await runCli(['help', 'nosuch']);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toContain('unknown command "nosuch"');
  });

  it('help with a name holding a newline still says it in one line', async () => {
    const result = await runCli(['help', 'a\nb']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toContain('unknown command "a\\nb"');
  });

  it('status after a plain run says why its table is empty and where to look', async () => {
    const dir = tempDir();
    expect((await runCli([join(dir, 'out'), ...manager('ok')], { cwd: dir })).exitCode).toBe(0);
    const result = await runCli(['status'], { cwd: dir, env: { ORCHESTRATOR_PG_DSN: '', ORCHESTRATOR_REDIS_URL: '', ORCHESTRATOR_STATE_DIR: '' } });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('no runs in file:./state');
    expect(result.stderr).toContain('autonomy-orchestrator report <output_dir>');
  });
});

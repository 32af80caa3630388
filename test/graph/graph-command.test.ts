import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';

describe('autonomy-orchestrator graph', () => {
  it.each([
    [['graph'], 'machine.mmd'],
    [['graph', '--format', 'mermaid'], 'machine.mmd'],
    [['graph', '--format', 'dot'], 'machine.dot'],
    [['graph', '--format', 'json'], 'machine.graph.json'],
    [['graph', '--machine', 'thermostat'], 'thermostat.mmd'],
  ])('%j prints exactly snapshots/%s', async (args, golden) => {
    const result = await runCli(args);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(readFileSync(join(ROOT, 'snapshots', golden), 'utf8'));
  });

  it('refuses an unknown format with exit 2 and one line naming the flag', async () => {
    const result = await runCli(['graph', '--format', 'svg']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toMatch(/^autonomy-orchestrator: .*--format.*svg/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

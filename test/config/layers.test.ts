import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE, reportOf, runCli, tempDir } from '../support/cli.js';

describe('layered settings', () => {
  it('config shows each value and its source: default < config file < environment < flag', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'autonomy-orchestrator.config.json'), JSON.stringify({ timeoutMs: 5000, concurrency: 3, killGraceMs: 700 }));
    const result = await runCli(['config', '--json', '--kill-grace-ms', '100'], { cwd: dir, env: { ORCHESTRATOR_CONCURRENCY: '2' } });
    expect(result.exitCode).toBe(0);
    const settings = JSON.parse(result.stdout);
    expect(settings.timeoutMs).toEqual({ value: 5000, source: `config file ${join(dir, 'autonomy-orchestrator.config.json')}` });
    expect(settings.concurrency).toEqual({ value: 2, source: 'environment ORCHESTRATOR_CONCURRENCY' });
    expect(settings.killGraceMs).toEqual({ value: 100, source: 'flag --kill-grace-ms' });
    expect(settings.outputDir).toEqual({ value: './out', source: 'default' });
    const table = await runCli(['config'], { cwd: dir });
    expect(table.stdout).toMatch(/^timeoutMs\s+5000\s+config file /m);
  });

  it('a run uses the layered values: the environment sets the timeout a config file would', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ timeoutMs: 60000 }));
    const result = await runCli([join(dir, 'out'), '--config', join(dir, 'settings.json'), '--manager-bin', STAGE, '--manager-arg', 'sleep', '--manager-arg', '5'], {
      env: { ORCHESTRATOR_TIMEOUT_MS: '300', ORCHESTRATOR_KILL_GRACE_MS: '100' },
    });
    expect(result.exitCode).toBe(124);
    expect(reportOf(join(dir, 'out')).stage_executions[0]).toMatchObject({ status: 'timeout', timeout_ms: 300 });
  });

  it.each([
    [{ env: { ORCHESTRATOR_TIMEOUT_MS: 'soon' } }, 'environment ORCHESTRATOR_TIMEOUT_MS: expected a whole number'],
    [{ env: { ORCHESTRATOR_COST_BUDGET: '-1' } }, 'environment ORCHESTRATOR_COST_BUDGET: expected a number, 0 or more'],
    [{ file: { timeoutMs: 0 } }, 'timeoutMs: expected a whole number from 1 to 2147483647'],
    [{ file: { timeout: 5 } }, 'timeout: not a setting'],
    [{ file: 'not json' }, 'not valid JSON'],
  ])('an invalid value names its source and exits 2 (%j)', async (layer, message) => {
    const dir = tempDir();
    const env = 'env' in layer ? layer.env : {};
    if ('file' in layer) {
      writeFileSync(join(dir, 'autonomy-orchestrator.config.json'), typeof layer.file === 'string' ? layer.file : JSON.stringify(layer.file));
    }
    const result = await runCli([join(dir, 'out'), '--manager-bin', STAGE, '--manager-arg', 'ok'], { cwd: dir, env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    if ('file' in layer) expect(result.stderr).toContain(join(dir, 'autonomy-orchestrator.config.json'));
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('a missing --config file is an error naming it', async () => {
    const dir = tempDir();
    const result = await runCli(['config', '--config', join(dir, 'nope.json')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`config file ${join(dir, 'nope.json')}: cannot read it (ENOENT)`);
  });
});
